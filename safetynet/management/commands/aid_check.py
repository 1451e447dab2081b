"""python manage.py aid_check --area 330783118 --out 应助未助.xlsx [--user NAME]: the 应助尽助 check of
an area (its units, and the eligible children without aid this term for a login that may see them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from gridmap import audit, exports
from gridmap.models import AuditAction
from safetynet import aidcheck
from safetynet.management.commands import _scope


class Command(BaseCommand):
    help = "应助尽助核查：资助对象中本学期尚未获得资助的儿童，按学校/乡镇汇总并列出名单，写入 Excel。"

    def add_arguments(self, parser: CommandParser) -> None:
        _scope.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        area, user = _scope.area_and_user(options)
        today = timezone.localdate()
        result = aidcheck.check(user, today, area=area)
        title = f"{area.name} {result.term_label} 应助尽助核查"
        out = Path(options["out"])
        if result.gaps is not None:
            headers, rows = aidcheck.GAP_HEADERS, list(aidcheck.gap_rows(result))
            audit.record(None, AuditAction.EXPORT, area, user=_scope.audit_user(user),
                         summary=f"manage.py aid_check {area.code}：{len(rows)} 名应助未助儿童"[:300])
        else:
            headers, rows = aidcheck.HEADERS, list(aidcheck.table_rows(result))
        note = f"截至 {today:%Y-%m-%d}；资助对象：{'、'.join(result.eligible_groups)}"
        out.write_bytes(exports.workbook_bytes(title, headers, rows, note=note))
        t = result.total
        self.stdout.write(f"{out}：应助 {t.eligible}，已助 {t.aided}，应助未助 {t.gap}"
                          + (f"，覆盖率 {t.coverage}%" if t.coverage is not None else ""))

"""python manage.py risk_list --area 330783118 --out 辍学预警.xlsx [--user NAME]: the early-warning list of
an area in the documented order, each child's factors and points (safetynet.risk)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gridmap import access, audit, exports, transfers
from gridmap.models import AuditAction
from safetynet import risk
from safetynet.management.commands import _scope


class Command(BaseCommand):
    help = "辍学预警名单：按各预警因素的分值排序，写入 Excel（每名儿童的因素和分值都列出）。"

    def add_arguments(self, parser: CommandParser) -> None:
        _scope.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        area, user = _scope.area_and_user(options)
        if not access.scope_of(user).individual_children:
            raise CommandError("该账号不能查看儿童名单")
        today = timezone.localdate()
        started = time.perf_counter()
        transfers.settle()
        self.stdout.write("计算上学路程（首次约需几十秒）……")
        rows = risk.risk_list(user, today, area=area)
        out = Path(options["out"])
        note = f"截至 {today:%Y-%m-%d}；权重：" + "，".join(f"{risk.FACTORS[k]} {v:g}" for k, v in risk.weights().items())
        out.write_bytes(exports.workbook_bytes(f"{area.name} 辍学预警名单", risk.HEADERS, list(risk.table_rows(rows)),
                                               note=note))
        audit.record(None, AuditAction.EXPORT, area, user=_scope.audit_user(user),
                     summary=f"manage.py risk_list {area.code}：{len(rows)} 名儿童"[:300])
        self.stdout.write(f"{out}：{len(rows)} 名儿童（{time.perf_counter() - started:.1f} 秒）")

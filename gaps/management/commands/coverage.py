"""python manage.py coverage --area CODE --out FILE.xlsx|.geojson [--user NAME] [--as-of YYYY-MM-DD]

Exports the coverage gaps of an area as a login sees them (default: the first superuser): a workbook
(the norms, per township, per school, per cell, and — for logins that may see children — every child
beyond the norm with masked ID), or the map layer as GeoJSON. A progress bar on stderr while the
ways are measured.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gaps import compute, export, layer, tables
from gridmap import audit
from gridmap.models import Area, AreaLevel, AuditAction

STAGES = {"children": "读取儿童", "snap": "接入路网", "search": "搜索最近学校", "own school": "就读学校路程",
          "write": "写出儿童明细"}


class Command(BaseCommand):
    help = "Export the coverage gaps (覆盖缺口) of a county, township or village: .xlsx or .geojson."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--area", required=True, help="county, township or village code")
        parser.add_argument("--out", type=Path, required=True, help="FILE.xlsx or FILE.geojson")
        parser.add_argument("--user", help="export as this login (what it may see); default: a superuser")
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="date (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        if out.suffix.lower() not in (".xlsx", ".geojson"):
            raise CommandError("--out must end in .xlsx or .geojson")
        area = Area.objects.filter(code=options["area"]).exclude(level=AreaLevel.GROUP).first()
        if area is None:
            raise CommandError(f"--area {options['area']}: no county, township or village with this code")
        user = self._user(options["user"])
        from gridmap import access

        if not access.visible_areas(user).filter(pk=area.pk).exists():
            raise CommandError(f"--area {area.code}: outside what {user.get_username()} may see")
        started = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            width = 30
            filled = int(width * done / max(total, 1))
            label = STAGES.get(stage, stage)
            self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}"
                              f"  {time.perf_counter() - started:5.1f} s   ", ending="")
            sys.stderr.flush()

        cov = compute.compute(area, options["as_of"], progress=progress)
        self.stderr.write("")
        if out.suffix.lower() == ".geojson":
            data = layer.features(user, area, cov)
            out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            rows = len(data["features"])
        else:
            rows = export.workbook(user, area, cov, out, progress)
            self.stderr.write("")
        audit.record(None, AuditAction.EXPORT, area, user=user,
                     summary=f"导出覆盖缺口 {area.name}（{area.code}）{out.suffix}")
        t = tables.total(user, cov, area.name)
        self.stdout.write(f"{out}: {rows} 行/要素；{area.name} {t.children} 名儿童中 {t.gap} 名最近学校超出规定路程，"
                          f"用时 {time.perf_counter() - started:.1f} s")

    def _user(self, name: str | None) -> Any:
        User = get_user_model()
        if name:
            user = User.objects.filter(username=name, is_active=True).first()
            if user is None:
                raise CommandError(f"--user {name}: no such login")
            return user
        user = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if user is None:
            raise CommandError("no superuser to export as: pass --user")
        return user

"""python manage.py hotspots --area CODE --month YYYY-MM --out FILE.xlsx|.geojson
[--key-group left_behind] [--grade 6|8|9|8-9|key] [--sex M|F] [--user NAME] [--permutations N]"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridmap.models import Area, AreaLevel
from hotspots import data, export, stats


class Command(BaseCommand):
    help = "Write the dropout hotspots (rates, smoothed rates, Gi* clusters after FDR) of an area and month."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--area", required=True, help="county, township or village code")
        parser.add_argument("--month", default=None, help="YYYY-MM (default: this month)")
        parser.add_argument("--out", required=True, type=Path, help="FILE.xlsx or FILE.geojson")
        parser.add_argument("--key-group", choices=sorted(data.KEY_GROUP_CHOICES), help="only this key group")
        parser.add_argument("--grade", choices=list(data.GRADE_CHOICES), help="only children due in these grades")
        parser.add_argument("--sex", choices=["M", "F"])
        parser.add_argument("--user", help="as this login (what it may see); default: a superuser's view")
        parser.add_argument("--permutations", type=int, default=stats.PERMUTATIONS)
        parser.add_argument("--seed", type=int, default=stats.SEED)

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        if out.suffix.lower() not in (".xlsx", ".geojson"):
            raise CommandError(f"--out {out}: the file must end in .xlsx or .geojson")
        try:
            month = data.month_of(options["month"])
        except ValueError as error:
            raise CommandError(f"--month {options['month']!r}: {error}") from None
        if not 99 <= options["permutations"] <= 99_999:
            raise CommandError("--permutations: between 99 and 99999")
        area = Area.objects.filter(code=options["area"]).exclude(level=AreaLevel.GROUP).first()
        if area is None:
            raise CommandError(f"--area {options['area']}: no county, township or village with this code")
        user = self._user(options["user"])
        if not data.cell_queryset(user, area).exists():
            raise CommandError(f"--area {area.code}: no village group of it is in this login's scope")
        filters = data.Filters(key_group=data.KEY_GROUP_CHOICES[options["key_group"]] if options["key_group"] else "",
                               grade=options["grade"] or "", sex=options["sex"] or "")
        started = time.perf_counter()
        analysis = data.analysis_for(user, area, month, filters, options["permutations"], options["seed"])
        seconds = time.perf_counter() - started
        body = export.workbook(analysis) if out.suffix.lower() == ".xlsx" else export.geojson(analysis, user)
        out.write_bytes(body)
        m = analysis.meta
        self.stdout.write(
            f"{out}: {area.name} {month}（{export.describe_filters(filters)}）{m['cells']} 个村民小组，检验 {m['tested']}，"
            f"孤岛 {m['islands']}；FDR 校正后热点 {m['hot']}、冷点 {m['cold']}（95%：校正后 "
            f"{m['significant_after_fdr'].get('95', 0)}，未校正 {m['significant_without_correction'].get('95', 0)}）；"
            f"置换 {m['permutations']} 次，{seconds:.1f} s")

    def _user(self, name: str | None) -> Any:
        User = get_user_model()
        if name:
            user = User.objects.filter(username=name, is_active=True).first()
            if user is None:
                raise CommandError(f"--user {name}: no active login with this name")
            return user
        return User(username="hotspots-command", is_superuser=True, is_active=True)  # never saved

"""python manage.py monthly_report --month 2026-11 [--area 330783118] --out report.xlsx"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridmap import exports, reports
from gridmap.models import Area


class Command(BaseCommand):
    help = "Write the monthly report (月报) of the county or a township to an Excel file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--area", default=settings.GRIDMAP_COUNTY_CODE,
                            help="county or township code (default: the county)")
        parser.add_argument("--out", required=True, type=Path, help="the .xlsx file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            reports.month_bounds(options["month"])
        except ValueError:
            raise CommandError(f"--month {options['month']!r}: expected YYYY-MM, e.g. 2026-11") from None
        area = Area.objects.filter(code=options["area"]).first()
        if area is None or area.level not in ("county", "township"):
            raise CommandError(f"--area {options['area']}: no county or township with this code")
        rows = reports.report_units(area, options["month"])
        title = f"{area.name} {options['month']} 控辍保学月报"
        out: Path = options["out"]
        out.write_bytes(exports.workbook_bytes(title, reports.REPORT_HEADERS, [reports.report_row(r) for r in rows],
                                               reports.REPORT_WIDTHS, note=reports.PROXY_NOTE))
        total = rows[-1]
        self.stdout.write(f"{out}: {len(rows) - 1} 个单位 + 合计；适龄儿童 {total.school_age}，疑似辍学 {total.suspected}，"
                          f"辍学 {total.dropped_out}{'（零报告）' if total.zero_report else ''}")

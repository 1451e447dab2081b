"""python manage.py rebuild_month_ends [--area 330783] [--from 2025-12] [--to 2026-11]"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gridmap import month_ends, reports
from gridmap.models import Area


class Command(BaseCommand):
    help = ("Rebuild the month-end counts per village (the county dashboard and report read them) for a "
            "county and a range of months. They are kept up to date by themselves; this is for repairs.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--area", default=settings.GRIDMAP_COUNTY_CODE, help="county code (default: the county)")
        parser.add_argument("--from", dest="first", help="first month YYYY-MM (default: 11 months before --to)")
        parser.add_argument("--to", dest="last", help="last month YYYY-MM (default: this month)")

    def handle(self, *args: Any, **options: Any) -> None:
        county = Area.objects.filter(code=options["area"], level="county").first()
        if county is None:
            raise CommandError(f"--area {options['area']}: no county with this code")
        try:
            last = reports.month_bounds(options["last"] or f"{timezone.localdate():%Y-%m}")[0]
            first = reports.month_bounds(options["first"])[0] if options["first"] else reports.add_months(last, -11)
        except ValueError:
            raise CommandError("--from/--to: expected YYYY-MM, e.g. 2026-11") from None
        if first > last:
            raise CommandError("--from is after --to")
        months, month = [], first
        while month <= last:
            months.append(month)
            month = reports.add_months(month, 1)
        for i, month in enumerate(months, start=1):
            started = time.perf_counter()
            month_ends.rebuild(county.code, [month])
            bar = "█" * round(20 * i / len(months))
            self.stdout.write(f"\r{county.name} {month:%Y-%m} [{bar:<20}] {i}/{len(months)} "
                              f"{time.perf_counter() - started:.1f} s", ending="")
            self.stdout.flush()
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"{county.name}: month-end counts of {len(months)} months rebuilt."))

"""Build the child-level tables' copy partitioned by county code (importers.partitioned) and show a
township's queries on it: EXPLAIN with the partition key (one partition) and without it (all).

    DATABASE_URL=postgis://…/gridmap_province python manage.py partition_province [--township CODE] [--explain-only]
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from gridmap.models import Area, AreaLevel
from importers import partitioned


class Command(BaseCommand):
    help = "Copy the child-level tables into tables partitioned by county code and EXPLAIN a township's queries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--township", default="", help="9-digit township code (default: the first)")
        parser.add_argument("--explain-only", action="store_true", help="keep the copy, only EXPLAIN")
        parser.add_argument("--on", type=date.fromisoformat, default=None, help="the snapshot's day (default today)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["explain_only"]:
            started = time.perf_counter()
            counts = partitioned.build()
            self.stdout.write(f"partitioned copy: {counts['counties']} partitions, {counts['children']:,} children, "
                              f"{counts['history']:,} status changes in {time.perf_counter() - started:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [partitioned.CHILD])
            if cursor.fetchone()[0] is None:
                raise CommandError("no partitioned copy yet: run without --explain-only")
        township = options["township"] or Area.objects.filter(level=AreaLevel.TOWNSHIP).order_by("code").values_list(
            "code", flat=True).first()
        if not township or not Area.objects.filter(code=township, level=AreaLevel.TOWNSHIP).exists():
            raise CommandError("no such township")
        on = options["on"] or date.today()
        for name in partitioned.TOWNSHIP_QUERIES:
            for label, sql in (("app's tables", partitioned.query(name, False)),
                               ("partitioned, keyed", partitioned.query(name, True)),
                               ("partitioned, no key", partitioned.query(name, True, keyed=False))):
                plan = partitioned.explain(sql, township, on, analyze=True)
                read = partitioned.partitions_read(plan)
                self.stdout.write(f"{name:<16} {label:<20} {plan['Execution Time']:9.1f} ms  planning "
                                  f"{plan['Planning Time']:7.1f} ms  partitions read: {len(read)}"
                                  + (f" ({', '.join(sorted(read))})" if 0 < len(read) <= 2 else ""))

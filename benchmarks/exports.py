"""Export benchmark on the demo county (90,000 children): the ledgers and the grid table as files.

    python -m benchmarks.exports            (or: make bench)

Times, through Django's full stack as the county administrator (the whole body read, as a browser
would), the county's school-age ledger as Excel and CSV, the largest township's ledger as Excel,
and the county's grid responsibility table (cells.xlsx); with the peak memory of the process.
Baseline in the same run: PostgreSQL writing the ledger's own query as CSV (`COPY ... TO STDOUT`,
the floor any export stands on). Runs in a rolled-back transaction; figures printed, never asserted.
Before streaming (issue 12) the county ledger's Excel took 120-204 s, its CSV 53 s.
"""

from __future__ import annotations

import os
import resource
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks.grid_page import Rollback, largest_township  # noqa: E402
from benchmarks.results import record  # noqa: E402
from gridmap import ledgers  # noqa: E402
from gridmap.models import Child  # noqa: E402


def fetch(client: Client, url: str) -> tuple[float, int]:
    start = time.perf_counter()
    response = client.get(url)
    body = response.getvalue() if response.streaming else response.content
    assert response.status_code == 200, (url, response.status_code)
    return time.perf_counter() - start, len(body)


def copy_baseline(code: str) -> tuple[float, int]:
    """The ledger's query, its rows written as CSV by PostgreSQL itself."""
    on = timezone.localdate()
    query = ledgers.ledger_values(ledgers.filtered(Child.objects.filter(group__code__startswith=code),
                                                   ledgers.Ledger.SCHOOL_AGE, on))
    sql, params = query.query.sql_with_params()
    start, size = time.perf_counter(), 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY ({raw.mogrify(sql, params)}) TO STDOUT WITH CSV") as copy:
            for block in copy:
                size += len(block)
    return time.perf_counter() - start, size


def main() -> None:
    town, _groups = largest_township()
    county = town.parent
    children = Child.objects.filter(group__code__startswith=county.code).count()
    print(f"exports: {county.name} ({children:,} children), largest township {town.name}")
    try:
        with transaction.atomic():
            chief = get_user_model().objects.create_superuser("bench-export-chief", "", "x-bench-password-1")
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(chief)
            fetch(client, f"/ledgers/{town.code}/school_age/?format=csv")  # warm: imports, first query plans
            floor, floor_size = copy_baseline(county.code)
            print(f"  baseline: COPY of the county ledger's query to CSV {floor:6.2f} s  {floor_size / 2**20:5.1f} MB")
            for label, url, target in [
                ("county ledger, Excel", f"/ledgers/{county.code}/school_age/?format=xlsx", "< 15 s"),
                ("county ledger, CSV", f"/ledgers/{county.code}/school_age/?format=csv", ""),
                (f"township ledger {town.name}, Excel", f"/ledgers/{town.code}/school_age/?format=xlsx", ""),
                ("county grid table cells.xlsx", f"/grid/{county.code}/cells.xlsx", ""),
            ]:
                seconds, size = fetch(client, url)
                record("exports", f"{label} ({size / 2**20:.1f} MB)", seconds, "s", baseline=floor,
                       baseline_label="COPY of the county ledger's query", target=target)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            record("exports", "peak memory of the exporting process", peak, "MB")
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()

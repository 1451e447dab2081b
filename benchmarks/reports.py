"""Monthly report and county dashboard benchmark on the demo county (90,000 children).

    python -m benchmarks.reports            (or: make bench)

Times, on the app's database (demo loaded first if missing), the figures behind the pages: the
county report (18 townships + total), the largest township's report (its schools + total), the
12-month trend and the dashboard page through Django's full stack as the county administrator; and
the largest township's case list and a child's record as its official. The county figures and the
trend read the month-end counts per village (gridmap.month_ends); the baseline in the same run is
the same month's counts walked from every child's status history (one snapshot of the county: what
every dashboard request did before issue 12, when it took 3-5 s), and the cost of building twelve
months of counts from scratch (once; afterwards kept up to date by village and month). Runs in a
rolled-back transaction. Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks.grid_page import Rollback, largest_township, timed  # noqa: E402
from benchmarks.results import record  # noqa: E402
from gridmap import month_ends, reports  # noqa: E402
from gridmap.models import Area, Child, Profile, UserRole  # noqa: E402


def main() -> None:
    town, _groups = largest_township()
    county = town.parent
    month = f"{timezone.localdate():%Y-%m}"
    print(f"monthly report and dashboard, {month}: {county.name} ({Child.objects.count():,} children), "
          f"largest township {town.name}")
    on = reports.as_of(month)
    walk, _best, _r = timed(lambda: reports.ledger_counts(reports.snapshot(reports.children_of_area(county), on), on),
                            runs=3)
    print(f"  baseline: the month's counts walked from every child's history   median {walk:6.2f} s")
    try:
        with transaction.atomic():
            last = reports.month_bounds(month)[0]
            start = time.perf_counter()
            month_ends.rebuild(county.code, [reports.add_months(last, -i) for i in range(12)])
            print(f"  month-end counts of 12 months built from scratch (once)          {time.perf_counter() - start:6.2f} s")
            raise Rollback
    except Rollback:
        pass
    for label, fn in [
        (f"county report ({Area.objects.filter(parent=county).count()} townships + total)",
         lambda: reports.report_units(county, month)),
        (f"township report {town.name} (schools + total)", lambda: reports.report_units(town, month)),
        ("12-month trend, county (month-end counts)", lambda: reports.trend(county, month, 12)),
    ]:
        median, best, _ = timed(fn, runs=3)
        print(f"  {label:<48} median {median:6.2f} s  best {best:6.2f} s")
    try:
        with transaction.atomic():
            User = get_user_model()
            chief = User.objects.create_superuser("bench-chief", "", "x-bench-password-1")
            official = User.objects.create_user("bench-official", password="x-bench-password-1")
            Profile.objects.create(user=official, role=UserRole.TOWNSHIP_OFFICIAL).areas.set([town])
            as_chief, as_official = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
            as_chief.force_login(chief)
            as_official.force_login(official)
            child = Child.objects.filter(group__code__startswith=town.code, status="suspected").first()
            pages = [(as_chief, "/dashboard/"), (as_chief, f"/reports/{county.code}/"),
                     (as_official, f"/reports/{town.code}/"), (as_official, f"/cases/{town.code}/"),
                     (as_official, f"/children/{child.pk}/" if child else f"/cases/{town.code}/")]
            for client, url in pages:
                median, best, response = timed(lambda c=client, u=url: c.get(u), runs=3)
                if url == "/dashboard/":
                    record("reports", "county dashboard page", median, "s", baseline=walk,
                           baseline_label="the month's counts walked from every child's history", target="< 0.5 s")
                print(f"  page {url:<43} median {median:6.2f} s  best {best:6.2f} s  "
                      f"{len(response.content) / 1024:6.0f} KB  (HTTP {response.status_code})")
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()

"""The safety-net pages on the demo county (90,000 children), issue 18.

    python -m benchmarks.safetynet            (or: make bench, BENCH=safetynet)

Times, on the app's database (demo loaded first if missing), in a rolled-back transaction:
- the early-warning list of the county (every school-age child's factors: absences, history, aid,
  transfers, key grade and groups, and the way to school from the coverage computation) and of the
  largest township, cold (the coverage computation of the area's children over the roads, which the
  list takes from gaps.compute and never redoes) and warm (that computation cached per process, as the
  coverage page leaves it); the baseline in the same run is that coverage computation alone — the
  travel-time engine's share;
- the 应助尽助 check of the county and of the largest township, against a plain count of the same
  eligible children (one SQL COUNT) as the baseline;
- the pages through Django's full stack: the county's aid check and early-warning list as the county
  administrator, the township's as its official, and the dashboard with its new figures.
Figures are printed and recorded for the bench table, never asserted.
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
from gaps import compute as coverage  # noqa: E402
from gridmap import aid  # noqa: E402
from gridmap.models import Child, Profile, UserRole  # noqa: E402
from safetynet import aidcheck, risk  # noqa: E402

BENCH = "safetynet"


def main() -> None:
    town, _groups = largest_township()
    county = town.parent
    today = timezone.localdate()
    print(f"safety net on {county.name} ({Child.objects.count():,} children), largest township {town.name}")
    try:
        with transaction.atomic():
            User = get_user_model()
            chief = User.objects.create_superuser("bench-net-chief", "", "x-bench-password-1")
            official = User.objects.create_user("bench-net-official", password="x-bench-password-1")
            Profile.objects.create(user=official, role=UserRole.TOWNSHIP_OFFICIAL).areas.set([town])
            for area, who in ((county, "county"), (town, "township")):
                coverage._cache.clear()
                start = time.perf_counter()
                coverage.compute(area, today)
                engine = time.perf_counter() - start
                coverage._cache.clear()
                start = time.perf_counter()
                rows = risk.risk_list(chief, today, area=area)
                cold = time.perf_counter() - start
                warm, _best, _r = timed(lambda a=area: risk.risk_list(chief, today, area=a), runs=3)
                print(f"  early warning, {who}: {len(rows):,} listed; cold {cold:.2f} s, warm {warm:.2f} s; "
                      f"the coverage computation alone {engine:.2f} s")
                record(BENCH, f"early-warning list, {who}, cold", cold, "s", baseline=engine,
                       baseline_label="coverage computation of the same children (gaps.compute)",
                       target="< 10 s" if who == "county" else "< 3 s")
                record(BENCH, f"early-warning list, {who}, warm", warm, "s", baseline=engine,
                       baseline_label="coverage computation of the same children (gaps.compute)")
                count, _b, _n = timed(lambda a=area: Child.objects.filter(group__code__startswith=a.code)
                                      .filter(aid.eligible_q()).count(), runs=3)
                check, _b, _r = timed(lambda a=area: aidcheck.check(chief, today, area=a), runs=3)
                record(BENCH, f"aid check, {who}", check, "s", baseline=count,
                       baseline_label="SQL count of the eligible children", target="< 1 s")
            pages = [(chief, f"/safetynet/aid/{county.code}/"), (chief, f"/safetynet/risk/{county.code}/"),
                     (official, f"/safetynet/aid/{town.code}/"), (official, f"/safetynet/risk/{town.code}/"),
                     (official, f"/safetynet/transfers/{town.code}/"), (official, f"/safetynet/termcheck/{town.code}/"),
                     (chief, "/dashboard/")]
            for user, url in pages:
                client = Client(HTTP_HOST="127.0.0.1")
                client.force_login(user)
                median, best, response = timed(lambda c=client, u=url: c.get(u), runs=3)
                print(f"  page {url:<40} median {median:6.2f} s  best {best:6.2f} s  "
                      f"{len(response.content) / 1024:6.0f} KB  (HTTP {response.status_code})")
                record(BENCH, f"page {url}", median, "s", target="< 2 s" if "risk" not in url else "")
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()

"""The hot queries of one database, timed and explained: what benchmarks.province runs on the
1-county, 10-county and province data sets (each in its own process, DATABASE_URL set).

    DATABASE_URL=postgis://…/gridmap_province python -m benchmarks.hot_queries [--explain 3] [--json F]

On the first county's largest township (or GRIDMAP_BENCH_TOWNSHIP): the pages as its township official
gets them through Django's full stack — the grid page (cells and counts), a cell card, a ledger page,
the township's monthly report and hotspot layer — and the county's report, dashboard (trend) and
hotspot layer as the county administrator; plus the coverage computation's children query and the
hotspot counts alone. Each path: warmed once (month-end counts built, templates compiled), then the
median of RUNS requests, with its SQL captured: how many statements and the slowest ones.
`--explain N` prints EXPLAIN (ANALYZE, BUFFERS) of the N slowest SELECTs over all paths. Bench users are
kept in the scratch database (get_or_create), so month-end counts built by a run stay for the next.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from gridmap import reports  # noqa: E402
from gridmap.models import KEY_GROUPS, Area, AreaLevel, Profile, UserRole  # noqa: E402

RUNS = int(os.environ.get("GRIDMAP_BENCH_RUNS", "3"))


def township() -> Area:
    code = os.environ.get("GRIDMAP_BENCH_TOWNSHIP")
    if code:
        return Area.objects.get(code=code, level=AreaLevel.TOWNSHIP)
    county = Area.objects.filter(level=AreaLevel.COUNTY).order_by("code").first()
    if county is None:
        raise SystemExit("no county in this database")
    largest = (Area.objects.filter(level=AreaLevel.GROUP, code__startswith=county.code)
               .values("parent__parent_id").annotate(n=Count("pk")).order_by("-n", "parent__parent_id").first())
    return Area.objects.get(pk=largest["parent__parent_id"])


def users(town: Area) -> tuple[Any, Any]:
    User = get_user_model()
    official, _ = User.objects.get_or_create(username=f"bench-official-{town.code}")
    profile, _ = Profile.objects.get_or_create(user=official, defaults={"role": UserRole.TOWNSHIP_OFFICIAL})
    profile.areas.set([town])
    admin, created = User.objects.get_or_create(username="bench-county-admin", defaults={"is_superuser": True,
                                                                                          "is_staff": True})
    return official, admin


Path = tuple[str, Callable[[], Any]]


def paths(town: Area) -> list[Path]:
    from gaps import compute
    from gaps.compute import X, Y
    from hotspots import data, views

    county = town.parent
    assert county is not None
    official, admin = users(town)
    as_official, as_admin = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
    as_official.force_login(official)
    as_admin.force_login(admin)
    cell = (Area.objects.filter(code__startswith=town.code, level=AreaLevel.GROUP)
            .annotate(n=Count("children_registered")).order_by("-n", "code").first())
    assert cell is not None
    last_month = reports.previous_months(f"{timezone.localdate():%Y-%m}", 2)[1]
    today = timezone.localdate()
    from gridmap.models import ChildStatusChange

    began = ChildStatusChange.objects.filter(child__group__code__startswith=town.code).order_by("date").first()
    first_month = f"{began.date:%Y-%m}" if began else last_month  # the month the ledgers began: every child entered

    def get(client: Client, url: str, **headers: str) -> Callable[[], Any]:
        def fetch() -> Any:
            response = client.get(url, **headers)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
            return response
        return fetch

    def hotspot_layer(client: Client, area: Area) -> Callable[[], Any]:
        url = f"/hotspots/{area.code}/layer.geojson?month={last_month}"

        def fetch() -> Any:  # the statistics, not the caches: every request computes them
            for cache in (data.CLUSTERS, views.BODIES):
                cache._items.clear()
            return get(client, url)()
        return fetch

    def coverage_children() -> Any:
        return list(compute.children_of(town.code, today).annotate(x=X("home"), y=Y("home")).order_by("pk")
                    .values_list("pk", "group_id", "birth_date", "school_class__grade", "school_class__school_id",
                                 "status", "x", "y", *KEY_GROUPS))

    def hotspot_counts(user: Any, area: Area) -> Callable[[], Any]:
        return lambda: data.prepare(user, area, last_month, data.Filters())

    return [
        ("township grid page (cells and counts)", get(as_official, f"/grid/{town.code}/")),
        ("cell card", get(as_official, f"/grid/cell/{cell.code}/", HTTP_X_REQUESTED_WITH="fetch")),
        ("ledger page (school-age, page 1)", get(as_official, f"/ledgers/{town.code}/school_age/")),
        ("township monthly report", get(as_official, f"/reports/{town.code}/")),
        ("township monthly report, the month the ledgers began", get(as_official, f"/reports/{town.code}/?month={first_month}")),
        ("county monthly report", get(as_admin, f"/reports/{county.code}/")),
        ("county dashboard (12-month trend)", get(as_admin, "/dashboard/")),
        ("hotspot counts, township (last month)", hotspot_counts(official, town)),
        ("hotspot counts, county (last month)", hotspot_counts(admin, county)),
        ("hotspot layer, township (Gi* computed)", hotspot_layer(as_official, town)),
        ("coverage: the township's children query", coverage_children),
    ]


def measure(name: str, fn: Callable[[], Any]) -> dict[str, Any]:
    first = time.perf_counter()
    fn()  # warm: month-end counts built, templates compiled, weights cached
    first = time.perf_counter() - first
    times = []
    for i in range(RUNS):
        if i == RUNS - 1:
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
        else:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    queries = [(float(q["time"]), q["sql"]) for q in captured.captured_queries]
    queries.sort(key=lambda q: -q[0])
    sql_s = sum(t for t, _ in queries)
    print(f"  {name:<44} median {statistics.median(times) * 1000:8.0f} ms   first {first * 1000:8.0f} ms   "
          f"{len(queries):3d} queries, {sql_s * 1000:6.0f} ms in SQL; slowest {queries[0][0] * 1000 if queries else 0:.0f} ms",
          flush=True)
    return {"name": name, "median_s": statistics.median(times), "first_s": first, "queries": len(queries),
            "sql_s": sql_s, "slowest": [{"s": t, "sql": sql} for t, sql in queries[:3]]}


def month_end_costs(town: Area) -> dict[str, float]:
    """The month-end counts at this scale: 12 months of the county built from scratch (kept); a status
    change written with its trigger and without it, and the first read after it (one village
    rebuilt) — rolled back."""
    from django.db import transaction

    from gridmap import ledgers, month_ends
    from gridmap.models import Child

    county = town.parent
    assert county is not None
    first = reports.month_bounds(timezone.localdate())[0]
    months = [reports.add_months(first, -i) for i in range(12)]
    start = time.perf_counter()
    month_ends.rebuild(county.code, months)
    build = time.perf_counter() - start
    kids = list(Child.objects.filter(group__code__startswith=town.code, status="enrolled").order_by("pk")[:10])
    today = timezone.localdate()
    timings: dict[str, list[float]] = {"with": [], "without": [], "read": []}
    for i, child in enumerate(kids):
        trigger = i % 2 == 0
        with transaction.atomic():
            if not trigger:
                with connection.cursor() as cursor:
                    cursor.execute("ALTER TABLE gridmap_childstatuschange DISABLE TRIGGER gridmap_history_ins")
            start = time.perf_counter()
            ledgers.change_status(child, "suspected", today, None, "benchmark (rolled back)")
            timings["with" if trigger else "without"].append(time.perf_counter() - start)
            if trigger:
                start = time.perf_counter()
                month_ends.ensure(county.code, months)
                timings["read"].append(time.perf_counter() - start)
            transaction.set_rollback(True)
    # A status change on a connection that has just written in bulk (an import, a county's COPY):
    # the triggers' plans must not be the bulk write's (gridmap 0018, layers 0003).
    after_bulk = []
    for child in kids[:3]:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("""INSERT INTO gridmap_childstatuschange (child_id, date, from_status, to_status, reason,
                                                                         destination, recorded_at)
                                  SELECT id, %s, status, status, 'benchmark bulk (rolled back)', '', now()
                                  FROM gridmap_child WHERE group_id IN (SELECT id FROM gridmap_area WHERE code LIKE %s)""",
                               [today, f"{town.code}%"])
            start = time.perf_counter()
            ledgers.change_status(child, "suspected", today, None, "benchmark (rolled back)")
            after_bulk.append(time.perf_counter() - start)
            transaction.set_rollback(True)
    out = {"build_12_months_s": build, "status_change_s": statistics.median(timings["with"]),
           "status_change_after_bulk_s": statistics.median(after_bulk),
           "status_change_without_trigger_s": statistics.median(timings["without"]),
           "first_read_after_change_s": statistics.median(timings["read"])}
    print(f"  month-end counts: 12 months of the county built in {build:.1f} s; a status change "
          f"{out['status_change_s'] * 1000:.0f} ms with its trigger, {out['status_change_without_trigger_s'] * 1000:.0f} ms "
          f"without, {out['status_change_after_bulk_s'] * 1000:.0f} ms right after a bulk write on the same connection; "
          f"the first read after it (one village, the months since) {out['first_read_after_change_s'] * 1000:.0f} ms")
    return out


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--explain", type=int, default=0)
    parser.add_argument("--json", default="")
    parser.add_argument("--only", default="", help="comma-separated substrings of path names")
    parser.add_argument("--month-ends", action="store_true", help="also time the month-end counts' upkeep")
    args = parser.parse_args()
    town = township()
    county = town.parent
    assert county is not None
    settings.GRIDMAP_COUNTY_CODE = county.code  # the county administrator's dashboard is this county's
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database()), (SELECT count(*) FROM gridmap_child)")
        size, children = cursor.fetchone()
    print(f"{connection.settings_dict['NAME']}: {children:,} children, {size / 2**30:.1f} GiB; "
          f"township {town.name} {town.code} of county {county.code}")
    results = []
    for name, fn in paths(town):
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        results.append(measure(name, fn))
    costs = month_end_costs(town) if args.month_ends else {}
    if args.explain:
        slowest = sorted(((q["s"], q["sql"], r["name"]) for r in results for q in r["slowest"]
                          if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))), key=lambda x: -x[0])
        for seconds, sql, name in slowest[:args.explain]:
            print(f"\n--- {name}: {seconds * 1000:.0f} ms\n{sql[:3000]}\n{explain(sql)}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"database": connection.settings_dict["NAME"], "children": children, "bytes": size,
                       "township": town.code, "county": county.code, "when": date.today().isoformat(),
                       "paths": results, "month_ends": costs}, out, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()

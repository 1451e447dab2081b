"""Send-teaching-home routes benchmark: a county week — 60 children taught at home across 20 schools —
planned end to end, with the travel-time matrices and the solver timed apart; and the solver on the
published Solomon C101.25 instance against its best-known value.

    python -m benchmarks.home_routes            (or: make bench)

On the demo county in the app's database (loaded first if missing): 20 open schools (the first by
code on the car network with at least three children of their roll living at a known home) get three plans each, run by
a male and a female teacher, one visit of two class hours a week. They are written inside a
transaction that is rolled back at the end, so nothing stays. The road network is loaded first (timed
on its own: a cold process pays it once), then each school's week is planned by
hometeaching.routes.plan_week: matrix = routing.engine snap + od_matrix; solver = routing.vrp.solve_vrptw
calls. The baseline, measured in the same run, is a nearest-neighbour tour of every trip's stops:
the ratio of total travel time says what the solver saves. Then the cache (hometeaching.cache, as
configured: files shared by the workers): each school's route layer requested twice through Django's
test client as a county administrator — the first request plans the week, draws its legs and stores
it; the second finds it under the same fingerprint — and once more with its ETag (304). The first
request is the baseline of the other two. Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")

SCHOOLS, PER_SCHOOL, WEEK = 20, 3, (2026, 47)


class _Rollback(Exception):
    pass


def _nearest_neighbour(d: np.ndarray, idx: list[int]) -> float:
    left, at, cost = set(idx), 0, 0.0
    while left:
        nxt = min(left, key=lambda j: (d[at, j], j))
        cost += d[at, nxt]
        at = nxt
        left.remove(nxt)
    return cost + d[at, 0]


def county_week() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.db.models import Count

    from gridmap.models import Child, HomeTeachingPlan, Person, School
    from hometeaching import routes
    from routing import engine, network

    if not Child.objects.exists():
        call_command("load_demo", verbosity=0)
    try:
        with transaction.atomic():
            t0 = time.perf_counter()
            network.graph("bus")
            load_s = time.perf_counter() - t0
            candidates = list(School.objects.filter(status="open", classes__children__home__isnull=False)
                              .annotate(n=Count("classes__children")).filter(n__gte=PER_SCHOOL)
                              .order_by("code"))
            # schools the car network reaches (the demo's roads are OSM's main roads: some schools lie
            # farther than the access cap from any of them, and their visits could not be routed)
            on = engine.snap(np.array([[s.location.x, s.location.y] for s in candidates]), "bus").on
            schools = [s for s, ok in zip(candidates, on, strict=True) if ok][:SCHOOLS]
            plans = 0
            for school in schools:
                pair = [Person.objects.create(name=f"bench-{school.code}-{s}", sex=s, school=school) for s in "MF"]
                for child in Child.objects.filter(school_class__school=school, home__isnull=False).order_by("pk")[:PER_SCHOOL]:
                    p = HomeTeachingPlan.objects.create(child=child, school=school, start_date=date(2026, 9, 1))
                    p.teachers.set(pair)
                    plans += 1
            matrix_s = solver_s = ours = nn = 0.0
            calls = trips = 0
            unfit: Counter[str] = Counter()
            t0 = time.perf_counter()
            for school in schools:
                plan = routes.plan_week(school, WEEK)
                matrix_s += plan.matrix_s
                solver_s += plan.solver_s
                calls += plan.solver_calls
                trips += len(plan.trips)
                unfit.update(r for _s, r in plan.unfit)
                for t in plan.trips:
                    ours += t.travel_s
                    nn += _nearest_neighbour(plan.matrix, [s.index for s in t.stops])
            total_s = time.perf_counter() - t0
            from benchmarks.results import record

            record("home_routes", "county week (60 children, 20 schools): planned end to end", total_s, "s", target="< 5 s")
            record("home_routes", "county week: travel-time matrices", matrix_s, "s")
            record("home_routes", "county week: solver", solver_s, "s")
            record("home_routes", "county week: total travel time", ours / 60, "min", baseline=nn / 60,
                   baseline_label="nearest-neighbour tours")
            print(f"county week: {plans} children at home across {len(schools)} schools, week {WEEK[0]}-W{WEEK[1]}")
            print(f"  network load (once per process) {load_s:6.2f} s")
            print(f"  planning end to end             {total_s:6.2f} s   (target < 5 s)")
            print(f"    travel-time matrices          {matrix_s:6.2f} s   ({len(schools)} matrices)")
            print(f"    solver (PyVRP)                {solver_s:6.2f} s   ({calls} calls)")
            print(f"    other (queries, assignment)   {total_s - matrix_s - solver_s:6.2f} s")
            print(f"  {trips} trips, {sum(unfit.values())} visits not fitted {dict(unfit)};"
                  f" total travel {ours / 60:.1f} min vs nearest-neighbour"
                  f" {nn / 60:.1f} min: ratio {ours / nn if nn else float('nan'):.3f}")
            _cache_effect(schools)
            raise _Rollback
    except _Rollback:
        pass


def _cache_effect(schools: list) -> None:  # type: ignore[type-arg]
    from django.contrib.auth import get_user_model
    from django.test import Client

    from benchmarks.results import record

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.create_superuser("bench-home-routes", "", "bench-password-1"))
    week = f"{WEEK[0]}-W{WEEK[1]:02d}"
    first = second = not_modified = 0.0
    for school in schools:
        url = f"/hometeaching/school/{school.code}/routes/layer.json"
        t0 = time.perf_counter()
        a = client.get(url, {"week": week})
        t1 = time.perf_counter()
        b = client.get(url, {"week": week})
        t2 = time.perf_counter()
        c = client.get(url, {"week": week}, HTTP_IF_NONE_MATCH=a["ETag"])
        t3 = time.perf_counter()
        assert (a.status_code, b.status_code, c.status_code) == (200, 200, 304), (a.status_code, b.status_code, c.status_code)
        first, second, not_modified = first + t1 - t0, second + t2 - t1, not_modified + t3 - t2
    n = len(schools)
    record("home_routes", "route layer, first request of a week (plans it)", first / n, "s")
    record("home_routes", "route layer, second request (cached plan)", second / n, "s", baseline=first / n,
           baseline_label="first request")
    record("home_routes", "route layer, revalidated (ETag → 304)", not_modified / n, "s", baseline=first / n,
           baseline_label="first request")
    print(f"cache: route layer per school, mean of {n}: first {1000 * first / n:.0f} ms (plans), "
          f"second {1000 * second / n:.0f} ms (cached, {second / first:.3f}×), "
          f"304 {1000 * not_modified / n:.0f} ms ({not_modified / first:.3f}×)")


def solomon() -> None:
    from routing.vrp import solve_vrptw

    a = np.loadtxt(Path(__file__).resolve().parents[1] / "tests/data/solomon/C101_25.txt", comments="#")
    xy = a[:, 1:3]
    d = np.floor(10 * np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))) / 10
    t0 = time.perf_counter()
    sol = solve_vrptw(d, a[:, 6], a[:, 4:6], a[:, 3].astype(int), 200, 25, time_limit_s=10, seed=0)
    spent = time.perf_counter() - t0
    from benchmarks.results import record

    record("home_routes", "Solomon C101.25 cost", sol.cost, "", baseline=191.3, baseline_label="best known (Kohl et al. 1999)")
    print(f"Solomon C101.25: cost {sol.cost:.1f} with {len(sol.routes)} vehicles in {spent:.2f} s;"
          f" best known 191.3 (3 vehicles): gap {100 * (sol.cost - 191.3) / 191.3:.2f} %")


if __name__ == "__main__":
    solomon()
    county_week()

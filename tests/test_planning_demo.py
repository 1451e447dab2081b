"""Closing the demo county's three smallest primary schools: the report's numbers against an
independent recomputation with networkx on the same edges (the edges query pgRouting reads), with
the seats handed out by a different algorithm (pair by pair in order of travel time) than the
evaluation's deferred acceptance. Only the snapping of homes and schools is taken from the engine
(as tests/test_routing_demo.py does; PostGIS checks it there)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from gaps.norms import within
from gridmap.models import Area, Child, School, SchoolStatus
from planning import baseline, evaluate, report
from planning.evaluate import Change
from routing import engine
from tests.conftest import DEMO_AS_OF
from tests.test_routing_demo import _nx_nearest

pytestmark = pytest.mark.django_db
COUNTY = "330783"


def smallest_primaries(on: date, k: int = 3, least: int = 1) -> list[School]:
    """The open primary schools (grade 1 up to at most 6) with the fewest pupils this school year —
    counted here by the ORM, apart from the planning code — among those that have at least `least`."""
    from gridmap import schooling

    year = schooling.school_year(on)
    rows = []
    for s in School.objects.filter(township__code__startswith=COUNTY, status=SchoolStatus.OPEN, first_grade=1,
                                   last_grade__lte=6).order_by("code"):
        n = Child.objects.filter(school_class__school=s, school_class__school_year=year).exclude(
            status__in=["transferred_out", "graduated"]).count()
        if n >= least:
            rows.append((n, s.code, s))
    return [s for _n, _c, s in sorted(rows)[:k]]


def nx_times(mode, lonlat, school):
    """Seconds from each home to one school, by networkx (reversed graph from the school)."""
    homes = engine.snap(lonlat, mode)
    place = engine.snap(np.array([[school.location.x, school.location.y]]), mode)
    return _nx_nearest(mode, homes, place)


@pytest.mark.parametrize("least", [1, 20])
def test_three_smallest_primaries_equal_networkx(least):
    """least=1: the three smallest; least=20: the three smallest of 20 pupils or more (the small test
    county's smallest schools have a pupil or two; this moves more children through the same check)."""
    county = Area.objects.get(code=COUNTY)
    closed = smallest_primaries(DEMO_AS_OF, least=least)
    assert len(closed) == 3
    base = baseline.baseline(county, DEMO_AS_OF)
    changes = [Change("close", s.code) for s in closed]
    out = evaluate.evaluate(base, changes, evaluate.NEXT)
    rep = report.build(base, out, changes)
    cov = base.cov
    closed_pk = {s.pk for s in closed}
    # who moves: the pupils of the three schools among the children the coverage counts
    movers = np.flatnonzero(np.isin(cov.roll_school, list(closed_pk)))
    assert len(movers) > 0 and rep.totals["moved"] == len(movers)
    norms = cov.norms
    mode_of = {g: nm.mode for nm in norms for g in nm.grades}
    limit_of = {g: nm.minutes for nm in norms for g in nm.grades}
    schools = list(School.objects.filter(township__code__startswith=COUNTY).order_by("pk"))
    open_after = [s for s in schools if s.status == SchoolStatus.OPEN and s.pk not in closed_pk]
    # every mover's time to every school that could take them, and to their own
    times: dict[tuple[int, int], float] = {}
    before = np.full(len(movers), np.inf)
    for s in {*open_after, *closed}:
        for mode in {mode_of[int(cov.grade[i])] for i in movers}:
            rows = [k for k, i in enumerate(movers) if mode_of[int(cov.grade[i])] == mode]
            t = nx_times(mode, cov.lonlat[movers[rows]], s)
            for k, v in zip(rows, t, strict=True):
                if s.pk in closed_pk:
                    if cov.roll_school[movers[k]] == s.pk:
                        before[k] = v
                elif s.first_grade <= cov.grade[movers[k]] <= s.last_grade:
                    times[(k, s.pk)] = v
    # seats: capacity less the pupils who stay (all of a school's pupils on this year's roll)
    free = {s.pk: (np.inf if s.capacity is None else max(s.capacity - base.schools.enrolment[
        list(base.schools.pk).index(s.pk)], 0)) for s in open_after}
    # pair by pair, in order of travel time (then ledger order): a different algorithm from the evaluation's
    after = np.full(len(movers), np.inf)
    dest = np.full(len(movers), -1)
    for (k, pk), t in sorted(((kp, t) for kp, t in times.items() if np.isfinite(t)), key=lambda x: (x[1], x[0][0])):
        if dest[k] < 0 and free[pk] > 0:
            dest[k], after[k] = pk, t
            free[pk] -= 1
    reachable = np.array([any(np.isfinite(times.get((k, s.pk), np.inf)) for s in open_after) for k in range(len(movers))])
    # the evaluation's own numbers
    got = out.school_after[movers]
    assert [int(base.schools.pk[j]) if j >= 0 else -1 for j in got] == dest.tolist()
    assert rep.totals["unreachable"] == int((~reachable).sum())
    assert rep.totals["no_place"] == int((reachable & (dest < 0)).sum())
    both = np.isfinite(before) & np.isfinite(after)
    assert np.allclose(out.time_after[movers][np.isfinite(after)], after[np.isfinite(after)], atol=1e-3)
    if both.sum():
        for stat, ref in ((rep.time_before, before[both] / 60), (rep.time_after, after[both] / 60)):
            assert stat.n == int(both.sum())
            assert stat.mean == round(float(ref.mean()), 1)
            assert stat.median == round(float(np.median(ref)), 1)
            assert stat.p90 == round(float(np.percentile(ref, 90)), 1)
            assert stat.max == round(float(ref.max()), 1)
    limits = np.array([limit_of[int(cov.grade[i])] for i in movers])
    # beyond = measured and longer than the norm; a way that cannot be measured is counted apart
    beyond_before = np.isfinite(before) & (np.round(before) > limits * 60)
    beyond_after = (dest >= 0) & np.isfinite(after) & (np.round(after) > limits * 60)
    assert rep.totals["beyond_before"] == int(beyond_before.sum())
    assert rep.totals["unmeasured_before"] == int((~np.isfinite(before)).sum())
    assert rep.totals["beyond_after"] == int(beyond_after.sum())
    for row in rep.grades:
        at = cov.grade[movers] == row["grade"]
        assert row["moved"] == int(at.sum()) and row["beyond_after"] == int((beyond_after & at).sum())
    demand = np.isfinite(before) & (np.round(before) <= limits * 60) & beyond_after
    assert rep.totals["boarding_demand"] == int(demand.sum())
    arrivals = {pk: int((dest == pk).sum()) for pk in set(dest.tolist()) if pk >= 0}
    assert {r["code"]: r["arrivals"] for r in rep.receiving} == {School.objects.get(pk=pk).code: n
                                                                 for pk, n in arrivals.items()}
    # new coverage gaps: only children of grades a closed school taught can lose their nearest school;
    # for them, the nearest open school teaching the grade (or boarding one) again by networkx
    grades = sorted({g for s in closed for g in range(s.first_grade, s.last_grade + 1)})
    new_gaps = 0
    for g in grades:
        kids = np.flatnonzero(cov.grade == g)
        nm = next(n for n in norms if g in n.grades)
        serving = [s for s in open_after if s.first_grade <= g <= s.last_grade]
        places = engine.snap(np.array([(s.location.x, s.location.y) for s in serving]), nm.mode)
        ok = within(_nx_nearest(nm.mode, engine.snap(cov.lonlat[kids], nm.mode), places), nm.minutes)
        if nm.boarding:
            boarding = [s for s in serving if s.boarding]
            if boarding:
                bp = engine.snap(np.array([(s.location.x, s.location.y) for s in boarding]), nm.boarding_mode)
                ok |= within(_nx_nearest(nm.boarding_mode, engine.snap(cov.lonlat[kids], nm.boarding_mode), bp),
                             nm.boarding_minutes)
        new_gaps += int((cov.meets[kids] & ~ok).sum())
    assert rep.totals["new_gaps"] == new_gaps
    print(f"moved {len(movers)}, unreachable {int((~reachable).sum())}, beyond after {int(beyond_after.sum())}, "
          f"new gaps {new_gaps}; {rep.summary}")

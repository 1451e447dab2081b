"""A suggested plan: which schools to close so that the children's total travel time (or the number
beyond the norm) is smallest — a p-median problem over the county's real travel times, solved
exactly by planning.closures.solve_p_median.

The instance, from the baseline (planning.baseline):
- sites: the county's open schools;
- demand points: the pupils on the roll of those schools, aggregated by village group and grade
  class — grades that exactly the same schools teach (e.g. 1-2, 3-4, 5-6, 7-9 when teaching points
  stop at grade 2 and village schools at 4). Aggregation loses nothing: the cost of sending a
  point to a school is the mean over its children of their own trips (each by the day mode of their
  grade), so demand × cost is exactly their total travel time; a school that does not teach the
  class costs inf. Children whose home is off the road network reach no school and are left out
  (reported);
- objective "time": minutes; "beyond": the share of the point's children whose trip would be beyond
  their grade's day limit (demand × cost = children beyond the norm);
- capacity (optional): each school's approved places, or its present pupils where there are more
  (a plan does not have to undo today's overcrowding), less its pupils the instance does not hold
  (no home on the ledger); unrecorded: unlimited.

Targets: close N schools; or, with "fewer than K pupils", only schools that small may close — N of
them, or as many as possible without more children beyond the norm than all open schools leave
(binary search on N over the "beyond" objective, which can only grow as schools close). Schools
named as fixed stay open. The solver re-assigns every village group; the proposal is saved as a
scenario whose report then moves only the pupils of the closed schools (planning.evaluate).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from gaps.norms import within
from planning.baseline import Baseline, Schools
from planning.closures import ModelError, PMedianResult, solve_p_median
from planning.evaluate import CLOSE, Change

TIME, BEYOND = "time", "beyond"


@dataclass
class Target:
    close: int | None = None  # schools to close; None: as many as possible (needs max_pupils)
    objective: str = TIME
    capacities: bool = True
    fixed_open: list[str] = field(default_factory=list)  # school codes
    max_pupils: int | None = None  # only schools with fewer pupils may close
    time_limit_s: float = 60.0  # for the whole suggestion, every solve of a search included


MIN_SOLVE_S = 3.0


@dataclass
class Instance:
    sites: NDArray[np.intp]  # index into Schools
    cost: NDArray[np.float64]  # minutes (TIME) or share beyond the norm (BEYOND)
    demand: NDArray[np.float64]
    capacity: NDArray[np.float64] | None
    group_id: NDArray[np.int64]
    grades: list[tuple[int, ...]]
    left_out: int  # children reaching no school


class SuggestError(ValueError):
    pass


def instance(base: Baseline, schools: Schools, objective: str = TIME, capacities: bool = True) -> Instance:
    cov = base.cov
    sites = np.flatnonzero(schools.open)
    roll = base.roll
    kids = np.flatnonzero((roll >= 0) & np.isin(roll, sites))
    times = base.time_s[np.ix_(kids, sites)].astype(np.float64)
    grade = cov.grade[kids]
    serves = (schools.first_grade[sites][None, :] <= np.arange(1, 10)[:, None]) & \
             (np.arange(1, 10)[:, None] <= schools.last_grade[sites][None, :])  # (9, sites)
    patterns: dict[bytes, list[int]] = {}
    for g in range(1, 10):
        patterns.setdefault(serves[g - 1].tobytes(), []).append(g)
    grades = [tuple(v) for v in patterns.values()]
    klass = np.zeros(10, dtype=np.int64)
    for k, gs in enumerate(grades):
        klass[list(gs)] = k
    times[~serves[grade - 1]] = np.inf
    reach = np.isfinite(times).any(axis=1)
    left_out = int((~reach).sum())
    kids, times, grade = kids[reach], times[reach], grade[reach]
    if objective == BEYOND:
        limit = base.limit_min()[kids][:, None]
        value = np.where(np.isfinite(times), (~within(times, limit)).astype(np.float64), np.inf)
    else:
        value = times / 60
    key = cov.group_id[kids] * 16 + klass[grade]
    points, at = np.unique(key, return_inverse=True)
    demand = np.bincount(at, minlength=len(points)).astype(np.float64)
    total = np.zeros((len(points), len(sites)))
    np.add.at(total, at, np.where(np.isfinite(value), value, 0.0))
    blocked = np.zeros((len(points), len(sites)), dtype=bool)
    np.logical_or.at(blocked, at, ~np.isfinite(value))
    cost = np.where(blocked, np.inf, total / demand[:, None])
    capacity = None
    if capacities:
        held = np.bincount(np.searchsorted(sites, roll[kids]), minlength=len(sites))
        approved = np.maximum(schools.capacity[sites], schools.enrolment[sites])
        other = np.maximum(schools.enrolment[sites] - held, 0)
        capacity = np.where(np.isfinite(approved), approved - other, demand.sum())
    return Instance(sites, cost, demand, capacity, points // 16, grades, left_out)


@dataclass
class Suggestion:
    target: Target
    closed: list[str]  # school codes
    result: PMedianResult
    instance_size: dict[str, int]
    searched: list[dict[str, Any]] = field(default_factory=list)  # as-many-as-possible: N tried

    def changes(self) -> list[Change]:
        return [Change(CLOSE, code) for code in self.closed]

    def facts(self) -> dict[str, Any]:
        r = self.result

        def num(v: float) -> float | None:  # JSON has no inf
            return float(v) if np.isfinite(v) else None

        return {"target": asdict(self.target), "objective": num(r.objective), "lower_bound": num(r.lower_bound),
                "gap": num(r.gap), "status": r.status, "seconds": round(r.seconds, 2), "pairs": r.pairs,
                "pairs_total": r.pairs_total, "rounds": r.rounds, **self.instance_size, "searched": self.searched}


def suggest(base: Baseline, schools: Schools, target: Target) -> Suggestion:
    try:
        return _suggest(base, schools, target)
    except ModelError as e:  # an instance the target makes impossible: the planner's message
        raise SuggestError(str(e)) from None


def _suggest(base: Baseline, schools: Schools, target: Target) -> Suggestion:
    index = schools.index()
    objective = target.objective if target.objective in (TIME, BEYOND) else TIME
    inst = instance(base, schools, objective, target.capacities)
    m = len(inst.sites)
    if m < 2:
        raise SuggestError(_("There are fewer than two open schools."))
    site_of = {int(j): k for k, j in enumerate(inst.sites)}
    fixed = set()
    for code in target.fixed_open:
        if code not in index or int(index[code]) not in site_of:
            raise SuggestError(_("%(code)s is not an open school of this county.") % {"code": code})
        fixed.add(site_of[int(index[code])])
    if target.max_pupils is not None:
        big = np.flatnonzero(schools.enrolment[inst.sites] >= target.max_pupils)
        fixed |= set(big.tolist())
    may_close = min(m - len(fixed), m - 1)  # at least one school stays open
    size = {"points": len(inst.demand), "sites": m, "children": int(inst.demand.sum()), "left_out": inst.left_out,
            "may_close": may_close}
    searched: list[dict[str, Any]] = []
    # One time budget for the whole suggestion: "as many as possible" runs a search of several solves, and
    # the page runs in a web request (gunicorn's timeout is 120 s): each solve gets what is left, at least
    # a few seconds (a solve stopped by the budget keeps its best plan and says so in `searched`).
    deadline = time.monotonic() + target.time_limit_s

    def remaining() -> float:
        return max(MIN_SOLVE_S, deadline - time.monotonic())

    if target.close is None:
        if target.max_pupils is None:
            raise SuggestError(_("Say how many schools to close, or below how many pupils a school may close."))
        beyond = inst if objective == BEYOND else instance(base, schools, BEYOND, target.capacities)

        def solve(n: int) -> PMedianResult:
            r = solve_p_median(beyond.cost, beyond.demand, m - n, beyond.capacity, sorted(fixed), remaining())
            searched.append({"close": n, "beyond": r.objective, "status": r.status})
            return r

        now = solve(0).objective
        lo, hi, best = 0, may_close, None
        while lo < hi:  # the largest n whose optimum leaves no more children beyond the norm
            mid = (lo + hi + 1) // 2
            r = solve(mid)
            if r.objective <= now + 1e-6:
                lo, best = mid, r
            else:
                hi = mid - 1
        if best is None or lo == 0:
            best = solve_p_median(inst.cost, inst.demand, m, inst.capacity, sorted(fixed), remaining())
        result = best
    else:
        if not 1 <= target.close <= may_close:
            raise SuggestError(_("Between 1 and %(n)s schools may close.") % {"n": may_close})
        result = solve_p_median(inst.cost, inst.demand, m - target.close, inst.capacity, sorted(fixed),
                                target.time_limit_s)
    if not len(result.open):
        raise SuggestError(_("No plan fits: the open schools cannot hold the pupils within their capacity."))
    opened = set(int(inst.sites[k]) for k in result.open)
    closed = [str(schools.code[j]) for j in inst.sites if int(j) not in opened]
    return Suggestion(target, closed, result, size, searched)

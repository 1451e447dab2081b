"""Evaluating a scenario: which children move, to which school, and how their way changes.

A scenario is a list of `Change`s applied to the county's schools in memory — never to the live data:

- close (撤销) a school: it takes no pupils;
- merge (合并) a school into another: it closes, and its pupils go first to the school it merges into;
- grades: the school teaches first..last grade from now on;
- capacity: its approved places;
- boarding: whether it boards;
- open (启用) a planned school: it takes pupils (and counts for coverage).

Who moves: every child on the roll of a county school that the scenario closes, or that no longer
teaches the child's grade. Nobody else moves: pupils of schools that stay keep their school and
their way, and a new school draws only children who must move (opening a school by itself changes
coverage, not rolls).

Where to: the open schools of the scenario that teach the child's grade, nearest first by road
travel time (the baseline's day-mode trip); a merged school's pupils try the school it merges into
first. Seats: a school's free places are its capacity (unrecorded: unlimited) less the pupils who
stay. The overflow rule (setting GRIDMAP_PLANNING_OVERFLOW, per scenario) decides what happens
when a school is full:

- "next" (default): seats go to the nearest children first — each child proposes to its nearest
  school with room, a full school keeps the children nearest to it (a merged school's pupils first
  at their target) and turns the others to their next nearest (deferred acceptance: the unique
  stable assignment for these priorities, the same as handing out the seats pair by pair in order
  of travel time); a child who finds every school full is counted as having no place;
- "count": every child goes to their first choice, and places beyond capacity are counted as
  overflow at the receiving school.

Coverage (a child meets the norm when the nearest open school teaching their grade is within the
day limit, or a boarding school within the boarding limit) is judged before and after for every
child of the county, as gaps.compute judges it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from gaps.norms import within
from gridmap.models import SchoolStatus
from planning.baseline import Baseline, Schools

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
NEXT, COUNT = "next", "count"
OVERFLOW_RULES = (NEXT, COUNT)
CLOSE, MERGE, GRADES, CAPACITY, BOARDING, OPEN = "close", "merge", "grades", "capacity", "boarding", "open"
ACTIONS = (CLOSE, MERGE, GRADES, CAPACITY, BOARDING, OPEN)
MAX_CAPACITY = 100_000


@dataclass(frozen=True)
class Change:
    action: str
    school: str  # school code
    into: str = ""  # MERGE: the receiving school's code
    first_grade: int | None = None  # GRADES
    last_grade: int | None = None
    capacity: int | None = None  # CAPACITY
    boarding: bool | None = None  # BOARDING


class ScenarioError(ValueError):
    """A change that cannot be applied (the message is for the planner, in their language)."""


@dataclass
class Applied:
    """The schools as the scenario leaves them (arrays over Schools' index)."""

    open: Bools
    first_grade: NDArray[np.int64]
    last_grade: NDArray[np.int64]
    capacity: Floats
    boarding: Bools
    merge_into: NDArray[np.intp]  # -1: not merged

    def serves(self, grade: NDArray[np.int64]) -> Bools:
        """(children, schools): open and teaching each child's grade."""
        g = np.asarray(grade)[:, None]
        return self.open[None, :] & (self.first_grade[None, :] <= g) & (g <= self.last_grade[None, :])


def apply(schools: Schools, changes: list[Change]) -> Applied:
    """The changes on top of the schools (ScenarioError for one that makes no sense)."""
    index = schools.index()
    out = Applied(schools.open.copy(), schools.first_grade.copy(), schools.last_grade.copy(),
                  schools.capacity.copy(), schools.boarding.copy(), np.full(len(schools), -1, dtype=np.intp))

    def at(code: str) -> int:
        if code not in index:
            raise ScenarioError(_("School %(code)s is not a school of this county.") % {"code": code})
        return index[code]

    closing = {c.school for c in changes if c.action in (CLOSE, MERGE)}
    for c in changes:
        j = at(c.school)
        name = schools.name[j]
        if c.action not in ACTIONS:
            raise ScenarioError(_("Unknown change %(a)s.") % {"a": c.action})
        if c.action in (CLOSE, MERGE):
            if schools.status[j] != SchoolStatus.OPEN:
                raise ScenarioError(_("%(name)s is not open: only an open school can be closed or merged.")
                                    % {"name": name})
            out.open[j] = False
            if c.action == MERGE:
                t = at(c.into)
                if t == j:
                    raise ScenarioError(_("%(name)s cannot merge into itself.") % {"name": name})
                if c.into in closing:
                    raise ScenarioError(_("%(name)s merges into %(into)s, which this scenario closes.")
                                        % {"name": name, "into": schools.name[t]})
                out.merge_into[j] = t
        elif c.action == OPEN:
            if schools.status[j] != SchoolStatus.PLANNED:
                raise ScenarioError(_("%(name)s is not a planned school.") % {"name": name})
            out.open[j] = True
        elif c.action == GRADES:
            a, b = c.first_grade, c.last_grade
            if a is None or b is None or not 1 <= a <= b <= 9:
                raise ScenarioError(_("Grades of %(name)s must lie within 1-9, first before last.") % {"name": name})
            out.first_grade[j], out.last_grade[j] = a, b
        elif c.action == CAPACITY:
            if c.capacity is None or not 0 <= c.capacity <= MAX_CAPACITY:
                raise ScenarioError(_("Capacity of %(name)s must lie within 0-%(max)s.") % {"name": name,
                                                                                             "max": MAX_CAPACITY})
            out.capacity[j] = float(c.capacity)
        elif c.action == BOARDING:
            if c.boarding is None:
                raise ScenarioError(_("Say whether %(name)s boards.") % {"name": name})
            out.boarding[j] = bool(c.boarding)
    for j, t in enumerate(out.merge_into):
        if t >= 0 and not out.open[t]:
            raise ScenarioError(_("%(name)s merges into %(into)s, which is not open in this scenario.")
                                % {"name": schools.name[j], "into": schools.name[t]})
    return out


def unchanged(schools: Schools) -> Applied:
    return apply(schools, [])


@dataclass
class Outcome:
    """Per child (rows of the baseline) and per school, before and after."""

    rule: str
    schools: Schools
    before: Applied
    after: Applied
    moved: Bools  # must leave their school
    school_before: NDArray[np.intp]  # = baseline.roll
    school_after: NDArray[np.intp]  # -1: no school (no place, or none teaches the grade within reach)
    time_before: Floats  # seconds, day mode; inf: no trip
    time_after: Floats
    dist_before: Floats  # metres
    dist_after: Floats
    no_place: Bools  # moved, reachable, and every school teaching their grade was full (rule "next")
    unreachable: Bools  # moved, and no open school teaching their grade can be reached (off the network)
    meets_before: Bools  # coverage: every child
    meets_after: Bools
    stay: NDArray[np.int64]  # pupils who stay, per school
    arrivals: NDArray[np.int64]  # moved pupils received, per school
    # teachers' trips of the children taught at home whose school closes
    taught_school_after: NDArray[np.intp] = field(default_factory=lambda: np.empty(0, dtype=np.intp))

    @property
    def enrolment_after(self) -> NDArray[np.int64]:
        return self.stay + self.arrivals

    @property
    def overflow(self) -> NDArray[np.int64]:
        """Pupils beyond capacity per school after the scenario (0 where unlimited)."""
        over = self.enrolment_after - np.where(np.isfinite(self.after.capacity), self.after.capacity, np.inf)
        return np.maximum(over, 0).astype(np.int64)


def evaluate(base: Baseline, changes: list[Change], rule: str = NEXT, schools: Schools | None = None) -> Outcome:
    """Where every child goes under the scenario (schools: a fresh table, default the baseline's)."""
    if rule not in OVERFLOW_RULES:
        raise ScenarioError(_("Unknown overflow rule %(r)s.") % {"r": rule})
    schools = schools or base.schools
    if len(schools) != base.time_s.shape[1] or not np.array_equal(schools.pk, base.schools.pk):
        raise ScenarioError(_("The county's schools changed since the travel times were measured; try again."))
    before, after = unchanged(schools), apply(schools, changes)
    cov = base.cov
    n = len(cov)
    roll = base.roll
    grade = cov.grade
    on = roll >= 0
    r = np.where(on, roll, 0)
    rows = np.arange(n)
    serves_own = after.open[r] & (after.first_grade[r] <= grade) & (grade <= after.last_grade[r])
    moved = on & ~serves_own
    time_before = np.where(on, base.time_s[rows, r].astype(np.float64), np.inf)
    dist_before = np.where(on, base.distance_m[rows, r].astype(np.float64), np.nan)
    stay = np.bincount(roll[on & ~moved], minlength=len(schools)).astype(np.int64)
    # pupils on the roll without a home on the ledger (not in the baseline) stay where they are
    stay += np.maximum(schools.enrolment - np.bincount(roll[on], minlength=len(schools)), 0) * after.open
    movers = np.flatnonzero(moved)
    target = np.full(len(movers), -1, dtype=np.intp)
    reachable = np.zeros(len(movers), dtype=bool)
    if len(movers):
        times = base.time_s[movers].astype(np.float64)
        ok = after.serves(grade[movers]) & np.isfinite(times)
        merge = after.merge_into[roll[movers]]
        preferred = np.zeros_like(times, dtype=bool)
        has = merge >= 0
        preferred[np.flatnonzero(has), merge[has]] = True
        preferred &= ok
        # the key orders a child's choices and a school's priorities alike: merged pupils first at
        # their target, then by travel time
        key = np.where(ok, np.where(preferred, -1.0, times), np.inf)
        reachable = np.asarray(np.isfinite(key).any(axis=1), dtype=bool)
        free = np.maximum(after.capacity - stay, 0)
        target = _assign(key, free, rule)
    school_after = roll.copy()
    school_after[movers] = target
    arrivals = np.bincount(target[target >= 0], minlength=len(schools)).astype(np.int64)
    time_after = time_before.copy()
    dist_after = dist_before.copy()
    sa = np.where(school_after >= 0, school_after, 0)
    time_after[movers] = np.where(target >= 0, base.time_s[movers, sa[movers]], np.inf)
    dist_after[movers] = np.where(target >= 0, base.distance_m[movers, sa[movers]], np.nan)
    no_place = np.zeros(n, dtype=bool)
    no_place[movers] = (target < 0) & reachable
    unreachable = np.zeros(n, dtype=bool)
    unreachable[movers] = ~reachable
    taught_after = _home_taught_after(base, before, after)
    return Outcome(rule, schools, before, after, moved, roll.copy(), school_after, time_before, time_after,
                   dist_before, dist_after, no_place, unreachable, meets(base, before), meets(base, after), stay,
                   arrivals, taught_after)


def _assign(key: Floats, free: Floats, rule: str) -> NDArray[np.intp]:
    """Each row (child) to a column (school) by `key` (lower first; inf: not allowed)."""
    n, m = key.shape
    choice = np.argsort(key, axis=1, kind="stable")
    ranked = np.take_along_axis(key, choice, axis=1)
    allowed = np.isfinite(ranked).sum(axis=1)
    if rule == COUNT:
        return np.where(allowed > 0, choice[:, 0], -1).astype(np.intp)
    # deferred acceptance: children propose down their lists; a school holds the best `free` offers
    ptr = np.zeros(n, dtype=np.intp)
    held = np.full(n, -1, dtype=np.intp)
    active = np.flatnonzero(allowed > 0)
    while len(active):
        school = choice[active, ptr[active]]
        holders = np.flatnonzero(held >= 0)
        who = np.concatenate([holders, active])
        at = np.concatenate([held[holders], school])
        k = key[who, at]
        order = np.lexsort((who, k, at))
        who, at = who[order], at[order]
        first = np.searchsorted(at, at, side="left")
        rank = np.arange(len(at)) - first
        accept = rank < free[at]
        held[who[accept]] = at[accept]
        rejected = who[~accept]
        held[rejected] = -1
        ptr[rejected] += 1
        active = rejected[ptr[rejected] < allowed[rejected]]
    return held


def meets(base: Baseline, schools: Applied) -> Bools:
    """Coverage of every child: the nearest open school teaching the grade within the day limit, or
    (where the norm allows it) a boarding school within the boarding limit."""
    cov = base.cov
    n = len(cov)
    best = np.full(n, np.inf)
    best_board = np.full(n, np.inf)
    limit, board_limit = base.limit_min(), base.boarding_limit_min()
    for g in range(1, 10):
        kids = np.flatnonzero(cov.grade == g)
        if not len(kids):
            continue
        cols = np.flatnonzero(schools.open & (schools.first_grade <= g) & (g <= schools.last_grade))
        if len(cols):
            best[kids] = base.time_s[np.ix_(kids, cols)].min(axis=1)
        rows = base.boarding_rows[kids]
        boards = kids[rows >= 0]
        bcols = cols[schools.boarding[cols]]
        if len(boards) and len(bcols):
            best_board[boards] = base.boarding_s[np.ix_(base.boarding_rows[boards], bcols)].min(axis=1)
    return within(best, limit) | within(best_board, board_limit)


def _home_taught_after(base: Baseline, before: Applied, after: Applied) -> NDArray[np.intp]:
    """The school that sends teachers to each child taught at home: the same, unless it closes —
    then the school it merges into, or else the open school nearest to the child's home."""
    ht = base.home_taught
    out = ht.school.copy()
    for k, j in enumerate(ht.school):
        if after.open[j]:
            continue
        t = after.merge_into[j]
        if t < 0:
            times = np.where(after.open, ht.time_s[k], np.inf) if ht.time_s.size else np.full(len(after.open), np.inf)
            t = int(np.argmin(times)) if np.isfinite(times).any() else -1
        out[k] = t
    return out

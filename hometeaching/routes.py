"""A school's send-teaching-home week as trips over the roads.

The visits its plans owe in an ISO week become trips — one per teaching pair (the plan's teachers)
and half-day (GRIDMAP_HOME_HALF_DAYS, school days of the calendar only) — in three steps:

1. one travel-time matrix over the school and every home (routing.engine.od_matrix, the teachers'
   mode GRIDMAP_HOME_TRAVEL_MODE, default by car);
2. each visit is given a half-day it may take (its preferred weekdays, its availability window long
   enough for the visit, a plan's visits on different days): the visits with the fewest choices
   first, each to the half-day of its pair where it adds the least travel (cheapest insertion);
3. each half-day's visits are ordered by routing.vrp.solve_vrptw — the school as depot with the
   half-day as its window, each visit's duration (class hours × GRIDMAP_CLASS_HOUR_MINUTES) as
   service and its availability as the window — which minimises the road travel time. A visit the
   solver cannot fit moves to its next half-day; one that fits none is listed with the reason.

Times of day are seconds after midnight.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from pypinyin import Style, lazy_pinyin

from gridmap import ledgers
from gridmap import visits as weekly
from gridmap.models import HomeTeachingPlan, School
from routing import engine
from routing.vrp import VRPSolution, solve_vrptw

Solver = Callable[..., VRPSolution]

NO_HOME, OFF_NETWORK, SCHOOL_OFF_NETWORK, NO_DAY, NO_ROOM, UNREACHABLE, WINDOW = (
    "no_home", "off_network", "school_off_network", "no_day", "no_room", "unreachable", "window")
REASONS = {
    NO_HOME: _("no home location on the ledger"),
    OFF_NETWORK: _("the home is farther from a road than the access limit"),
    SCHOOL_OFF_NETWORK: _("the school is farther from a road than the access limit"),
    NO_DAY: _("no half-day of the week matches the preferred days and hours"),
    NO_ROOM: _("the pair's half-days are full"),
    UNREACHABLE: _("no road from the school to the home and back"),
    WINDOW: _("the visit cannot be made within the hours the child is available"),
    "capacity": _("the visit does not fit a trip"),
}


def initials(name: str) -> str:
    """The pinyin initials of a name (张小明 → ZXM): what maps and sheets show instead of it."""
    letters = [p[:1].upper() for p in lazy_pinyin(name, style=Style.FIRST_LETTER) if p[:1].isalpha()]
    return "".join(letters)[:4] or "?"


def parse_week(text: str) -> weekly.Week:
    """'2026-W48' → (2026, 48); ValueError with a Chinese message otherwise."""
    t = (text or "").strip()
    try:
        year, _sep, week = t.upper().partition("-W")
        y, w = int(year), int(week)
        date.fromisocalendar(y, w, 1)
    except ValueError:
        raise ValueError(f"周次应形如 2026-W48，而不是 {t[:20]!r}") from None
    if not 2000 <= y <= 2100 or len(year) != 4:
        raise ValueError(f"周次应形如 2026-W48，而不是 {t[:20]!r}")
    return y, w


def week_text(week: weekly.Week) -> str:
    return f"{week[0]}-W{week[1]:02d}"


def half_days() -> list[tuple[int, int]]:
    """The half-days' (start, end) in seconds after midnight."""
    out = []
    for part in str(settings.GRIDMAP_HOME_HALF_DAYS).split(","):
        a, _sep, b = part.strip().partition("-")
        start, end = (datetime.strptime(x.strip(), "%H:%M").time() for x in (a, b))
        out.append((_seconds(start), _seconds(end)))
    return out


def _seconds(t: dtime) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def clock_text(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


@dataclass
class Stop:
    plan_id: int
    child_id: int
    initials: str
    group: str
    address: str
    guardian: str
    phone: str
    lonlat: tuple[float, float]
    service_s: float
    window: tuple[float, float]  # availability, seconds after midnight
    days: list[int]  # ISO weekdays allowed
    visit: int  # 1..visits_per_week
    team: tuple[int, ...]
    team_names: str
    index: int = 0  # row of the matrix (0: the school)


@dataclass
class Trip:
    number: int
    day: date
    half: int
    team_names: str
    stops: list[Stop]
    starts: list[float]  # planned start of each visit
    depart: float
    back: float
    legs_s: list[float]  # school → 1st, …, last → school
    travel_s: float

    @property
    def label(self) -> str:
        return f"{self.day:%m-%d} {'上午' if self.half == 0 else '下午' if self.half == 1 else f'第{self.half + 1}段'}"


@dataclass
class WeekPlan:
    school: School
    week: weekly.Week
    mode: str
    trips: list[Trip] = field(default_factory=list)
    unfit: list[tuple[Stop, str]] = field(default_factory=list)
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((1, 1)))
    matrix_s: float = 0.0
    solver_s: float = 0.0
    solver_calls: int = 0

    @property
    def travel_s(self) -> float:
        return sum(t.travel_s for t in self.trips)


def week_plans(school: School, week: weekly.Week) -> QuerySet[HomeTeachingPlan]:
    mon = weekly.monday(week)
    sun = mon + timedelta(days=6)
    return (HomeTeachingPlan.objects.filter(school=school, start_date__lte=sun)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=mon))
            .select_related("child", "child__group", "child__household").prefetch_related("teachers")
            .order_by("pk"))


def _stops(plans: QuerySet[HomeTeachingPlan]) -> list[Stop]:
    per_hour = weekly.class_hour_minutes() * 60
    out = []
    for p in plans:
        c = p.child
        days = [int(d) for d in p.preferred_days.split(",") if d.strip().isdigit()] or [1, 2, 3, 4, 5, 6, 7]
        team = tuple(sorted(t.pk for t in p.teachers.all()))
        names = "、".join(t.name for t in sorted(p.teachers.all(), key=lambda t: t.pk))
        home = c.home or (c.household.location if c.household else None)
        for k in range(p.visits_per_week):
            out.append(Stop(
                plan_id=p.pk, child_id=c.pk, initials=initials(c.name), group=c.group.name,
                address=(c.household.address if c.household else "") or c.group.name,
                guardian=p.guardian_name or (c.household.head_name if c.household else ""),
                phone=p.guardian_phone, lonlat=(home.x, home.y) if home else (np.nan, np.nan),
                service_s=float(p.hours_per_visit * per_hour),
                window=(_seconds(p.available_from), _seconds(p.available_until)), days=days, visit=k + 1,
                team=team, team_names=names))
    return out


def plan_week(school: School, week: weekly.Week, solver: Solver = solve_vrptw,
              time_limit_s: float | None = None) -> WeekPlan:
    mode = str(settings.GRIDMAP_HOME_TRAVEL_MODE)
    out = WeekPlan(school=school, week=week, mode=mode)
    stops = _stops(week_plans(school, week))
    located = [s for s in stops if np.isfinite(s.lonlat[0])]
    out.unfit.extend((s, NO_HOME) for s in stops if not np.isfinite(s.lonlat[0]))
    homes = sorted({s.plan_id: s.lonlat for s in located}.items())
    row = {pk: i + 1 for i, (pk, _ll) in enumerate(homes)}
    for s in located:
        s.index = row[s.plan_id]
    t0 = clock.perf_counter()
    points = np.array([[school.location.x, school.location.y], *[ll for _pk, ll in homes]], dtype=np.float64)
    snapped = engine.snap(points, mode)
    out.matrix = engine.od_matrix(snapped, mode) if len(points) > 1 else np.zeros((1, 1))
    out.matrix_s = clock.perf_counter() - t0
    d = out.matrix
    if not snapped.on[0]:
        out.unfit.extend((s, SCHOOL_OFF_NETWORK) for s in located)
        return out
    reachable = []
    for s in located:
        if not snapped.on[s.index]:
            out.unfit.append((s, OFF_NETWORK))
        elif not (np.isfinite(d[0, s.index]) and np.isfinite(d[s.index, 0])):
            out.unfit.append((s, UNREACHABLE))
        else:
            reachable.append(s)
    mon = weekly.monday(week)
    open_days = [day for day in ledgers.school_days(mon, mon + timedelta(days=6))]
    slots = [(day, h, a, b) for day in open_days for h, (a, b) in enumerate(half_days())]
    limit = float(time_limit_s if time_limit_s is not None else settings.GRIDMAP_HOME_SOLVER_SECONDS)

    def window(s: Stop, slot: tuple[date, int, int, int]) -> tuple[float, float] | None:
        _day, _h, a, b = slot
        lo, hi = max(a, s.window[0]), min(b, s.window[1]) - s.service_s
        return (lo, hi) if hi >= lo else None

    def fits(s: Stop, slot: tuple[date, int, int, int]) -> bool:
        return slot[0].isoweekday() in s.days and window(s, slot) is not None

    teams: dict[tuple[int, ...], list[Stop]] = {}
    for s in reachable:
        teams.setdefault(s.team, []).append(s)
    trips: list[Trip] = []
    for team_stops in teams.values():
        groups: dict[int, list[Stop]] = {}  # slot index → stops
        refused: dict[int, set[int]] = {}  # id(stop) → slots tried and failed
        pending = sorted(team_stops, key=lambda s: (sum(fits(s, sl) for sl in slots), s.plan_id, s.visit))
        solved: dict[int, tuple[list[Stop], VRPSolution]] = {}
        for _round in range(len(slots) + 1):
            if not pending:
                break
            touched = set()
            for s in pending:
                taken_days = {slots[k][0] for k, g in groups.items() for o in g
                              if o.plan_id == s.plan_id and o is not s}
                options = [k for k, sl in enumerate(slots) if fits(s, sl) and sl[0] not in taken_days
                           and k not in refused.get(id(s), set())]
                if not options:
                    out.unfit.append((s, NO_DAY if not any(fits(s, sl) for sl in slots) else NO_ROOM))
                    continue
                k = min(options, key=lambda k: (_insertion(d, [o.index for o in groups.get(k, [])], s.index), k))
                groups.setdefault(k, []).append(s)
                touched.add(k)
            pending = []
            for k in sorted(touched):
                group = groups[k]
                sol, spent = _solve(d, group, slots[k], window, solver, limit)
                out.solver_s += spent
                out.solver_calls += 1
                keep = [group[i - 1] for r in sol.routes for i in r]
                moved = [group[i - 1] for i in sol.unserved]
                groups[k] = keep
                for s in moved:
                    refused.setdefault(id(s), set()).add(k)
                pending.extend(moved)
                solved[k] = (group, sol)
                if not keep:
                    groups.pop(k)
        for k in sorted(groups):
            group, sol = solved[k]
            day, half, _a, _b = slots[k]
            for r, starts, depart, back in zip(sol.routes, sol.starts, sol.departures, sol.returns, strict=True):
                order = [group[i - 1] for i in r]
                idx = [0, *[s.index for s in order], 0]
                legs = [float(d[a, b]) for a, b in zip(idx[:-1], idx[1:], strict=True)]
                trips.append(Trip(0, day, half, order[0].team_names, order, starts, depart, back, legs, sum(legs)))
    trips.sort(key=lambda t: (t.day, t.half, t.team_names))
    for n, t in enumerate(trips, 1):
        t.number = n
    out.trips = trips
    return out


def _insertion(d: np.ndarray, tour: list[int], new: int) -> float:
    """Least added travel time of putting `new` into the tour school → tour → school."""
    legs = [0, *tour, 0]
    return float(min(d[a, new] + d[new, b] - d[a, b] for a, b in zip(legs[:-1], legs[1:], strict=True)))


def _solve(d: np.ndarray, group: list[Stop], slot: tuple[date, int, int, int],
           window: Callable[[Stop, tuple[date, int, int, int]], tuple[float, float] | None],
           solver: Solver, limit: float) -> tuple[VRPSolution, float]:
    idx = [0, *[s.index for s in group]]
    wins = [(float(slot[2]), float(slot[3])), *[window(s, slot) or (0.0, -1.0) for s in group]]
    t0 = clock.perf_counter()
    sol = solver(d[np.ix_(idx, idx)], [0.0, *[s.service_s for s in group]], np.array(wins),
                 [0, *[1] * len(group)], len(group), 1, time_limit_s=limit, seed=0)
    return sol, clock.perf_counter() - t0


def trip_lines(plan: WeekPlan, trip: Trip) -> list[Any]:
    """Each leg of a trip as a line along the roads (routing.engine.trip_path), school → … → school."""
    school = (plan.school.location.x, plan.school.location.y)
    points = [school, *[s.lonlat for s in trip.stops], school]
    return [engine.trip_path(np.array([a]), np.array([b]), plan.mode) for a, b in zip(points[:-1], points[1:], strict=True)]


def reason_text(code: str) -> str:
    return str(REASONS.get(code, code))

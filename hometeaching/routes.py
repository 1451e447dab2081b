"""A school's send-teaching-home week as trips over the roads.

The visits its plans owe in an ISO week become trips — one per teaching pair (the plan's teachers)
and half-day (GRIDMAP_HOME_HALF_DAYS, school days of the calendar only):

1. one travel-time matrix over the school and every home (routing.engine.od_matrix, the teachers'
   mode GRIDMAP_HOME_TRAVEL_MODE, default by car);
2. one VRPTW per teaching pair and week (routing.vrp.solve_vrptw): the school is the depot, each
   half-day of the week a vehicle with its own window (on one time axis, seconds from Monday 00:00),
   each visit's service its class hours × GRIDMAP_CLASS_HOUR_MINUTES, and its windows the half-days
   it may take — its preferred weekdays, its hours, the visit ending within the half-day. The solver
   chooses each visit's half-day together with the order, minimising the road travel time of the
   week. The pair's half-days are those of school days on which neither teacher is already out
   with another pair (pairs are planned largest first); a plan's visits go on different days.
3. a visit that fits no half-day, or no room left in the pair's, is listed with the reason.

Times of day (stops, trips) are seconds after midnight.
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
from gridmap.models import HomeTeachingPlan, School, TeachingPlace
from routing import engine
from routing.vrp import VRPSolution, solve_vrptw

Solver = Callable[..., VRPSolution]

NO_HOME, NO_PLACE, OFF_NETWORK, SCHOOL_OFF_NETWORK, NO_DAY, NO_ROOM, UNREACHABLE, WINDOW = (
    "no_home", "no_place", "off_network", "school_off_network", "no_day", "no_room", "unreachable", "window")
REASONS = {
    NO_HOME: _("no home location on the ledger"),
    NO_PLACE: _("the plan gives no location of the welfare home or institution"),
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
    """The half-days' (start, end) in seconds after midnight (GRIDMAP_HOME_HALF_DAYS)."""
    return parse_half_days(str(settings.GRIDMAP_HOME_HALF_DAYS))


def parse_half_days(text: str) -> list[tuple[int, int]]:
    """'08:00-12:00,14:00-17:30' → [(28800, 43200), (50400, 63000)]; ValueError says what is wrong."""
    out: list[tuple[int, int]] = []
    for part in text.split(","):
        a, sep, b = part.strip().partition("-")
        try:
            if not sep:
                raise ValueError
            start, end = (_seconds(datetime.strptime(x.strip(), "%H:%M").time()) for x in (a, b))
        except ValueError:
            raise ValueError(f"{part.strip()!r} is not a half-day HH:MM-HH:MM") from None
        if start >= end:
            raise ValueError(f"{part.strip()!r} ends before it starts")
        if out and start < out[-1][1]:
            raise ValueError(f"{part.strip()!r} overlaps or comes before the half-day before it")
        out.append((start, end))
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
    elsewhere: bool = False  # taught in a welfare home or an institution (lonlat is that place)


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
    slot: int = -1  # index of the half-day among the week's

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
    lines: dict[int, list[Any]] = field(default_factory=dict)  # trip number → its legs along the roads
    lines_s: float = 0.0
    fingerprint: str = ""  # hometeaching.cache: what the plan was made from
    planned_at: float = field(default_factory=clock.time)
    from_cache: bool = False

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
        elsewhere = p.place != TeachingPlace.HOME  # taught in a welfare home or an institution: go there
        home = p.place_location if elsewhere else c.home or (c.household.location if c.household else None)
        for k in range(p.visits_per_week):
            out.append(Stop(
                plan_id=p.pk, child_id=c.pk, initials=initials(c.name), group=c.group.name,
                address=(p.place_name or p.get_place_display()) if elsewhere
                else (c.household.address if c.household else "") or c.group.name,
                elsewhere=elsewhere,
                guardian=p.guardian_name or (c.household.head_name if c.household else ""),
                phone=p.guardian_phone, lonlat=(home.x, home.y) if home else (np.nan, np.nan),
                service_s=float(p.hours_per_visit * per_hour),
                window=(_seconds(p.available_from), _seconds(p.available_until)), days=days, visit=k + 1,
                team=team, team_names=names))
    return out


def plan_week(school: School, week: weekly.Week, solver: Solver = solve_vrptw,
              time_limit_s: float | None = None) -> WeekPlan:
    """The week's trips of a school (see the module's docstring). Not cached: `cache.week_plan`."""
    mode = str(settings.GRIDMAP_HOME_TRAVEL_MODE)
    out = WeekPlan(school=school, week=week, mode=mode)
    stops = _stops(week_plans(school, week))
    located = [s for s in stops if np.isfinite(s.lonlat[0])]
    out.unfit.extend((s, NO_PLACE if s.elsewhere else NO_HOME) for s in stops if not np.isfinite(s.lonlat[0]))
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
    slots = [Slot(day, h, a, b, (day - mon).days * DAY)
             for day in ledgers.school_days(mon, mon + timedelta(days=6)) for h, (a, b) in enumerate(half_days())]
    limit = float(time_limit_s if time_limit_s is not None else settings.GRIDMAP_HOME_SOLVER_SECONDS)
    teams: dict[tuple[int, ...], list[Stop]] = {}
    for s in reachable:
        teams.setdefault(s.team, []).append(s)
    busy: dict[int, set[int]] = {}  # teacher → slots already driven by a pair they belong to
    for team in sorted(teams, key=lambda t: (-len(teams[t]), t)):
        free = [k for k in range(len(slots)) if not any(k in busy.get(p, set()) for p in team)]
        trips, unfit, spent, calls = _plan_team(d, teams[team], slots, free, solver, limit)
        out.solver_s += spent
        out.solver_calls += calls
        out.unfit.extend(unfit)
        for trip in trips:
            for p in team:
                busy.setdefault(p, set()).add(trip.slot)
        out.trips.extend(trips)
    out.trips.sort(key=lambda t: (t.day, t.half, t.team_names))
    for n, t in enumerate(out.trips, 1):
        t.number = n
    return out


DAY = 86400  # the week's time axis: seconds from its Monday 00:00


@dataclass(frozen=True)
class Slot:
    """A half-day of a school day: a trip's time budget, and a vehicle of the week's VRPTW."""

    day: date
    half: int
    start: int  # seconds after midnight
    end: int
    offset: int  # seconds from the week's Monday 00:00 to this day's midnight

    def visit_window(self, s: Stop) -> tuple[float, float] | None:
        """When the visit may start within this half-day (None: not this half-day)."""
        if self.day.isoweekday() not in s.days:
            return None
        lo, hi = max(self.start, s.window[0]), min(self.end, s.window[1]) - s.service_s
        return (lo, hi) if hi >= lo else None


def _plan_team(d: np.ndarray, stops: list[Stop], slots: list[Slot], free: list[int], solver: Solver,
               limit: float) -> tuple[list[Trip], list[tuple[Stop, str]], float, int]:
    """One teaching pair's week as one VRPTW: each free half-day a vehicle with its own window, each
    visit's windows the half-days it may take (its weekdays and hours), so that the solver chooses
    the half-day of every visit together with the order. A plan's visits go on different days: when
    the solver puts two of them on one day, the one it serves first is kept to that day, the others
    are barred from it, and the week is solved again (each plan at most once per visit)."""
    unfit: list[tuple[Stop, str]] = []
    barred: dict[int, set[date]] = {}  # id(stop) → days it may no longer take
    pinned: dict[int, date] = {}  # id(stop) → the only day it may take
    spent, calls = 0.0, 0
    todo = []
    for s in stops:
        if not any(sl.visit_window(s) for sl in slots):
            unfit.append((s, NO_DAY))
        else:
            todo.append(s)
    for _round in range(len(todo) * max(len(slots), 1) + 1):
        options = {id(s): [k for k in free if slots[k].visit_window(s) and slots[k].day not in barred.get(id(s), set())
                           and pinned.get(id(s), slots[k].day) == slots[k].day] for s in todo}
        unfit += [(s, NO_ROOM) for s in todo if not options[id(s)]]
        group = [s for s in todo if options[id(s)]]
        if not group:
            return [], unfit, spent, calls
        idx = [0, *[s.index for s in group]]
        windows = [[(slots[k].offset + w[0], slots[k].offset + w[1])
                    for k in options[id(s)] for w in [slots[k].visit_window(s)] if w] for s in group]
        vehicles = [(slots[k].offset + slots[k].start, slots[k].offset + slots[k].end) for k in free]
        t0 = clock.perf_counter()
        sol = solver(d[np.ix_(idx, idx)], [0.0, *[s.service_s for s in group]],
                     np.array([[0.0, 7.0 * DAY]] * len(idx)), [0, *[1] * len(group)], len(group), len(free),
                     time_limit_s=limit, seed=0, vehicle_windows=vehicles, stop_windows=[None, *windows])
        spent += clock.perf_counter() - t0
        calls += 1
        start_of = {id(group[i - 1]): (slots[free[v]].day, t)
                    for r, v, ts in zip(sol.routes, sol.vehicles, sol.starts, strict=True)
                    for i, t in zip(r, ts, strict=True)}
        first_on: dict[tuple[int, date], Stop] = {}
        clash = False
        for s in sorted((s for s in group if id(s) in start_of), key=lambda s: start_of[id(s)][1]):
            day = start_of[id(s)][0]
            kept = first_on.setdefault((s.plan_id, day), s)
            if kept is not s:
                pinned[id(kept)] = day
                barred.setdefault(id(s), set()).add(day)
                clash = True
        if clash:
            unfit = [u for u in unfit if u[1] == NO_DAY]  # recomputed from the options next round
            continue
        trips = []
        for r, v, starts, depart, back in zip(sol.routes, sol.vehicles, sol.starts, sol.departures, sol.returns,
                                              strict=True):
            slot = slots[free[v]]
            order = [group[i - 1] for i in r]
            legs_at = [0, *[s.index for s in order], 0]
            legs = [float(d[a, b]) for a, b in zip(legs_at[:-1], legs_at[1:], strict=True)]
            trips.append(Trip(0, slot.day, slot.half, order[0].team_names, order, [t - slot.offset for t in starts],
                              depart - slot.offset, back - slot.offset, legs, sum(legs), slot=free[v]))
        unfit += [(group[i - 1], NO_ROOM if sol.reasons[i] == "no_room" else sol.reasons[i]) for i in sol.unserved]
        return trips, unfit, spent, calls
    raise RuntimeError("the week's visits kept clashing")  # each round bars a day: cannot happen


def trip_lines(plan: WeekPlan, trip: Trip) -> list[Any]:
    """Each leg of a trip as a line along the roads (routing.engine.trip_path), school → … → school
    (drawn once with the plan when it comes from hometeaching.cache)."""
    if trip.number in plan.lines:
        return plan.lines[trip.number]
    school = (plan.school.location.x, plan.school.location.y)
    points = [school, *[s.lonlat for s in trip.stops], school]
    return [engine.trip_path(np.array([a]), np.array([b]), plan.mode) for a, b in zip(points[:-1], points[1:], strict=True)]


def reason_text(code: str) -> str:
    return str(REASONS.get(code, code))

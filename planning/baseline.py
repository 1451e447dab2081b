"""The county as it is, precomputed once for every scenario: its children, its schools, and every
child's road travel time and distance to every school of the county.

Children are those the coverage computation counts (gaps.compute: school age on the date, a
home on the ledger, not transferred out, graduated or taught at home), with their grade, the school
they are on the roll of, their village group and key groups. Each child's trip to each school is
measured by the travel-time engine (routing.engine.times_to, one search per school and mode) in the
mode of the child's grade norm (gaps.norms: grades 1-6 walk, 7-9 by school bus by default); the
grades whose norm allows boarding are also measured in the boarding mode. Children taught at home
(送教上门) are measured from every school in the teachers' mode (GRIDMAP_HOME_TRAVEL_MODE, by default
the school bus / car mode): the teachers' trip, school → home.

A trip is always the daily trip by the norm's day mode — also for a pupil who boards — so that
"before" and "after" are measured alike; the boarding mode serves only the coverage test (a boarding
school within the boarding limit also meets the norm).

`baseline(county)` is cached per process under the coverage fingerprint (network version,
children, schools' places and grades, norms, speeds); capacities and statuses are read afresh by
each evaluation (`school_table`), so editing a school's capacity needs no new precomputation.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.conf import settings
from django.db.models import Count, Q
from numpy.typing import NDArray

from gaps import compute as coverage  # issue 13: every child's way to school and the norms
from gaps.norms import Norm
from gridmap import schooling
from gridmap.models import Area, Child, ChildStatus, HomeTeachingPlan, School, SchoolStatus
from routing import engine, network

Progress = Callable[[str, int, int], None]
Floats = NDArray[np.float64]
CACHE_SIZE = 2
TEACHER_MODE = getattr(settings, "GRIDMAP_HOME_TRAVEL_MODE", "bus")  # how send-teaching-home teachers travel
GONE = [ChildStatus.TRANSFERRED_OUT, ChildStatus.GRADUATED]


@dataclass(frozen=True)
class Schools:
    """The county's schools as arrays, in primary-key order (index j everywhere below)."""

    pk: NDArray[np.int64]
    code: NDArray[np.object_]
    name: NDArray[np.object_]
    kind: NDArray[np.object_]
    township_id: NDArray[np.int64]
    first_grade: NDArray[np.int64]
    last_grade: NDArray[np.int64]
    capacity: Floats  # approved places; inf when not recorded
    boarding: NDArray[np.bool_]
    status: NDArray[np.object_]
    lonlat: Floats
    enrolment: NDArray[np.int64]  # pupils on the roll this school year (any home, any status but gone)

    def __len__(self) -> int:
        return len(self.pk)

    def index(self) -> dict[str, int]:
        return {str(c): j for j, c in enumerate(self.code)}

    @property
    def open(self) -> NDArray[np.bool_]:
        return np.asarray(self.status == SchoolStatus.OPEN, dtype=bool)


def school_table(county_code: str, as_of: date) -> Schools:
    """The county's schools with a location, read afresh (statuses, capacities, enrolment)."""
    year = schooling.school_year(as_of)
    rows = list(School.objects.filter(township__code__startswith=county_code).order_by("pk")
                .annotate(pupils=Count("classes__children", filter=Q(classes__school_year=year)
                                       & ~Q(classes__children__status__in=GONE)))
                .values_list("pk", "code", "name", "kind", "township_id", "first_grade", "last_grade",
                             "capacity", "boarding", "status", "location", "pupils"))
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * 12
    return Schools(
        pk=np.asarray(cols[0], dtype=np.int64).reshape(n), code=np.asarray(cols[1], dtype=object).reshape(n),
        name=np.asarray(cols[2], dtype=object).reshape(n), kind=np.asarray(cols[3], dtype=object).reshape(n),
        township_id=np.asarray(cols[4], dtype=np.int64).reshape(n),
        first_grade=np.asarray(cols[5], dtype=np.int64).reshape(n),
        last_grade=np.asarray(cols[6], dtype=np.int64).reshape(n),
        capacity=np.array([np.inf if c is None else float(c) for c in cols[7]], dtype=np.float64).reshape(n),
        boarding=np.asarray(cols[8], dtype=bool).reshape(n), status=np.asarray(cols[9], dtype=object).reshape(n),
        lonlat=np.array([(p.x, p.y) for p in cols[10]], dtype=np.float64).reshape(n, 2),
        enrolment=np.asarray(cols[11], dtype=np.int64).reshape(n))


@dataclass
class HomeTaught:
    """Children taught at home and the school that sends teachers to each (plans in force)."""

    child_id: NDArray[np.int64]
    group_id: NDArray[np.int64]
    school: NDArray[np.intp]  # index into Schools
    lonlat: Floats
    time_s: Floats = field(default_factory=lambda: np.empty((0, 0)))  # (children, schools), teachers' mode
    distance_m: Floats = field(default_factory=lambda: np.empty((0, 0)))

    def __len__(self) -> int:
        return len(self.child_id)


@dataclass
class Baseline:
    county_code: str
    as_of: date
    fingerprint: str
    cov: coverage.Coverage  # one row per child (see the coverage module)
    schools: Schools  # as read when the baseline was built (evaluations read their own table)
    roll: NDArray[np.intp]  # index of the child's own school among `schools`; -1: none in the county
    day_mode: NDArray[np.object_]
    time_s: NDArray[np.float32]  # (children, schools): the daily trip by the day mode
    distance_m: NDArray[np.float32]
    boarding_rows: NDArray[np.intp]  # per child, its row in boarding_s (-1: its norm has no boarding)
    boarding_s: NDArray[np.float32]  # (boarding children, schools) by the boarding mode
    home_taught: HomeTaught
    seconds: float = 0.0

    @property
    def norms(self) -> list[Norm]:
        return self.cov.norms

    def __len__(self) -> int:
        return len(self.cov)

    def limit_min(self) -> NDArray[np.int64]:
        """Each child's day limit in minutes (its grade's norm)."""
        return np.asarray(self.cov.limit_minutes(), dtype=np.int64)

    def boarding_limit_min(self) -> NDArray[np.int64]:
        minutes = np.array([nm.boarding_minutes or 0 for nm in self.norms], dtype=np.int64)
        return np.asarray(minutes[self.cov.norm_index], dtype=np.int64)


_cache: OrderedDict[tuple[str, date, str], Baseline] = OrderedDict()
_lock = threading.Lock()


def county_of(code: str) -> Area:
    return Area.objects.get(code=code[:6])


def baseline(county: Area, as_of: date | None = None, progress: Progress | None = None) -> Baseline:
    """The precomputed county (cached per process by the coverage fingerprint)."""
    as_of = as_of or date.today()
    fp = coverage.fingerprint(county, as_of)
    key = (county.code, as_of, fp)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    result = build(county, as_of, progress or (lambda _s, _d, _t: None))
    with _lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def build(county: Area, as_of: date, progress: Progress) -> Baseline:
    started = time.perf_counter()
    cov = coverage.compute(county, as_of, progress=progress)
    schools = school_table(county.code, as_of)
    position = {int(p): j for j, p in enumerate(schools.pk)}
    roll = np.array([position.get(int(s), -1) for s in cov.roll_school], dtype=np.intp)
    norms = cov.norms
    day_mode = np.array([nm.mode for nm in norms], dtype=object)[cov.norm_index] if len(cov) else \
        np.empty(0, dtype=object)
    board_mode = np.array([nm.boarding_mode if nm.boarding else "" for nm in norms], dtype=object)[
        cov.norm_index] if len(cov) else np.empty(0, dtype=object)
    n, m = len(cov), len(schools)
    time_s = np.full((n, m), np.inf, dtype=np.float32)
    distance_m = np.full((n, m), np.nan, dtype=np.float32)
    boards = np.flatnonzero(board_mode != "")
    boarding_rows = np.full(n, -1, dtype=np.intp)
    boarding_rows[boards] = np.arange(len(boards))
    boarding_s = np.full((len(boards), m), np.inf, dtype=np.float32)
    taught = _home_taught(county.code, as_of, position)
    modes = sorted(set(day_mode.tolist()) | set(board_mode[boards].tolist()) | ({TEACHER_MODE} if len(taught) else set()))
    steps, done = len(modes) * (m + 1), 0
    for mode in modes:
        g = network.graph(mode)
        day = np.flatnonzero(day_mode == mode)
        board = np.flatnonzero(board_mode[boards] == mode)  # rows of boarding_s
        who = np.union1d(day, boards[board])
        homes = engine.snap(cov.lonlat[who], mode, graph=g)
        places = engine.snap(schools.lonlat, mode, graph=g)
        at_day = np.searchsorted(who, day)
        at_board = np.searchsorted(who, boards[board])
        if mode == TEACHER_MODE and len(taught):
            # the teachers' trip runs school → home: every school to each home, one search per home
            t_homes = engine.snap(taught.lonlat, mode, graph=g)
            taught.time_s = np.full((len(taught), m), np.inf)
            taught.distance_m = np.full((len(taught), m), np.nan)
            for k in range(len(taught)):
                t = engine.times_to(places, t_homes.take([k]), mode)
                taught.time_s[k], taught.distance_m[k] = t.time_s, t.distance_m
        done += 1
        progress("snap", done, steps)
        for j in range(m):
            one = places.take([j])
            if len(who):
                r = engine.times_to(homes, one, mode)
                time_s[day, j] = r.time_s[at_day]
                distance_m[day, j] = r.distance_m[at_day]
                boarding_s[board, j] = r.time_s[at_board]
            done += 1
            progress("search", done, steps)
    return Baseline(county.code, as_of, cov.fingerprint, cov, schools, roll, day_mode, time_s, distance_m,
                    boarding_rows, boarding_s, taught, time.perf_counter() - started)


def _home_taught(county_code: str, as_of: date, position: dict[int, int]) -> HomeTaught:
    rows = list(HomeTeachingPlan.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=as_of), start_date__lte=as_of,
        child__status=ChildStatus.HOME_TAUGHT, child__group__code__startswith=county_code,
        child__home__isnull=False).order_by("child_id", "-start_date")
        .values_list("child_id", "child__group_id", "school_id", "child__home"))
    seen: set[int] = set()
    keep = []
    for r in rows:  # the newest plan of each child
        if r[0] not in seen and r[2] in position:
            seen.add(r[0])
            keep.append(r)
    k = len(keep)
    return HomeTaught(
        child_id=np.array([r[0] for r in keep], dtype=np.int64).reshape(k),
        group_id=np.array([r[1] for r in keep], dtype=np.int64).reshape(k),
        school=np.array([position[r[2]] for r in keep], dtype=np.intp).reshape(k),
        lonlat=np.array([(r[3].x, r[3].y) for r in keep if r[3] is not None], dtype=np.float64).reshape(k, 2))


def children_count(county_code: str, as_of: date) -> int:
    """How many children the baseline would hold (for progress messages)."""
    return int(Child.objects.school_age_on(as_of).filter(group__code__startswith=county_code,
                                                         home__isnull=False).count())

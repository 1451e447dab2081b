"""Every school-age child's way to school, over the roads: the nearest open school teaching their
grade, the school they are on the roll of, and whether each way meets the norm of their grade.

`compute(area, as_of)` covers every child of the area (the layer, the tables and the export then
show each login what access.py lets it see). The children counted are those of school age on
`as_of` with a home location on the ledger, leaving out those transferred out, graduated or taught
at home (no daily way to school). A child's grade is their class's grade when on a roll, else the
grade their birth date says they should be in (gridmap.schooling).

Two measures:
- a coverage gap (覆盖缺口): even the nearest open school teaching the grade — or, where the norm
  allows boarding, the nearest boarding school — is beyond the norm; homes off the road network
  and homes from which no road reaches such a school count as gaps too, and are reported as such;
- an own trip beyond the norm (就读路程超标): the way to the school the child is on the roll of is
  longer than the norm.

Results are cached per process under a fingerprint of everything they depend on (the network
version, the area's children and the county's schools), so the map, the tables and a repeated
request reuse one computation.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.contrib.gis.db.models.functions import GeoFunc
from django.db import connection
from django.db.models import FloatField, Q
from numpy.typing import NDArray

from gaps.norms import Norm, norms, within
from gridmap import schooling
from gridmap.models import KEY_GROUPS, Area, Child, ChildStatus, School, SchoolStatus
from routing import engine, network
from routing.graph import Result, Snapped

EXCLUDED_STATUSES = [ChildStatus.TRANSFERRED_OUT, ChildStatus.GRADUATED, ChildStatus.HOME_TAUGHT]
CACHE_SIZE = 8

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class X(GeoFunc):
    function = "ST_X"
    output_field = FloatField()


class Y(GeoFunc):
    function = "ST_Y"
    output_field = FloatField()


@dataclass(frozen=True)
class SchoolInfo:
    pk: int
    code: str
    name: str
    township_id: int
    first_grade: int
    last_grade: int
    boarding: bool
    status: str
    lonlat: tuple[float, float]
    local: bool  # one of the area's county's schools (others: only as a child's own school)

    @property
    def candidate(self) -> bool:
        """May stand in as a child's nearest school: open, and in the county."""
        return self.local and self.status == SchoolStatus.OPEN


@dataclass
class Coverage:
    """One row per child (arrays), and the schools they were measured against."""

    area_code: str
    as_of: date
    fingerprint: str
    norms: list[Norm]
    schools: dict[int, SchoolInfo]
    child_id: NDArray[np.int64]
    group_id: NDArray[np.int64]
    grade: NDArray[np.int64]
    lonlat: NDArray[np.float64]
    roll_school: NDArray[np.int64]  # school pk, -1: on no school's roll
    status: NDArray[np.object_]
    key_groups: dict[str, NDArray[np.bool_]]
    norm_index: NDArray[np.int64] = field(init=False)
    nearest_school: NDArray[np.int64] = field(init=False)  # school pk, -1: none reachable
    nearest_s: NDArray[np.float64] = field(init=False)
    nearest_m: NDArray[np.float64] = field(init=False)
    boarding_school: NDArray[np.int64] = field(init=False)
    boarding_s: NDArray[np.float64] = field(init=False)
    roll_s: NDArray[np.float64] = field(init=False)
    roll_m: NDArray[np.float64] = field(init=False)
    off_network: NDArray[np.bool_] = field(init=False)
    meets: NDArray[np.bool_] = field(init=False)  # the nearest school (or boarding one) within the norm
    roll_meets: NDArray[np.bool_] = field(init=False)  # the own school within the norm
    # open schools farther from any road than the access limit in a mode the norms use: no child can be
    # measured to them, so they are never anyone's nearest school — said on the page, not silently dropped
    schools_off_network: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.child_id)
        by_grade = np.zeros(10, dtype=np.int64)
        for i, nm in enumerate(self.norms):
            by_grade[list(nm.grades)] = i
        self.norm_index = by_grade[self.grade]
        self.nearest_school = np.full(n, -1, dtype=np.int64)
        self.boarding_school = np.full(n, -1, dtype=np.int64)
        for name in ("nearest_s", "boarding_s", "roll_s"):
            setattr(self, name, np.full(n, np.inf))
        self.nearest_m = np.full(n, np.nan)
        self.roll_m = np.full(n, np.nan)
        self.off_network = np.zeros(n, dtype=bool)
        self.meets = np.zeros(n, dtype=bool)
        self.roll_meets = np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.child_id)

    @property
    def gap(self) -> NDArray[np.bool_]:
        return ~self.meets

    @property
    def on_roll(self) -> NDArray[np.bool_]:
        return self.roll_school >= 0

    @property
    def roll_beyond(self) -> NDArray[np.bool_]:
        """On a roll, and the way there is beyond the norm (a school with no location is not judged)."""
        measurable = np.isin(self.roll_school, np.fromiter(self.schools, dtype=np.int64))
        return self.on_roll & measurable & ~self.roll_meets

    @property
    def unreachable(self) -> NDArray[np.bool_]:
        return ~self.off_network & ~np.isfinite(self.nearest_s)

    def limit_minutes(self) -> NDArray[np.int64]:
        return np.array([nm.minutes for nm in self.norms], dtype=np.int64)[self.norm_index]


def _schools(county_code: str, also: set[int]) -> dict[int, SchoolInfo]:
    """The county's schools, and the schools elsewhere that its children are on the roll of."""
    rows = (School.objects.filter(Q(township__code__startswith=county_code) | Q(pk__in=also), location__isnull=False)
            .annotate(x=X("location"), y=Y("location")).order_by("pk")
            .values_list("pk", "code", "name", "township_id", "first_grade", "last_grade", "boarding", "status",
                         "x", "y"))
    local = set(School.objects.filter(township__code__startswith=county_code).values_list("pk", flat=True))
    return {r[0]: SchoolInfo(*r[:8], lonlat=(r[8], r[9]), local=r[0] in local) for r in rows}


def children_of(area_code: str, as_of: date) -> Any:
    return (Child.objects.school_age_on(as_of).filter(group__code__startswith=area_code, home__isnull=False)
            .exclude(status__in=EXCLUDED_STATUSES))


def fingerprint(area: Area, as_of: date) -> str:
    """Changes whenever a result of compute(area, as_of) could: the road network, the area's
    children (who, where, on which roll, in which status, which key groups) and the county's schools."""
    children = children_of(area.code, as_of)
    sql, params = children.values("pk").query.sql_with_params()
    kg = ", ".join(f"c.{f}::int" for f in KEY_GROUPS)
    with connection.cursor() as cursor:
        # one hash over the rows that matter, computed where they are (no rows travel)
        cursor.execute(
            f"SELECT count(*), coalesce(sum(hashtext(concat_ws('|', c.id, c.status, c.school_class_id, "
            f"c.birth_date, ST_AsText(c.home), {kg}))::numeric), 0) "
            f"FROM gridmap_child c WHERE c.id IN ({sql})", params)
        n, h = cursor.fetchone()
        cursor.execute(
            "SELECT coalesce(sum(hashtext(concat_ws('|', s.id, s.status, s.first_grade, s.last_grade, s.boarding, "
            "ST_AsText(s.location)))::numeric), 0), count(*) FROM gridmap_school s JOIN gridmap_area t "
            "ON t.id = s.township_id WHERE t.code LIKE %s", [area.code[:6] + "%"])
        sh, sn = cursor.fetchone()
    text = f"{network.version()}|{area.code}|{as_of}|{n}|{h}|{sn}|{sh}|{[n_ for n_ in norms()]}"
    from routing.modes import access_max_m, modes

    text += "|" + ",".join(m.fingerprint() for m in modes().values()) + f"|{access_max_m()}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


_cache: OrderedDict[tuple[str, date, str], Coverage] = OrderedDict()
_lock = threading.Lock()


def compute(area: Area, as_of: date | None = None, progress: Progress | None = None) -> Coverage:
    """Coverage of every child of `area` (cached per process by fingerprint)."""
    as_of = as_of or date.today()
    fp = fingerprint(area, as_of)
    key = (area.code, as_of, fp)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    result = _compute(area, as_of, fp, progress or (lambda _s, _d, _t: None))
    with _lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _compute(area: Area, as_of: date, fp: str, progress: Progress) -> Coverage:
    progress("children", 0, 1)
    configured = norms()
    rows = list(children_of(area.code, as_of).annotate(x=X("home"), y=Y("home")).order_by("pk").values_list(
        "pk", "group_id", "birth_date", "school_class__grade", "school_class__school_id", "status", "x", "y",
        *KEY_GROUPS))
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * (8 + len(KEY_GROUPS))
    schools = _schools(area.code[:6], {s for s in cols[4] if s is not None})
    grade = np.array([g if g is not None else schooling.expected_grade(b, as_of) for b, g in zip(cols[2], cols[3],
                                                                                              strict=True)],
                     dtype=np.int64).reshape(n)
    cov = Coverage(
        area_code=area.code, as_of=as_of, fingerprint=fp, norms=configured, schools=schools,
        child_id=np.asarray(cols[0], dtype=np.int64).reshape(n), group_id=np.asarray(cols[1], dtype=np.int64).reshape(n),
        grade=np.clip(grade, 1, 9),
        lonlat=np.column_stack([np.asarray(cols[6], dtype=np.float64), np.asarray(cols[7], dtype=np.float64)]
                               ).reshape(n, 2),
        roll_school=np.array([-1 if s is None else s for s in cols[4]], dtype=np.int64).reshape(n),
        status=np.asarray(cols[5], dtype=object).reshape(n),
        key_groups={f: np.asarray(cols[8 + i], dtype=bool).reshape(n) for i, f in enumerate(KEY_GROUPS)},
    )
    progress("children", 1, 1)
    if n:
        _measure(cov, progress)
    return cov


def _measure(cov: Coverage, progress: Progress) -> None:
    pks = np.array(sorted(cov.schools), dtype=np.int64)
    info = [cov.schools[int(p)] for p in pks]
    school_lonlat = np.array([s.lonlat for s in info]).reshape(-1, 2)
    open_ = np.array([s.candidate for s in info], dtype=bool)
    boarding = np.array([s.boarding for s in info], dtype=bool)
    first = np.array([s.first_grade for s in info])
    last = np.array([s.last_grade for s in info])
    wanted_modes = sorted({nm.mode for nm in cov.norms} | {nm.boarding_mode for nm in cov.norms if nm.boarding_mode})
    homes: dict[str, Snapped] = {}
    places: dict[str, Snapped] = {}
    searches: list[tuple[str, NDArray[np.bool_], NDArray[np.bool_], str]] = []  # mode, schools, children, kind
    for nm in cov.norms:
        for g in nm.grades:
            kids = cov.grade == g
            if not kids.any():
                continue
            serving = open_ & (first <= g) & (g <= last)
            searches.append((nm.mode, serving, kids, "day"))
            if nm.boarding:
                searches.append((nm.boarding_mode or nm.mode, serving & boarding, kids, "boarding"))
    steps = len(wanted_modes) + len(searches) + len(wanted_modes)
    done = 0
    for mode in wanted_modes:
        homes[mode] = engine.snap(cov.lonlat, mode)
        places[mode] = engine.snap(school_lonlat, mode, graph=network.graph(mode))
        done += 1
        progress("snap", done, steps)
    cov.schools_off_network = sorted({int(pks[i]) for mode in wanted_modes
                                      for i in np.flatnonzero(open_ & ~places[mode].on)})
    day_mode = np.array([nm.mode for nm in cov.norms], dtype=object)[cov.norm_index]
    for mode in wanted_modes:
        cov.off_network |= (day_mode == mode) & ~homes[mode].on
    for mode, serving, kids, kind in searches:
        idx = np.flatnonzero(kids)
        cand = np.flatnonzero(serving)
        r = engine.nearest_facility(homes[mode].take(idx), places[mode].take(cand), mode)
        school = (np.where(r.facility >= 0, pks[cand[np.maximum(r.facility, 0)]], -1) if len(cand)
                  else np.full(len(idx), -1, dtype=np.int64))
        if kind == "day":
            cov.nearest_s[idx], cov.nearest_m[idx], cov.nearest_school[idx] = r.time_s, r.distance_m, school
        else:
            cov.boarding_s[idx], cov.boarding_school[idx] = r.time_s, school
        done += 1
        progress("search", done, steps)
    position = {int(p): i for i, p in enumerate(pks)}
    assigned = np.array([position.get(int(s), -1) for s in cov.roll_school], dtype=np.intp)
    # a boarder's own way is measured as the norm measures boarding: by its mode, against its limit
    norm_boards = np.array([nm.boarding for nm in cov.norms], dtype=bool)[cov.norm_index]
    boards = (assigned >= 0) & boarding[np.maximum(assigned, 0)] & norm_boards
    roll_mode = np.where(boards, np.array([nm.boarding_mode for nm in cov.norms], dtype=object)[cov.norm_index],
                         day_mode)
    for mode in wanted_modes:
        idx = np.flatnonzero((roll_mode == mode) & (assigned >= 0))
        if len(idx):
            own: Result = engine.times_to_each(homes[mode].take(idx), places[mode], assigned[idx], mode)
            cov.roll_s[idx], cov.roll_m[idx] = own.time_s, own.distance_m
        done += 1
        progress("own school", done, steps)
    limits = cov.limit_minutes()
    board_limits = np.array([nm.boarding_minutes or 0 for nm in cov.norms])[cov.norm_index]
    cov.meets = within(cov.nearest_s, limits) | (norm_boards & within(cov.boarding_s, board_limits))
    cov.roll_meets = cov.on_roll & within(cov.roll_s, np.where(boards, board_limits, limits))

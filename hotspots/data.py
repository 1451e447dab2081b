"""Dropout hotspots from the ledgers: per village group of an area, for a month, the monthly report's
counts, the smoothed rates and the Gi* clusters (hotspots.stats), as far as a login may see them.

- Counts are the monthly report's — each child's status at the month's end (its as-of day while it
  runs) and the same "school-age on the ledger" rule — over `access.countable_children` of the cells
  `access.visible_cells` gives, narrowed by the filters (key group, grade due, sex). For logins scoped
  by area, without a key-group filter, they are read from the month-end counts per village group
  (gridmap.month_ends, kept up to date by triggers) instead of every child's status history; a
  school's staff and key-group filters count from `gridmap.reports`' snapshot of those children.
- Weights are built once per set of groups and kept, keyed by a hash of the groups' codes and
  boundaries (the geometry version), so that a new boundary import rebuilds them.
- Gi* results are kept keyed by everything they depend on (the rates, the geometry version, the
  permutation count and seed); a month whose ledgers have not changed is not recomputed.
- Logins that see children only in aggregate get counts through `access.suppress` ("<5"), no rate
  where a count behind it is hidden, and no z or p (with the neighbours' published rates those would
  give a hidden rate back); their cells keep their hot/cold class.
Caches live in the process (a few entries each): each web worker warms its own.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cached_property, reduce
from operator import or_
from typing import Any, Generic, TypeVar

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.db.models.functions import AsWKB, Transform
from django.db.models import Q, QuerySet
from django.utils import timezone

from gridmap import access, month_ends, reports, schooling
from gridmap.models import KEY_GROUPS, Area, Child, ChildStatus
from gridmap.models.areas import CODE_LENGTH, AreaLevel
from hotspots import stats

ALGORITHM = "gi-star-eb-1"  # part of every cache key and ETag: bump when the method changes
KEY_GROUP_CHOICES = {name.removeprefix("kg_"): name for name in KEY_GROUPS}
GRADE_CHOICES: dict[str, tuple[int, ...]] = {"6": (6,), "8": (8,), "9": (9,), "8-9": (8, 9),
                                             "key": schooling.KEY_GRADES}
FIRST_MONTH = date(2000, 1, 1)  # months before this are refused (no ledger is that old)
S = ChildStatus

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size, self._items, self._lock = size, OrderedDict[K, V](), threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


WEIGHTS: LRU[str, Any] = LRU(8)
CLUSTERS: LRU[str, stats.Clusters] = LRU(64)


# --- what is asked -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    key_group: str = ""  # a KEY_GROUPS field ("kg_left_behind"), or "" for all children
    grade: str = ""  # a GRADE_CHOICES key: children due in these grades at the month's end
    sex: str = ""  # "M", "F" or ""

    def apply(self, children: QuerySet[Child], last: date) -> QuerySet[Child]:
        if self.key_group:
            children = children.filter(**{self.key_group: True})
        if self.sex:
            children = children.filter(sex=self.sex)
        if self.grade:
            children = children.filter(reduce(or_, (Q(birth_date__range=schooling.grade_birth_range(g, last))
                                                    for g in GRADE_CHOICES[self.grade])))
        return children

    def params(self) -> dict[str, str]:
        """As query parameters (kg, grade, sex), empty ones left out."""
        out = {"kg": self.key_group.removeprefix("kg_"), "grade": self.grade, "sex": self.sex}
        return {k: v for k, v in out.items() if v}


def month_of(text: str | None) -> str:
    """A validated YYYY-MM (default: this month); ValueError with a message users can read."""
    today = timezone.localdate()
    if not text:
        return f"{today:%Y-%m}"
    if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit():
        raise ValueError("月份格式应为 YYYY-MM，例如 2026-11。")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        raise ValueError("月份应在 01 到 12 之间。")
    first = date(year, month, 1)
    if first < FIRST_MONTH or first > today.replace(day=1):
        raise ValueError(f"月份应在 {FIRST_MONTH:%Y-%m} 到本月（{today:%Y-%m}）之间。")
    return text


def previous_months(month: str, n: int) -> list[str]:
    """The n months ending with `month`, oldest first."""
    return list(reversed(reports.previous_months(month, n)))


# --- counts ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Counts:
    school_age: int = 0
    suspected: int = 0
    dropped_out: int = 0
    returned: int = 0

    @property
    def off_school(self) -> int:
        return self.suspected + self.dropped_out

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.school_age + other.school_age, self.suspected + other.suspected,
                      self.dropped_out + other.dropped_out, self.returned + other.returned)


def month_counts(children: QuerySet[Child], month: str) -> dict[str, Counts]:
    """Per village group code, the monthly report's figures at the end of `month` (one snapshot)."""
    last = reports.month_bounds(month)[1]
    tallies: dict[str, Counter[str]] = {}
    for child in reports.school_age_then(reports.snapshot(children, last), last):
        tally = tallies.setdefault(child.group_code, Counter())
        tally["school_age"] += 1
        tally[child.status or ""] += 1
    return {code: Counts(t["school_age"], t[S.SUSPECTED], t[S.DROPPED_OUT], t[S.RETURNED])
            for code, t in tallies.items()}


def month_end_counts(cells: QuerySet[Area], root: Area, month: str, filters: Filters) -> dict[str, Counts]:
    """The same figures as `month_counts` over the children of these cells, read from the month-end
    counts per village group (gridmap.month_ends) instead of every child's status history: for a
    county ~3,600 rows instead of ~100,000 children's histories. Not for a key-group filter (the
    counts have no key-group dimension)."""
    if filters.key_group:
        raise ValueError("month-end counts have no key groups: use month_counts")
    first = reports.month_bounds(month)[0]
    grades = GRADE_CHOICES[filters.grade] if filters.grade else ()
    by_group = month_ends.group_counts(root, first, grades, filters.sex)
    wanted = set(cells.values_list("code", flat=True))
    return {code: Counts(sum(t.values()), t[S.SUSPECTED], t[S.DROPPED_OUT], t[S.RETURNED])
            for code, t in by_group.items() if code in wanted}


def from_month_ends(scope: access.Scope, filters: Filters) -> bool:
    """Whether the month-end counts give this login's figures: they count every child of a village
    group, which is what a login scoped by area (or the county) counts; a school's staff count their
    school's children, and a key group is no dimension of them."""
    return not filters.key_group and not scope.school_ids


def shown(counts: Counts, scope: access.Scope, code: str = "", published: Any = None,
          filtered: bool = False) -> dict[str, int | str]:
    """The counts as this login may read them. Aggregate-only logins read the month's published
    figures (access.published_figures: school-age and off school of the cell or village, small counts
    and what would give them away hidden, the same as on the grid, the reports and the API); the
    status breakdown, and every count of a filtered subset of children (a key group, grade or sex,
    which differenced against the whole would give small counts back), are not shown to them ("—")."""
    values = {**asdict(counts), "off_school": counts.off_school}
    if scope.individual_children:
        return dict(values)
    out: dict[str, int | str] = dict.fromkeys(values, "—")
    if filtered:
        return out
    cell = published.cell(code) if published is not None else None
    if cell is not None:  # an area no decision covers: nothing ("—")
        out["school_age"], out["off_school"] = cell
    return out


# --- the cells and their neighbours ---------------------------------------------------------------

@dataclass(frozen=True)
class CellInfo:
    pk: int
    code: str
    name: str
    village_code: str
    village_name: str

    @property
    def township_code(self) -> str:
        return self.code[:CODE_LENGTH[AreaLevel.TOWNSHIP]]


def cell_queryset(user: Any, root: Area) -> QuerySet[Area]:
    return access.visible_cells(user).filter(code__startswith=root.code).order_by("code")


def geometry_version(cells: QuerySet[Area]) -> str:
    """A hash of the groups' codes and boundaries (their exact WKB), in code order."""
    digest = hashlib.sha256()
    for code, wkb in cells.annotate(_wkb=AsWKB("geom")).values_list("code", "_wkb"):
        digest.update(code.encode())
        digest.update(bytes(wkb))
    return digest.hexdigest()[:24]


def weights(cells: QuerySet[Area], version: str) -> Any:
    """Queen contiguity of the groups (ids = positions in code order), built once per version."""
    w = WEIGHTS.get(version)
    if w is None:
        projected = cells.annotate(_m=AsWKB(Transform("geom", settings.GRIDMAP_METRIC_SRID)))
        geoms = shapely.from_wkb([bytes(g) for g in projected.values_list("_m", flat=True)])
        w = stats.contiguity(list(geoms))
        WEIGHTS.put(version, w)
    return w


# --- one month of one area, as one login sees it --------------------------------------------------

@dataclass
class Inputs:
    """Everything the result depends on; its ETag is a hash of all of it."""

    root: Area
    month: str
    filters: Filters
    scope: access.Scope
    cells: list[CellInfo]
    counts: list[Counts]
    version: str
    queryset: QuerySet[Area]
    permutations: int = stats.PERMUTATIONS
    seed: int = stats.SEED
    published: Any = None  # gridmap.published.PublishedFigures for aggregate-only logins

    @cached_property
    def basis(self) -> list[Counts]:
        """The counts the statistics are computed from. For aggregate-only logins, the month's
        published figures alone (issue 11): school-age and off school (as `suspected`) of each group
        where both are shown, nothing where either is hidden, nothing at all for a filtered subset
        (no figure of it is published). Every rate, smoothed rate, class, Gi* cluster and ETag such
        a login reads is then a function of what it reads anyway, and recomputes no hidden count."""
        if self.scope.individual_children:
            return self.counts
        if self.filters != Filters() or self.published is None:
            return [Counts() for _c in self.cells]
        return [published_counts(self.published, c.code) for c in self.cells]

    @cached_property
    def etag(self) -> str:
        payload = [ALGORITHM, self.root.code, self.month, asdict(self.filters), self.permutations, self.seed,
                   self.scope.individual_children, self.version,
                   [(c.code, n.school_age, n.suspected, n.dropped_out, n.returned)
                    for c, n in zip(self.cells, self.basis, strict=True)]]
        return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()[:32]

    @property
    def no_data(self) -> bool:
        """No school-age child on the ledger at the month's end (e.g. before the ledger began)."""
        return not any(c.school_age for c in self.basis)


def published_counts(published: Any, code: str) -> Counts:
    """A group's or village's published figures as Counts (off school as `suspected`); none where
    either is hidden."""
    shown = published.cell(code)
    if shown is None or not all(isinstance(v, int) for v in shown):
        return Counts()
    return Counts(int(shown[0]), int(shown[1]))


def prepare(user: Any, root: Area, month: str, filters: Filters, permutations: int = stats.PERMUTATIONS,
            seed: int = stats.SEED) -> Inputs:
    cells = cell_queryset(user, root)
    infos = [CellInfo(*row) for row in cells.values_list("pk", "code", "name", "parent__code", "parent__name")]
    scope = access.scope_of(user)
    if from_month_ends(scope, filters):
        by_code = month_end_counts(cells, root, month, filters)
    else:
        last = reports.month_bounds(month)[1]
        by_code = month_counts(filters.apply(access.countable_children(user).filter(group__in=cells), last), month)
    return Inputs(root, month, filters, scope, infos, [by_code.get(c.code, Counts()) for c in infos],
                  geometry_version(cells), cells, permutations, seed, access.published_figures(user, month))


@dataclass
class UnitResult:
    """A village group or a village: counts as shown, rates per 100, classes."""

    code: str
    name: str
    village: str
    counts: Counts  # true counts: for the statistics only, never sent to aggregate-only logins
    shown: dict[str, int | str]
    rate: float | None  # raw, per 100; None when there are no children or a count behind it is hidden
    smoothed: float | None  # empirical Bayes towards the township's rate, per 100; None as above
    rate_class: str = ""  # "none" (no children), "hidden", "zero", "q1".."q4"
    cluster: str = ""  # "hot99" … "ns" … "cold99", "island", "untested" (groups only)
    z: float | None = None
    p: float | None = None

    def properties(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "village": self.village, **self.shown,
                "rate": _round(self.rate), "smoothed": _round(self.smoothed), "rate_class": self.rate_class,
                "cluster": self.cluster, "z": _round(self.z, 3), "p": _round(self.p, 5)}


def _round(x: float | None, digits: int = 2) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


CLUSTER_NAMES = {3: "hot99", 2: "hot95", 1: "hot90", 0: "ns", -1: "cold90", -2: "cold95", -3: "cold99"}


@dataclass
class Analysis:
    inputs: Inputs
    cells: list[UnitResult]
    villages: list[UnitResult]
    clusters: stats.Clusters
    bins: list[float]  # upper bounds of the groups' smoothed-rate classes q1..
    village_bins: list[float]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def by_code(self) -> dict[str, UnitResult]:
        return {c.code: c for c in self.cells}


def clusters_of(inputs: Inputs, y: np.ndarray, testable: np.ndarray) -> stats.Clusters:
    key = hashlib.sha256(b"|".join([ALGORITHM.encode(), inputs.version.encode(), np.asarray(y, float).tobytes(),
                                    np.asarray(testable, bool).tobytes(),
                                    f"{inputs.permutations}:{inputs.seed}".encode()])).hexdigest()
    result = CLUSTERS.get(key)
    if result is None:
        result = stats.getis_ord(y, weights(inputs.queryset, inputs.version), inputs.permutations, inputs.seed,
                                 testable)
        CLUSTERS.put(key, result)
    return result


def analyse(inputs: Inputs) -> Analysis:
    counts = inputs.basis
    events = np.array([c.off_school for c in counts], dtype=float)
    population = np.array([c.school_age for c in counts], dtype=float)
    townships = np.array([c.township_code for c in inputs.cells])
    smoothed = 100 * stats.smoothed_rates(events, population, townships)
    clusters = clusters_of(inputs, smoothed, testable=population > 0)
    individual = inputs.scope.individual_children
    cells = [_unit(info.code, info.name, info.village_name, n, s, inputs)
             for info, n, s in zip(inputs.cells, counts, smoothed, strict=True)]
    for i, cell in enumerate(cells):
        if clusters.island[i]:
            cell.cluster = "island"
        elif not clusters.tested[i]:
            cell.cluster = "untested"
        else:
            cell.cluster = CLUSTER_NAMES[int(clusters.level[i])]
            if individual:
                cell.z, cell.p = float(clusters.z[i]), float(clusters.p[i])
    villages = _villages(inputs)
    bins, village_bins = _classify(cells), _classify(villages)
    analysis = Analysis(inputs, cells, villages, clusters, bins, village_bins)
    analysis.meta = _meta(analysis)
    return analysis


def _unit(code: str, name: str, village: str, counts: Counts, smoothed: float, inputs: Inputs) -> UnitResult:
    visible = shown(counts, inputs.scope, code, inputs.published, inputs.filters != Filters())
    hidden = isinstance(visible["school_age"], str) or isinstance(visible["off_school"], str)
    has_children = counts.school_age > 0
    return UnitResult(code, name, village, counts, visible,
                      rate=100 * counts.off_school / counts.school_age if has_children and not hidden else None,
                      smoothed=float(smoothed) if has_children and not hidden else None)


def _villages(inputs: Inputs) -> list[UnitResult]:
    totals: dict[str, Counts] = {}
    names: dict[str, str] = {}
    for info, n in zip(inputs.cells, inputs.counts, strict=True):
        totals[info.village_code] = totals.get(info.village_code, Counts()) + n
        names[info.village_code] = info.village_name
    if inputs.basis is not inputs.counts:  # aggregate-only: the villages' own published figures
        totals = {code: (published_counts(inputs.published, code) if inputs.published is not None
                         and inputs.filters == Filters() else Counts()) for code in totals}
    codes = list(totals)
    events = np.array([totals[c].off_school for c in codes], dtype=float)
    population = np.array([totals[c].school_age for c in codes], dtype=float)
    smoothed = 100 * stats.smoothed_rates(events, population, np.array([c[:9] for c in codes]))
    return [_unit(code, names[code], names[code], totals[code], s, inputs)
            for code, s in zip(codes, smoothed, strict=True)]


def _classify(units: list[UnitResult]) -> list[float]:
    """Zero class apart (no suspected or dropped-out child), quantiles of the smoothed rates of the rest."""
    with_events = [u for u in units if u.smoothed is not None and u.shown["off_school"] != 0]
    bins = stats.rate_bins(np.array([u.smoothed for u in with_events], dtype=float))
    for u in units:
        if isinstance(u.shown["school_age"], str) or isinstance(u.shown["off_school"], str):  # hidden (a true 0 too)
            u.rate_class = "hidden"
        elif u.counts.school_age == 0:
            u.rate_class = "none"
        elif u.smoothed is None:
            u.rate_class = "hidden"
        elif u.shown["off_school"] == 0:
            u.rate_class = "zero"
        else:
            u.rate_class = f"q{stats.rate_class(u.smoothed, bins) + 1}" if bins else "zero"
    return bins


def _meta(a: Analysis) -> dict[str, Any]:
    c, inputs = a.clusters, a.inputs
    return {
        "area": inputs.root.code, "month": inputs.month, "filters": inputs.filters.params(),
        "permutations": c.permutations, "seed": c.seed, "cells": len(a.cells),
        "tested": int(c.tested.sum()), "islands": int(c.island.sum()), "hot": c.hot, "cold": c.cold,
        "reason": "no_data" if inputs.no_data else c.reason,
        "fdr_cutoffs": {str(k): v for k, v in c.cutoffs.items()},
        "significant_after_fdr": {str(k): v for k, v in c.corrected.items()},
        "significant_without_correction": {str(k): v for k, v in c.uncorrected.items()},
        "bins": [round(b, 2) for b in a.bins], "village_bins": [round(b, 2) for b in a.village_bins],
        "aggregate_only": not inputs.scope.individual_children,
    }


def analysis_for(user: Any, root: Area, month: str, filters: Filters,
                 permutations: int = stats.PERMUTATIONS, seed: int = stats.SEED) -> Analysis:
    return analyse(prepare(user, root, month, filters, permutations, seed))

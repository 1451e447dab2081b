"""What a login may read of a coverage result: per cell, per township, per school, the slowest trips.

Every function takes the result for an area (gaps.compute) and the login, and counts only the
children access.py lets that login count: its own children, exactly; for the aggregate-only roles,
the county's protected figures (gaps.disclosure: "<5" below five, and "*" where a small count could
otherwise be recomputed), the same on the page, the layer and the workbook. Individual rows (homes, the slowest trips)
go only to logins that may see children, and only for the children they may see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Q
from numpy.typing import NDArray

from gaps.compute import Coverage
from gridmap import access
from gridmap.models import KEY_GROUPS, Area, AreaLevel, Child

SLOWEST = 20


def countable(user: Any, cov: Coverage) -> NDArray[np.bool_]:
    """Which rows of the result this login counts (gridmap.access.countable_children)."""
    scope = access.scope_of(user)
    if scope.everywhere or not scope.individual_children:
        return np.ones(len(cov), dtype=bool)
    cached = getattr(user, "_gridmap_coverage_rows", None)  # one query per request, not per table
    if cached is not None and cached[0] == (cov.area_code, cov.fingerprint):
        return np.asarray(cached[1])
    ids = np.fromiter(access.visible_children(user).filter(group__code__startswith=cov.area_code)
                      .values_list("pk", flat=True), dtype=np.int64)
    mask = np.isin(cov.child_id, ids)
    user._gridmap_coverage_rows = ((cov.area_code, cov.fingerprint), mask)
    return mask


def visible(user: Any, cov: Coverage) -> NDArray[np.bool_]:
    """Which rows this login may see one by one (none for planners and inspectors)."""
    if not access.scope_of(user).individual_children:
        return np.zeros(len(cov), dtype=bool)
    return countable(user, cov)


def cell_figures(user: Any, cov: Coverage) -> Any:
    """Per cell pk: (children, beyond, off the network, on no roll) as this login reads them."""
    scope = access.scope_of(user)
    mask = countable(user, cov)
    n_of, gap_of = per_group(cov, mask), per_group(cov, mask & cov.gap)
    off_of, unrolled_of = per_group(cov, mask & cov.off_network), per_group(cov, mask & ~cov.on_roll)
    figures = protected(user, cov)

    def read(pk: int, code: str) -> tuple[int | str, int | str, int | str, int | str]:
        if figures is not None:
            return (figures.get(code, "children"), figures.get(code, "gap"), figures.get(code, "off"),
                    figures.get(code, "unrolled"))
        return (access.suppress(n_of.get(pk, 0), scope), access.suppress(gap_of.get(pk, 0), scope),
                access.suppress(off_of.get(pk, 0), scope), access.suppress(unrolled_of.get(pk, 0), scope))
    return read, n_of, gap_of


def cell_children(published: Any, code: str, n: int, scope: access.Scope) -> int | str:
    """A cell's children as an aggregate-only login reads them: hidden wherever the month's
    published figures hide the cell's school-age count (gridmap.published), which this count all but
    equals (less the children taught at home), so that it cannot undo a complement; "<5" below 5."""
    shown = published.cell(code) if published is not None else None
    if shown is not None and isinstance(shown[0], str):
        return shown[0]
    return access.suppress(n, scope)


def per_group(cov: Coverage, flags: NDArray[np.bool_]) -> dict[int, int]:
    """How many rows with `flags` set each village group has (one pass, not one per cell)."""
    groups, at = np.unique(cov.group_id, return_inverse=True)
    counts = np.bincount(at, weights=flags.astype(np.float64), minlength=len(groups))
    return {int(g): int(c) for g, c in zip(groups, counts, strict=True)}


@dataclass
class Row:
    """Counts of one unit (a township, a school, a whole area), suppressed for aggregate logins."""

    key: Any
    name: str
    children: int | str = 0
    gap: int | str = 0  # nearest school (or boarding) beyond the norm
    by_grade: list[int | str] = field(default_factory=list)  # gap, grades 1-9
    by_key_group: list[int | str] = field(default_factory=list)  # gap, KEY_GROUPS order
    key_group_gap: int | str = 0  # gap among children of any key group
    roll_beyond: int | str = 0  # own school beyond the norm
    off_network: int | str = 0
    unreachable: int | str = 0
    not_on_roll: int | str = 0

    @property
    def share(self) -> float | None:
        if isinstance(self.children, int) and isinstance(self.gap, int) and self.children:
            return self.gap / self.children
        return None


def _row(key: Any, name: str, cov: Coverage, mask: NDArray[np.bool_], scope: access.Scope) -> Row:
    gap = cov.gap & mask
    any_kg = np.zeros(len(cov), dtype=bool)
    for f in KEY_GROUPS:
        any_kg |= cov.key_groups[f]

    def s(n: Any) -> int | str:
        return access.suppress(int(n), scope)

    return Row(
        key=key, name=name, children=s(mask.sum()), gap=s(gap.sum()),
        by_grade=[s((gap & (cov.grade == g)).sum()) for g in range(1, 10)],
        by_key_group=[s((gap & cov.key_groups[f]).sum()) for f in KEY_GROUPS],
        key_group_gap=s((gap & any_kg).sum()), roll_beyond=s((cov.roll_beyond & mask).sum()),
        off_network=s((cov.off_network & mask).sum()), unreachable=s((cov.unreachable & mask).sum()),
        not_on_roll=s((~cov.on_roll & mask).sum()))


def protected(user: Any, cov: Coverage) -> Any:
    """The county's protected figures for an aggregate-only login (gaps.disclosure), else None (and
    for an area of another county than the login's, as gridmap.published does: "<5" alone)."""
    from gaps import compute, disclosure

    if access.scope_of(user).individual_children:
        return None
    published = access.published_figures(user)
    if published is None or not cov.area_code.startswith(published.county):
        return None
    cached = getattr(user, "_gridmap_gap_figures", None)  # one look-up per request
    if cached is None:
        cached = disclosure.figures_for(user, compute.compute)
        user._gridmap_gap_figures = cached
    return cached


def published_row(figures: Any, unit: str, key: Any, name: str, school: bool = False) -> Row:
    """A row as an aggregate-only login reads it: every count from the one decision."""
    g = figures.get
    return Row(key=key, name=name, children=g(unit, "children"), gap=g(unit, "gap"),
               by_grade=[g(unit, f"g{i}") for i in range(1, 10)],
               by_key_group=[g(unit, f"kg:{f}") for f in KEY_GROUPS], key_group_gap=g(unit, "kg"),
               roll_beyond=g(unit, "gap" if school else "roll_beyond"), off_network=g(unit, "off"),
               unreachable=g(unit, "unreach"), not_on_roll=0 if school else g(unit, "unrolled"))


def total(user: Any, cov: Coverage, name: str) -> Row:
    figures = protected(user, cov)
    if figures is not None:
        return published_row(figures, cov.area_code, "total", name)
    return _row("total", name, cov, countable(user, cov), access.scope_of(user))


def by_township(user: Any, cov: Coverage) -> list[Row]:
    """Per township of the area (by the children's registered village group)."""
    figures = protected(user, cov)
    if figures is not None:
        return [published_row(figures, code, code, name) for code, name in Area.objects.filter(
            code__startswith=cov.area_code, level=AreaLevel.TOWNSHIP).order_by("code").values_list("code", "name")]
    mask = countable(user, cov)
    scope = access.scope_of(user)
    groups = dict(Area.objects.filter(pk__in=set(cov.group_id.tolist())).values_list("pk", "code"))
    township_code = np.array([groups[int(g)][:9] for g in cov.group_id], dtype=object)
    names = dict(Area.objects.filter(code__in=set(township_code.tolist()), level=AreaLevel.TOWNSHIP)
                 .values_list("code", "name"))
    return [_row(code, names.get(code, code), cov, mask & (township_code == code), scope)
            for code in sorted(names)]


def by_school(user: Any, cov: Coverage) -> list[Row]:
    """Per school the area's children are on the roll of (own trips), for the schools the login sees.
    Aggregate-only logins read the county's school table only (gaps.disclosure)."""
    figures = protected(user, cov)
    if figures is not None:
        if cov.area_code != figures.county:
            return []
        pks = sorted((int(p) for p in np.unique(cov.roll_school) if p >= 0), key=lambda p: cov.schools[p].code)
        from gaps.disclosure import school_unit

        return [published_row(figures, school_unit(pk), pk, cov.schools[pk].name, school=True) for pk in pks]
    mask = countable(user, cov)
    scope = access.scope_of(user)
    seen = set(access.visible_schools(user).filter(pk__in=[int(p) for p in np.unique(cov.roll_school)
                                                           if p >= 0]).values_list("pk", flat=True))
    rows = []
    for pk in sorted(seen, key=lambda p: cov.schools[p].code):
        on = mask & (cov.roll_school == pk)
        row = _row(pk, cov.schools[pk].name, cov, on, scope)
        # for a school, "beyond" is its own pupils' way to it
        beyond = cov.roll_beyond & on
        row.gap = access.suppress(int(beyond.sum()), scope)
        row.by_grade = [access.suppress(int((beyond & (cov.grade == g)).sum()), scope) for g in range(1, 10)]
        row.by_key_group = [access.suppress(int((beyond & cov.key_groups[f]).sum()), scope) for f in KEY_GROUPS]
        any_kg = np.zeros(len(cov), dtype=bool)
        for f in KEY_GROUPS:
            any_kg |= cov.key_groups[f]
        row.key_group_gap = access.suppress(int((beyond & any_kg).sum()), scope)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Trip:
    index: int  # row of the result
    child_id: int
    name: str
    group: str
    grade: int
    limit: int  # minutes
    nearest_school: str
    nearest_min: float | None
    nearest_km: float | None
    roll_school: str
    roll_min: float | None
    off_network: bool


def slowest(user: Any, cov: Coverage, n: int = SLOWEST) -> list[Trip]:
    """The children of the area (that this login may see) whose best possible way by road is the
    longest. Homes off the network or with no road to a school have no way to draw: they are
    counted in the totals and drawn on the map instead."""
    mask = visible(user, cov) & cov.gap & np.isfinite(cov.nearest_s)
    idx = np.flatnonzero(mask)
    if not len(idx):
        return []
    idx = idx[np.argsort(-cov.nearest_s[idx], kind="stable")][:n]
    ids = [int(cov.child_id[i]) for i in idx]
    info = {c["pk"]: c for c in Child.objects.filter(pk__in=ids).values("pk", "name", "group__name",
                                                                          "group__parent__name")}
    limits = cov.limit_minutes()
    out = []
    for i in idx:
        c = info[int(cov.child_id[i])]
        near, roll = cov.nearest_school[i], cov.roll_school[i]
        out.append(Trip(
            int(i), int(cov.child_id[i]), c["name"], f"{c['group__parent__name']}{c['group__name']}", int(cov.grade[i]),
            int(limits[i]), cov.schools[int(near)].name if near >= 0 else "",
            round(float(cov.nearest_s[i]) / 60, 1) if np.isfinite(cov.nearest_s[i]) else None,
            round(float(cov.nearest_m[i]) / 1000, 2) if np.isfinite(cov.nearest_m[i]) else None,
            cov.schools[int(roll)].name if roll >= 0 else "",
            round(float(cov.roll_s[i]) / 60, 1) if np.isfinite(cov.roll_s[i]) else None,
            bool(cov.off_network[i])))
    return out


def child_row(user: Any, cov: Coverage, child_id: int) -> int | None:
    """The result row of a child this login may see, else None."""
    hit = np.flatnonzero(cov.child_id == child_id)
    if not len(hit) or not access.visible_children(user).filter(Q(pk=child_id)).exists():
        return None
    return int(hit[0])

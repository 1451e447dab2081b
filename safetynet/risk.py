"""Early warning (辍学预警): who to visit first, with every child's reasons shown.

The list holds the children still in school or on their way to another (the ones a visit can keep
there): of school age on the day, with status 在校, 劝返复学, 随班就读 or 休学, and those transferred out
whose transfer is not complete. Children already suspected or dropped out are on the ledgers and
followed as cases, not here.

Each factor the county plans name adds points (GRIDMAP_RISK_WEIGHTS, transparent and set by the
bureau; README "Calibrating the early-warning weights"):

    absence_day     per unexcused absence day in the last GRIDMAP_RISK_ABSENCE_WINDOW days (default 28),
                    at most GRIDMAP_RISK_ABSENCE_CAP days (default 5) counted
    past_suspected  once on the suspected or the dropout ledger before (a past episode)
    key_grade       due in a key grade: primary 6, junior 8 or 9 (31 August rule)
    key_group       in any key group (重点人群)
    aid_gap         eligible for aid and no aid this term (gridmap.aid)
    long_way        the way to school is beyond the norm of the grade: to the school of the child's roll,
                    or, on no roll, to the nearest school teaching the grade — as the travel-time engine
                    measures it for the coverage gaps (gaps.compute, the same computation, not another)
    transfer        transferred out and not arrived (gridmap.transfers)

score = Σ weight × value (value 0/1, or the days counted for absence_day). Order (the documented rule):
highest score first; then more unexcused days; then more factors; then the higher due grade; then the
child's ledger number (id), so that the same data always give the same list. Children with no factor
(score 0) are not listed. The weights are a starting point, not a prediction: the demo county's data
is generated and cannot tell how well any weighting predicts dropping out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gaps import compute as coverage
from gridmap import access, aid, schooling, transfers
from gridmap.models import (
    KEY_GROUPS,
    Absence,
    Area,
    AreaLevel,
    Child,
    ChildStatus,
    ChildStatusChange,
    School,
    Transfer,
)
from gridmap.models.areas import CODE_LENGTH

S = ChildStatus
WATCHED = [S.ENROLLED, S.RETURNED, S.INCLUDED, S.SUSPENDED]
DEFAULT_WEIGHTS = "absence_day=2,past_suspected=4,key_grade=1,key_group=2,aid_gap=3,long_way=2,transfer=5"
FACTORS = {
    "absence_day": gettext_lazy("unexcused absence"),
    "past_suspected": gettext_lazy("suspected before"),
    "key_grade": gettext_lazy("key grade"),
    "key_group": gettext_lazy("key group"),
    "aid_gap": gettext_lazy("no aid while eligible"),
    "long_way": gettext_lazy("long way to school"),
    "transfer": gettext_lazy("transfer not arrived"),
}
TOWNSHIP = CODE_LENGTH[AreaLevel.TOWNSHIP]


def weights() -> dict[str, float]:
    """Points per factor from GRIDMAP_RISK_WEIGHTS (a factor not named keeps its default)."""
    out = {k: float(v) for k, v in (p.split("=") for p in DEFAULT_WEIGHTS.split(","))}
    text = getattr(settings, "GRIDMAP_RISK_WEIGHTS", DEFAULT_WEIGHTS) or DEFAULT_WEIGHTS
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in FACTORS:
            raise ValueError(f"{part!r}: name=points with a name among {', '.join(FACTORS)}")
        try:
            points = float(value)
        except ValueError:
            raise ValueError(f"{part!r}: the points must be a number") from None
        if not 0 <= points <= 1000 or points != points:
            raise ValueError(f"{part!r}: points from 0 to 1000")
        out[key] = points
    return out


def window() -> int:
    return int(getattr(settings, "GRIDMAP_RISK_ABSENCE_WINDOW", 28))


def cap() -> int:
    return int(getattr(settings, "GRIDMAP_RISK_ABSENCE_CAP", 5))


@dataclass
class Factor:
    key: str
    label: str
    detail: str
    value: float  # 1, or the days counted
    points: float


@dataclass
class RiskRow:
    child_id: int
    name: str
    id_masked: str
    village: str
    group: str
    group_code: str
    school: str
    school_id: int | None
    grade: int
    status: str
    factors: list[Factor] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(f.points for f in self.factors), 2)

    @property
    def absences(self) -> float:
        return next((f.value for f in self.factors if f.key == "absence_day"), 0)

    def sort_key(self) -> tuple[float, float, int, int, int]:
        """The documented order: score, unexcused days, number of factors, due grade (all descending),
        then the child's id."""
        return (-self.score, -self.absences, -len(self.factors), -self.grade, self.child_id)


def population(children: QuerySet[Child], on: date) -> QuerySet[Child]:
    """The children the list considers (see the module docstring), by their status on the day: the
    current one for today, the status history's for a past day (a bureau calibrating the weights
    recomputes the list of past days; the key-group flags are those of now)."""
    moving = transfers.open_on(Transfer.objects.all(), on).values("child")
    rows = children.school_age_on(on)  # type: ignore[attr-defined]
    if on < timezone.localdate():
        latest = ChildStatusChange.objects.filter(child=OuterRef("pk"), date__lte=on).order_by(
            "-date", "-recorded_at", "-pk").values("to_status")[:1]
        rows = rows.annotate(status_then=Subquery(latest))
        field = "status_then"
    else:
        field = "status"
    return rows.filter(  # type: ignore[no-any-return]
        Q(**{f"{field}__in": WATCHED}) | Q(**{field: S.TRANSFERRED_OUT}, pk__in=moving))


def assess(children: QuerySet[Child], on: date, ways: Iterable[coverage.Coverage] = ()) -> list[RiskRow]:
    """Every child of the (already scoped) queryset with its factors, in the documented order."""
    w = weights()
    chosen = population(children, on)
    fields = list(KEY_GROUPS)
    rows = list(chosen.annotate(
        eligible=ExpressionWrapper(aid.eligible_q(), output_field=BooleanField()), aided=aid.aided_q(on),
    ).values_list("pk", "name", "id_masked", "group__parent__name", "group__name", "group__code", "birth_date",
                  "status_then" if on < timezone.localdate() else "status", "school_class__school__name",
                  "school_class__school_id", "eligible", "aided", *fields)
        .order_by("pk"))
    ids = [r[0] for r in rows]
    since = on - timedelta(days=window())
    absent = dict(Absence.objects.filter(child__in=ids, excused=False, date__gt=since, date__lte=on)
                  .values_list("child").annotate(n=Count("pk")))
    before = dict(ChildStatusChange.objects.filter(child__in=ids, to_status__in=[S.SUSPECTED, S.DROPPED_OUT], date__lte=on)
                  .values_list("child").annotate(last=Max("date")))
    moving = {t.child_id: t for t in transfers.open_on(Transfer.objects.filter(child__in=[
        r[0] for r in rows if r[7] == S.TRANSFERRED_OUT]), on).select_related("to_school")}
    far = _long_ways(ways)
    statuses = dict(S.choices)
    out = []
    for pk, name, masked, village, group, group_code, born, status, school, school_id, eligible, aided, *flags in rows:
        grade = schooling.expected_grade(born, on)
        row = RiskRow(pk, name, masked, village or "", group, group_code, school or "", school_id, grade,
                      str(statuses.get(status, status)))
        days = min(absent.get(pk, 0), cap())
        if days:
            row.factors.append(Factor("absence_day", str(FACTORS["absence_day"]),
                                      _("%(n)s days in the last %(w)s days") % {"n": absent[pk], "w": window()},
                                      days, days * w["absence_day"]))
        if pk in before:
            row.factors.append(_one("past_suspected", _("last entered %(d)s") % {"d": before[pk].isoformat()}, w))
        if grade in schooling.KEY_GRADES:
            row.factors.append(_one("key_grade", _("grade %(g)s") % {"g": grade}, w))
        groups = [str(KEY_GROUPS[f]) for f, on_ in zip(fields, flags, strict=True) if on_]
        if groups:
            row.factors.append(_one("key_group", "、".join(groups), w))
        if eligible and not aided:
            row.factors.append(_one("aid_gap", aid.term_label(*aid.term_of(on)), w))
        if pk in far:
            row.factors.append(_one("long_way", far[pk], w))
        if pk in moving:
            t = moving[pk]
            late = transfers.is_late(t, on)
            row.factors.append(_one("transfer", (_("out %(n)s days, not arrived (流转未到)") if late
                                                 else _("out %(n)s days, in transit")) % {"n": (on - t.date).days}, w))
        if row.factors and row.score > 0:
            out.append(row)
    return sorted(out, key=RiskRow.sort_key)


def _one(key: str, detail: str, w: dict[str, float]) -> Factor:
    return Factor(key, str(FACTORS[key]), detail, 1, w[key])


def _long_ways(ways: Iterable[coverage.Coverage]) -> dict[int, str]:
    """Children whose way to school is beyond the norm, with the minutes: to their own school when on
    a roll, else to the nearest school teaching their grade (gaps.compute)."""
    out: dict[int, str] = {}
    for cov in ways:
        if not len(cov):
            continue
        limits = cov.limit_minutes()
        beyond = np.where(cov.on_roll, cov.roll_beyond, cov.gap)
        for i in np.flatnonzero(beyond):
            own = bool(cov.on_roll[i])
            seconds = cov.roll_s[i] if own else cov.nearest_s[i]
            if cov.off_network[i]:
                text = _("home off the road network")
            elif not np.isfinite(seconds):
                text = _("no school teaching the grade reachable by road")
            else:
                text = (_("%(m)s min to own school, norm %(lim)s") if own else
                        _("%(m)s min to the nearest school, norm %(lim)s")) % {
                    "m": round(float(seconds) / 60), "lim": int(limits[i])}
            out[int(cov.child_id[i])] = text
    return out


def ways_for(area: Area | None, children: QuerySet[Child], on: date) -> list[coverage.Coverage]:
    """The coverage computations that hold these children: the area's own, or one per township of
    the children (a school's pupils may live in several)."""
    if area is not None and area.level in (AreaLevel.COUNTY, AreaLevel.TOWNSHIP):
        return [coverage.compute(area, on)]
    codes = sorted({c[:TOWNSHIP] for c in children.values_list("group__code", flat=True).distinct()})
    return [coverage.compute(t, on) for t in Area.objects.filter(code__in=codes, level=AreaLevel.TOWNSHIP)]


def children_of(user: Any, area: Area | None = None, school: School | None = None) -> QuerySet[Child]:
    """The children of the list for this login: of the area, or the school's (its roll, and those who
    left it on a transfer not yet complete). All of them for logins that see aggregates only."""
    base = access.countable_children(user)
    if school is not None:
        return base.filter(Q(school_class__school=school) | Q(pk__in=Transfer.objects.filter(
            from_school=school, completed_on__isnull=True).values("child")))
    assert area is not None
    return base.filter(group__code__startswith=area.code)


def risk_list(user: Any, on: date, area: Area | None = None, school: School | None = None) -> list[RiskRow]:
    children = children_of(user, area, school)
    return assess(children, on, ways_for(area, children, on))



HEADERS = ["排序", "分值", "姓名", "身份证号", "行政村", "村民小组", "学校", "应读年级", "状态", "预警因素"]


def table_rows(rows: list[RiskRow]) -> Iterable[list[Any]]:
    for i, r in enumerate(rows, start=1):
        yield [i, r.score, r.name, r.id_masked, r.village, r.group, r.school, r.grade, r.status,
               "；".join(f"{f.label}（{f.detail}）+{f.points:g}" for f in r.factors)]

"""The 应助尽助 check: eligible children without aid this term, per school and per township.

One definition with the monthly report (gridmap.reports): children on the school-age ledger on the
day (31 August rule, history begun, not transferred out) in an aid-eligible key group (gridmap.aid),
aided when an aid record of the day's term was granted on or before it. A township's rows are its
schools (children attached to a school as the report attaches them: open dropout case, else roll, else
send-teaching-home plan; rows for other townships' schools and for no school), the county's rows its
townships. Counted over the children the login may count (gridmap.access); logins that see aggregates
only get counts with 1-4 as "<5" and no list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Max, Q, QuerySet

from gridmap import access, aid, reports, schooling
from gridmap.models import KEY_GROUPS, AidRecord, Area, AreaLevel, Child, ChildStatus, School, SchoolStatus
from gridmap.models.areas import CODE_LENGTH

TOWNSHIP = CODE_LENGTH[AreaLevel.TOWNSHIP]


@dataclass
class AidRow:
    """Counts of one unit, as the login may read them."""

    key: Any
    name: str
    code: str
    eligible: int | str
    aided: int | str
    gap: int | str
    coverage: float | str | None  # per cent; None when no one is eligible, "*" when it would show a hidden count

    @classmethod
    def of(cls, key: Any, name: str, code: str, rows: Iterable[reports.ChildThen], scope: access.Scope) -> AidRow:
        eligible = [c for c in rows if c.eligible]
        n, aided = len(eligible), sum(c.aided for c in eligible)
        shown = [access.suppress(v, scope) for v in (n, aided, n - aided)]
        whole = all(isinstance(v, int) for v in shown)
        return cls(key, name, code, shown[0], shown[1], shown[2], round(100 * aided / n, 2) if n and whole else None)


@dataclass
class GapChild:
    """An eligible child without aid this term, with what the list shows."""

    pk: int
    name: str
    id_masked: str
    village: str
    group: str
    school: str
    grade: int
    status: str
    groups: list[str]  # the child's aid-eligible key groups
    last_aid: str  # the last aid before this term, if any


@dataclass
class AidCheck:
    area: Area | None
    school: School | None
    on: date
    term: tuple[int, str]
    rows: list[AidRow]
    total: AidRow
    gaps: list[GapChild] | None  # None: this login sees aggregates only
    eligible_groups: list[str] = field(default_factory=list)

    @property
    def term_label(self) -> str:
        return aid.term_label(*self.term)


def _children(user: Any, area: Area | None, school: School | None) -> QuerySet[Child]:
    """The eligible children counted for this login (in the area, or attached to the school)."""
    children = access.countable_children(user).filter(aid.eligible_q())
    if area is not None:
        return children.filter(group__code__startswith=area.code)
    assert school is not None
    return children


def check(user: Any, on: date, area: Area | None = None, school: School | None = None) -> AidCheck:
    """The check of an area (county, township, village) or of a school, as this login may read it."""
    scope = access.scope_of(user)
    if not scope.individual_children:
        return _published(user, on, area, school)
    rows_then = reports.school_age_then(reports.snapshot(_children(user, area, school), on), on)
    if school is not None:
        mine = [c for c in rows_then if c.school_id == school.pk]
        rows = [AidRow.of(school.pk, school.name, school.code, mine, scope)]
        total = rows[0]
    else:
        assert area is not None
        mine = rows_then
        rows = _unit_rows(area, rows_then, scope)
        total = AidRow.of("total", area.name, area.code, rows_then, scope)
    gaps = _gap_list([c for c in mine if c.eligible and not c.aided], on) if scope.individual_children else None
    return AidCheck(area, school, on, aid.term_of(on), rows, total, gaps, aid.eligible_labels())


def _unit_rows(area: Area, rows: list[reports.ChildThen], scope: access.Scope) -> list[AidRow]:
    if area.level == AreaLevel.COUNTY:
        townships = Area.objects.filter(parent=area).order_by("code")
        return [AidRow.of(t.code, t.name, t.code, [c for c in rows if c.group_code.startswith(t.code)], scope)
                for t in townships]
    township_code = area.code[:TOWNSHIP]
    schools = list(School.objects.filter(township__code=township_code).exclude(status=SchoolStatus.CLOSED)
                   .order_by("kind", "code"))
    own = {s.pk for s in schools}
    out = [AidRow.of(s.pk, s.name, s.code, [c for c in rows if c.school_id == s.pk], scope) for s in schools]
    others = [c for c in rows if c.school_id is not None and c.school_id not in own]
    unattached = [c for c in rows if c.school_id is None]
    for key, label, extra in ((reports.Unit.OTHER_SCHOOLS, reports.OTHER_SCHOOLS_LABEL, others),
                              (reports.Unit.NO_SCHOOL, reports.NO_SCHOOL_LABEL, unattached)):
        if any(c.eligible for c in extra):
            out.append(AidRow.of(key, label, "", extra, scope))
    return [r for r in out if r.eligible != 0 or r.key in own]


def _gap_list(children: list[reports.ChildThen], on: date) -> list[GapChild]:
    ids = [c.pk for c in children]
    school_of = {c.pk: c.school_id for c in children}
    schools = dict(School.objects.filter(pk__in={s for s in school_of.values() if s}).values_list("pk", "name"))
    year, term = aid.term_of(on)
    last = dict(AidRecord.objects.filter(child__in=ids).filter(Q(school_year__lt=year) | Q(school_year=year, term__lt=term))
                .values_list("child").annotate(last=Max("date")))
    fields = aid.eligible_fields()
    labels = dict(ChildStatus.choices)
    rows = (Child.objects.filter(pk__in=ids)
            .values_list("pk", "name", "id_masked", "group__parent__name", "group__name", "birth_date", "status",
                         *fields).order_by("group__code", "name", "pk"))
    out = []
    for pk, name, masked, village, group, born, status, *flags in rows:
        before = last.get(pk)
        out.append(GapChild(pk, name, masked, village or "", group, schools.get(school_of[pk] or 0, ""),
                            schooling.expected_grade(born, on), str(labels.get(status, status)),
                            [str(KEY_GROUPS[f]) for f, on_ in zip(fields, flags, strict=True) if on_],
                            before.isoformat() if before else ""))
    return out


HEADERS = ["单位", "代码", "应助人数", "已资助", "应助未助", "资助覆盖率(%)"]
GAP_HEADERS = ["行政村", "村民小组", "姓名", "身份证号", "学校", "应读年级", "状态", "资助对象类别", "上次资助日期"]


def table_rows(result: AidCheck) -> Iterator[list[Any]]:
    for r in [*result.rows, result.total] if result.rows != [result.total] else [result.total]:
        yield [r.name, r.code, r.eligible, r.aided, r.gap, "" if r.coverage is None else r.coverage]


def gap_rows(result: AidCheck) -> Iterator[list[Any]]:
    for g in result.gaps or []:
        yield [g.village, g.group, g.name, g.id_masked, g.school, g.grade, g.status, "、".join(g.groups), g.last_aid]


def _published(user: Any, on: date, area: Area | None, school: School | None) -> AidCheck:
    """For logins that see aggregates only: the rows of the month's protected decision
    (gridmap.published) — the monthly report's 应助人数/应助未助 of the county's townships or a township's
    school rows, shown as that decision shows them everywhere, so that no page gives away what another
    hides. Villages are not in the decision: nothing is published per village."""
    from gridmap import published as protected

    figures = access.published_figures(user, f"{on:%Y-%m}")

    def row(code: str) -> AidRow:
        unit = figures.units[code]
        name, shown = unit.name, unit.figures.code if unit.figures is not None else code
        return AidRow(code, name, shown, figures.get(code, "aid_eligible"), figures.get(code, "aid_aided"),
                      figures.get(code, "aid_gap"), figures.rate(code, "aid_coverage"))

    rows: list[AidRow] = []
    if figures is not None and school is not None:
        key = protected.school_key(school.township.code, school.code)
        rows = [row(key)] if key in figures.units else []
        total = rows[0] if rows else AidRow("total", school.name, school.code, "—", "—", "—", None)
    elif figures is not None and area is not None and area.code in figures.units:
        codes = figures.rows_of(area.code)
        rows, total = [row(c) for c in codes[:-1]], row(codes[-1])
    else:
        total = AidRow("total", area.name if area else "", area.code if area else "", "—", "—", "—", None)
    return AidCheck(area, school, on, aid.term_of(on), rows, total, None, aid.eligible_labels())

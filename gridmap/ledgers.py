"""The three ledgers (三本台账) and the only way a child's status changes: an action with a date, a
person and a reason, kept in ChildStatusChange (never an edited field).

- school-age children ledger: every child aged 6-15 on the date (31 August rule, computed);
- suspected dropout ledger: status 疑似辍学;
- dropout ledger: status 辍学 (each with a case).
A child has one status, so it is never on the suspected and the dropout ledger at once.

Absences: more than 3 consecutive school days without reason put the child on the suspected
ledger the same day (the 4th day); weekends and calendar holidays are not school days.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from gridmap import audit, schooling
from gridmap.models import (
    Absence,
    AuditAction,
    CalendarDay,
    Child,
    ChildStatus,
    ChildStatusChange,
    Person,
    Responsibility,
    Role,
)

S = ChildStatus
# Which status may follow which (DESIGN.md's statuses; 劝返复学 only by closing a case).
TRANSITIONS: dict[str, set[str]] = {
    S.ENROLLED: {S.SUSPECTED, S.TRANSFERRED_OUT, S.HOME_TAUGHT, S.INCLUDED, S.SUSPENDED, S.GRADUATED},
    S.SUSPECTED: {S.ENROLLED, S.DROPPED_OUT, S.TRANSFERRED_OUT},
    S.DROPPED_OUT: {S.RETURNED, S.TRANSFERRED_OUT},
    S.RETURNED: {S.ENROLLED, S.SUSPECTED, S.TRANSFERRED_OUT, S.SUSPENDED, S.GRADUATED},
    S.HOME_TAUGHT: {S.ENROLLED, S.INCLUDED, S.TRANSFERRED_OUT, S.GRADUATED},
    S.INCLUDED: {S.SUSPECTED, S.HOME_TAUGHT, S.TRANSFERRED_OUT, S.SUSPENDED, S.GRADUATED},
    S.SUSPENDED: {S.ENROLLED, S.SUSPECTED, S.DROPPED_OUT},
    # transferred back in; or a transfer that never arrived (流转未到, gridmap.transfers): whereabouts unknown
    S.TRANSFERRED_OUT: {S.ENROLLED, S.SUSPECTED},
    S.GRADUATED: set(),
}
IN_SCHOOL = [S.ENROLLED, S.RETURNED, S.INCLUDED, S.HOME_TAUGHT]  # receiving compulsory education
ABSENCE_LIMIT = 3  # "more than 3 consecutive school days without reason"


class StatusChangeError(ValueError):
    pass


class Ledger(StrEnum):
    SCHOOL_AGE = "school_age"
    SUSPECTED = "suspected"
    DROPPED_OUT = "dropped_out"


LEDGER_TITLES = {
    Ledger.SCHOOL_AGE: _("school-age children ledger"),
    Ledger.SUSPECTED: _("suspected dropout ledger"),
    Ledger.DROPPED_OUT: _("dropout ledger"),
}


def ledger(children: QuerySet[Child], which: Ledger, on: date) -> QuerySet[Child]:
    """The children of a ledger on a date, from a (scoped) queryset."""
    school_age = children.school_age_on(on)  # type: ignore[attr-defined]
    if which == Ledger.SCHOOL_AGE:
        return school_age  # type: ignore[no-any-return]
    return school_age.filter(status=S.SUSPECTED if which == Ledger.SUSPECTED else S.DROPPED_OUT)  # type: ignore[no-any-return]


def ledgers_of(child: Child, on: date) -> set[Ledger]:
    if not child.is_school_age(on):
        return set()
    out = {Ledger.SCHOOL_AGE}
    if child.status == S.SUSPECTED:
        out.add(Ledger.SUSPECTED)
    elif child.status == S.DROPPED_OUT:
        out.add(Ledger.DROPPED_OUT)
    return out


@transaction.atomic
def change_status(child: Child, to: str, on: date, by: Any, reason: str, destination: str = "",
                  until: date | None = None, request: Any = None, audited: bool = True) -> ChildStatusChange:
    """The one way a status changes. Checks the transition and what it needs, keeps the history.
    `audited=False` only for the demo county's generated history (no one did it)."""
    child = Child.objects.select_for_update().get(pk=child.pk)
    if to not in TRANSITIONS[child.status]:
        raise StatusChangeError(f"{S(child.status).label} → {S(to).label} 不是允许的状态变更")
    if not reason.strip():
        raise StatusChangeError("状态变更须写明原因")
    if to == S.TRANSFERRED_OUT and not destination.strip():
        raise StatusChangeError("转出须写明转入学校或去向")
    if to == S.SUSPENDED and (until is None or until <= on):
        raise StatusChangeError("休学须写明休学截止日期（晚于休学日期）")
    last = child.status_history.order_by("-date", "-recorded_at").first()
    if last is not None and on < last.date:
        raise StatusChangeError(f"变更日期 {on} 早于上一次变更（{last.date}）")
    change = ChildStatusChange.objects.create(
        child=child, date=on, from_status=child.status, to_status=to,
        changed_by=by if getattr(by, "is_authenticated", False) else None, reason=reason.strip(),
        destination=destination.strip(), until=until)
    before = child.status
    child.status = to
    child.save(update_fields=["status"])
    if audited:
        audit.record(request, AuditAction.CHANGE, child, user=by,
                     summary=f"状态变更 {child.id_masked}：{S(before).label} → {S(to).label}",
                     before={"status": before}, after={"status": to, "date": on.isoformat(), "reason": reason})
    return change


# --- the school calendar and the 3-day rule -----------------------------------------------------

def school_days(start: date, end: date) -> list[date]:
    """School days from start to end inclusive: Monday-Friday unless the calendar says otherwise."""
    exceptions = dict(CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "school_day"))
    days, day = [], start
    while day <= end:
        if exceptions.get(day, day.weekday() < 5):
            days.append(day)
        day += timedelta(days=1)
    return days


def consecutive_unexcused(child: Child, on: date, look_back_days: int = 40) -> list[date]:
    """The run of school days up to `on` on which the child was absent without reason."""
    days = school_days(on - timedelta(days=look_back_days), on)
    unexcused = set(child.absences.filter(date__in=days, excused=False).values_list("date", flat=True))
    run: list[date] = []
    for day in reversed(days):
        if day not in unexcused:
            break
        run.append(day)
    return list(reversed(run))


@transaction.atomic
def record_absence(child: Child, on: date, by: Any, excused: bool = False, reason: str = "",
                   request: Any = None) -> ChildStatusChange | None:
    """Record a day's absence; on the 4th consecutive school day without reason the child goes
    on the suspected ledger the same day. Returns that status change, if any."""
    if on not in school_days(on, on):
        raise StatusChangeError(f"{on} 不是上学日")
    Absence.objects.update_or_create(child=child, date=on, defaults={
        "excused": excused, "reason": reason, "recorded_by": by if getattr(by, "is_authenticated", False) else None})
    run = consecutive_unexcused(child, on)
    child.refresh_from_db(fields=["status"])
    if len(run) > ABSENCE_LIMIT and S.SUSPECTED in TRANSITIONS[child.status] and child.status != S.SUSPECTED:
        return change_status(child, S.SUSPECTED, on, by,
                             f"连续{len(run)}个上学日无故缺勤（{run[0]:%m月%d日}起）", request=request)
    return None


@dataclass
class EscalationStep:
    day: int
    who: str  # the duty: 班主任 / 中层干部 / 学校领导
    person: Person | None
    due: date
    reached: bool


def escalation(child: Child, on: date, run: list[date] | None = None) -> list[EscalationStep]:
    """Who visits on days 1, 2, 3 of an unexcused absence run (head teacher, middle-level leader,
    school leader), with the named person where gridmap knows one. `run`: the child's run up to
    `on`, if the caller has it already."""
    run = consecutive_unexcused(child, on) if run is None else run
    if not run:
        return []
    school_class = child.school_class
    head = principal = None
    if school_class is not None:
        row = Responsibility.objects.filter(role=Role.HEAD_TEACHER, school_class=school_class,
                                            end_date__isnull=True).select_related("person").first()
        head = row.person if row else None
        row = Responsibility.objects.filter(role=Role.PRINCIPAL, school=school_class.school_id,
                                            end_date__isnull=True).select_related("person").first()
        principal = row.person if row else None
    middle = (Person.objects.filter(school=school_class.school_id, title__contains="主任").first()
              if school_class is not None else None)
    duties = [(1, "班主任家访", head), (2, "中层干部家访", middle), (3, "学校领导家访", principal)]
    return [EscalationStep(day, who, person, run[day - 1] if day <= len(run) else _next_school_day(run[-1], day - len(run)),
                           day <= len(run)) for day, who, person in duties]


def _next_school_day(after: date, n: int) -> date:
    days = school_days(after + timedelta(days=1), after + timedelta(days=14 + 2 * n))
    return days[n - 1]


# --- 人籍一致: the school roll against the registry line -------------------------------------------

def discrepancies(children: QuerySet[Child], on: date) -> dict[str, QuerySet[Child]]:
    """Children the two lines disagree about, from a (scoped) queryset of children:
    - in school but on no roll: status says in school, yet no class and not taught at home;
    - on a roll but not school age by the registry (the ledger would miss them);
    - in a village group that no school's catchment covers."""
    from gridmap.models import CatchmentAssignment

    school_age = children.school_age_on(on)  # type: ignore[attr-defined]
    covered = CatchmentAssignment.objects.filter(area=OuterRef("group"))
    return {
        "no_roll": school_age.filter(status__in=[S.ENROLLED, S.RETURNED, S.INCLUDED], school_class__isnull=True),
        "roll_not_school_age": children.filter(school_class__isnull=False).exclude(
            pk__in=school_age.values("pk")).exclude(status__in=[S.GRADUATED, S.TRANSFERRED_OUT]),
        "no_catchment": school_age.filter(~Exists(covered)),
    }


DISCREPANCY_TITLES = {
    "no_roll": _("in school by status, but on no school's roll"),
    "roll_not_school_age": _("on a school's roll, but not of school age by the registry"),
    "no_catchment": _("living in a village group that no school serves"),
}


# --- ledger pages and exports ----------------------------------------------------------------------

def filtered(children: QuerySet[Child], which: Ledger, on: date, status: str = "", key_group: str = "",
             grade: int | None = None, age: int | None = None, school: str = "") -> QuerySet[Child]:
    """A ledger narrowed by the page's filters; grade and age are computed from the birth date."""
    from gridmap.models import KEY_GROUPS

    rows = ledger(children, which, on)
    if status:
        rows = rows.filter(status=status)
    if key_group in KEY_GROUPS:
        rows = rows.filter(**{key_group: True})
    if grade is not None:  # expected grade by the 31 August rule
        rows = rows.filter(birth_date__range=schooling.grade_birth_range(grade, on))
    if age is not None:  # full years on the day
        rows = rows.filter(birth_date__gt=_years_before(on, age + 1), birth_date__lte=_years_before(on, age))
    if school:
        rows = rows.filter(school_class__school__code=school)
    last_change = (ChildStatusChange.objects.filter(child=OuterRef("pk")).order_by("-date", "-recorded_at", "-pk"))
    return (rows.select_related("group__parent", "household", "school_class__school")
            .annotate(status_since=Subquery(last_change.values("date")[:1]),
                      status_reason=Subquery(last_change.values("reason")[:1]))
            .order_by("group__code", "household__number", "name"))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


LEDGER_HEADERS = ["行政村", "村民小组", "户号", "姓名", "性别", "身份证号", "出生日期", "应读年级", "学校", "年级",
                  "状态", "状态日期", "原因", "重点人群"]
LEDGER_WIDTHS = [14, 12, 6, 8, 5, 20, 11, 8, 22, 6, 10, 11, 24, 20]


# One query gives every column of a ledger row (values, not models: a model per row would parse the
# group's and village's boundaries and the child's home point for nothing).
LEDGER_COLUMNS = ("pk", "group__parent__name", "group__name", "household__number", "name", "sex", "id_masked",
                  "birth_date", "school_class__school__name", "school_class__grade", "status", "status_since",
                  "status_reason")


def ledger_values(children: QuerySet[Child]) -> QuerySet[Any]:
    """A (filtered) ledger's rows as tuples: LEDGER_COLUMNS, then the key-group flags."""
    from gridmap.models import KEY_GROUPS

    return children.values_list(*LEDGER_COLUMNS, *KEY_GROUPS)


class LedgerRows:
    """Turns ledger_values tuples into the exported row (LEDGER_HEADERS); labels looked up once."""

    def __init__(self, on: date) -> None:
        from gridmap.models import KEY_GROUPS, Sex

        self.on = on
        self.sexes = {k: str(v) for k, v in Sex.choices}
        self.statuses = {k: str(v) for k, v in S.choices}
        self.key_groups = [str(label) for label in KEY_GROUPS.values()]

    def __call__(self, v: Sequence[Any]) -> list[Any]:
        (_pk, village, group, household, name, sex, masked, born, school, grade, status, since, reason) = v[:13]
        flags = v[13:]
        return [village or "", group, household or "", name, self.sexes.get(sex, sex), masked, born.isoformat(),
                schooling.expected_grade(born, self.on), school or "", grade or "", self.statuses.get(status, status),
                since.isoformat() if since else "", reason or "",
                "、".join(label for label, flag in zip(self.key_groups, flags, strict=True) if flag)]


def ledger_rows(children: QuerySet[Child], on: date, chunk_size: int = 2000) -> Iterator[list[Any]]:
    """The exported rows of a (filtered) ledger, streamed from one query."""
    row = LedgerRows(on)
    return (row(v) for v in ledger_values(children).iterator(chunk_size=chunk_size))

"""Persuading a dropout back (劝返) by the four-step procedure (四步法), and 销号.

Confirming a dropout opens the case with its working group; steps are recorded in order (step 1
may be repeated: several persuasion visits); the written order (step 2) sets a deadline (default
GRIDMAP_NOTICE_DAYS), after which an open case without a penalty decision is overdue; the penalty
(step 3) may only follow a passed deadline; closing the case (销号) returns the child to school and
starts a one-child follow-up plan (一人一案) reviewed monthly through the next term.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from gridmap import audit, ledgers
from gridmap.models import (
    AuditAction,
    Case,
    CaseSchoolChange,
    CaseStatus,
    CaseStep,
    Child,
    ChildStatus,
    FollowUpPlan,
    FollowUpReview,
    Person,
    School,
    Step,
)

FOLLOW_UP_MONTHS = 6  # monthly reviews: the rest of this term and the next one


class CaseError(ValueError):
    pass


# The school a dropout must return to (DESIGN.md: the responsible school of the child's registry
# place): the open school serving the child's *due* grade (31 August rule, on the day the case
# opens; clamped to 1-9) for their registry village group. That is the group's catchment school of
# the grade's stage when it teaches the grade; otherwise (a village school teaching grades 1-4, a
# closed school) the nearest open school of the group's township teaching it, then of the county.
# One query for any number of (child, date) pairs, so that a loader and the case page agree: the
# catchment lookup and the nearest-school search are a correlated pair the ORM cannot express.
DUE_SCHOOL_SQL = """
WITH wanted AS (
    SELECT w.child_id, w.on_date, c.group_id, g.code AS group_code, g.label_point,
           greatest(1, least(9,
               (extract(year FROM w.on_date)::int - CASE WHEN extract(month FROM w.on_date) >= 9 THEN 0 ELSE 1 END)
             - (extract(year FROM c.birth_date)::int + 6
                + CASE WHEN to_char(c.birth_date, 'MMDD') <= '0831' THEN 0 ELSE 1 END) + 1)) AS grade
    FROM unnest(%(children)s::int[], %(dates)s::date[]) AS w(child_id, on_date)
    JOIN gridmap_child c ON c.id = w.child_id
    JOIN gridmap_area g ON g.id = c.group_id
)
SELECT w.child_id, w.grade, coalesce(
    (SELECT s.id FROM gridmap_catchmentassignment a JOIN gridmap_school s ON s.id = a.school_id
     WHERE a.area_id = w.group_id AND a.stage = CASE WHEN w.grade <= 6 THEN 'primary' ELSE 'junior' END
       AND s.status = 'open' AND w.grade BETWEEN s.first_grade AND s.last_grade),
    (SELECT s.id FROM gridmap_school s JOIN gridmap_area t ON t.id = s.township_id
     WHERE s.status = 'open' AND w.grade BETWEEN s.first_grade AND s.last_grade
     ORDER BY t.code <> left(w.group_code, 9), ST_Distance(s.location::geography, w.label_point::geography), s.id
     LIMIT 1)) AS school_id
FROM wanted w
"""


def due_schools(pairs: list[tuple[int, date]]) -> dict[int, tuple[int, int | None]]:
    """For (child id, date) pairs: child id → (due grade, id of the school the rule chooses or None)."""
    if not pairs:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(DUE_SCHOOL_SQL, {"children": [c for c, _d in pairs], "dates": [d for _c, d in pairs]})
        return {child: (grade, school) for child, grade, school in cursor.fetchall()}


def due_school(child: Child, on: date) -> School | None:
    """The school a dropout must return to, by the rule above."""
    _grade, school = due_schools([(child.pk, on)]).get(child.pk, (0, None))
    return School.objects.filter(pk=school).first() if school else None


def assign_due_schools(cases: QuerySet[Case]) -> int:
    """Charge each of these cases to the school the rule chooses on its opening day (loaders);
    returns how many changed."""
    rows = list(cases.values_list("pk", "child_id", "opened_on", "school_id"))
    chosen = due_schools([(child, opened) for _pk, child, opened, _s in rows])
    changed = 0
    for pk, child, _opened, school in rows:
        want = chosen.get(child, (0, None))[1]
        if want != school:
            Case.objects.filter(pk=pk).update(school_id=want)
            changed += 1
    return changed


@transaction.atomic
def change_school(case: Case, school: School, by: Any, reason: str, request: Any = None) -> CaseSchoolChange:
    """Charge a case to another school than the rule chose, with the reason (kept and audited)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status != CaseStatus.OPEN:
        raise CaseError("案件已销号，不能再改应返校学校")
    if not reason.strip():
        raise CaseError("更改应返校学校须写明原因")
    if school.pk == case.school_id:
        raise CaseError("与现在的应返校学校相同")
    change = CaseSchoolChange.objects.create(
        case=case, from_school_id=case.school_id, to_school=school, reason=reason.strip(),
        changed_by=by if getattr(by, "is_authenticated", False) else None)
    before = case.school.name if case.school else ""
    case.school = school
    case.save(update_fields=["school"])
    audit.record(request, AuditAction.CHANGE, case, user=by, summary=f"更改应返校学校 {case.child.id_masked}",
                 before={"school": before}, after={"school": school.name, "reason": reason.strip()})
    return change


@transaction.atomic
def confirm_dropout(child: Child, on: date, by: Any, reason: str, members: list[Person],
                    school: School | None = None, notes: str = "", request: Any = None) -> Case:
    """A suspected child is confirmed as dropped out: on the dropout ledger, with a case charged to
    the school the rule chooses (`school` overrides it, e.g. from an import)."""
    ledgers.change_status(child, ChildStatus.DROPPED_OUT, on, by, reason, request=request)
    group = child.group
    village = group.parent
    assert village is not None and village.parent is not None
    if school is None:
        school = due_school(child, on)
    case = Case.objects.create(child=child, opened_on=on, township=village.parent, village=village,
                               school=school, notes=notes)
    case.members.set(members)
    audit.record(request, AuditAction.CHANGE, case, user=by, summary=f"立案 {child.id_masked}",
                 after={"opened_on": on.isoformat(), "members": [p.name for p in members]})
    return case


def notice_days() -> int:
    """Days a written order gives the guardian to return the child (settings.GRIDMAP_NOTICE_DAYS)."""
    return int(settings.GRIDMAP_NOTICE_DAYS)


def deadlines(cases: list[Case]) -> dict[int, date]:
    """The written order's deadline of each case that has one."""
    rows = CaseStep.objects.filter(case__in=cases, step=Step.ORDER_TO_CORRECT).values_list("case_id", "deadline")
    return {case_id: deadline for case_id, deadline in rows if deadline is not None}


def steps_done(case: Case) -> set[int]:
    return set(case.steps.values_list("step", flat=True))


@transaction.atomic
def add_step(case: Case, step: int, on: date, person: Person, document_number: str = "", notes: str = "",
             deadline: date | None = None, by: Any = None, request: Any = None) -> CaseStep:
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status != CaseStatus.OPEN:
        raise CaseError("案件已销号，不能再登记步骤")
    done = steps_done(case)
    if step > 1 and step - 1 not in done:
        raise CaseError(f"须先完成第{step - 1}步")
    if step in done and step != Step.PERSUASION:
        raise CaseError(f"第{step}步已登记")
    if on < case.opened_on:
        raise CaseError("步骤日期早于立案日期")
    if step in (Step.ORDER_TO_CORRECT, Step.PENALTY) and not document_number.strip():
        raise CaseError("须填写文书编号")
    if step == Step.ORDER_TO_CORRECT:
        deadline = deadline or on + timedelta(days=notice_days())
        if deadline <= on:
            raise CaseError("限期须晚于通知日期")
    if step == Step.PENALTY:
        notice = case.steps.get(step=Step.ORDER_TO_CORRECT)
        if notice.deadline is not None and on <= notice.deadline:
            raise CaseError(f"复学期限（{notice.deadline}）未满，不能作出行政处罚")
    row = CaseStep.objects.create(case=case, step=step, date=on, person=person,
                                  document_number=document_number.strip(), notes=notes, deadline=deadline)
    audit.record(request, AuditAction.CHANGE, case, user=by, summary=f"第{step}步 {Step(step).label}",
                 after={"step": step, "date": on.isoformat(), "document": document_number})
    return row


def overdue(cases: QuerySet[Case], on: date) -> QuerySet[Case]:
    """Cases overdue at the end of day `on`: open then, the written order's deadline passed before
    `on`, no penalty decision recorded by then (so a past month's report sees what was overdue at its
    end, and a penalty recorded today clears the flag today)."""
    passed = CaseStep.objects.filter(case=OuterRef("pk"), step=Step.ORDER_TO_CORRECT, date__lte=on, deadline__lt=on)
    penalised = CaseStep.objects.filter(case=OuterRef("pk"), step__gte=Step.PENALTY, date__lte=on)
    return cases.filter(Exists(passed), ~Exists(penalised), Q(closed_on__isnull=True) | Q(closed_on__gt=on),
                        opened_on__lte=on)


@transaction.atomic
def close_case(case: Case, on: date, by: Any, reason: str, measures: str = "",
               school: School | None = None, request: Any = None) -> FollowUpPlan:
    """销号: the child is back at school; the case closes and a follow-up plan starts."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status != CaseStatus.OPEN:
        raise CaseError("案件已销号")
    if not case.steps.exists():
        raise CaseError("未做任何劝返工作，不能销号")
    ledgers.change_status(case.child, ChildStatus.RETURNED, on, by, reason, request=request)
    case.status, case.closed_on = CaseStatus.CLOSED, on
    case.save(update_fields=["status", "closed_on"])
    plan = FollowUpPlan.objects.create(case=case, child=case.child, school=school or case.school,
                                       start_date=on, measures=measures)
    FollowUpReview.objects.bulk_create(
        FollowUpReview(plan=plan, due=_add_months(on, n)) for n in range(1, FOLLOW_UP_MONTHS + 1))
    audit.record(request, AuditAction.CHANGE, case, user=by, summary=f"销号 {case.child.id_masked}",
                 before={"status": CaseStatus.OPEN}, after={"status": CaseStatus.CLOSED, "closed_on": on.isoformat()})
    return plan


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28))

"""The send-teaching-home rules (DESIGN.md, issue 15) and their violations.

Each violation names the child, the week (or the visit's day), the school and who answers for it:

- SHORT_WEEK: a week with fewer visits or class hours than the plan (gridmap.visits: ISO weeks,
  holiday weeks of the school calendar owe nothing; a week is judged once it has ended);
- FEW_TEACHERS: a visit by fewer than two teachers;
- NO_MALE: a visit with no male teacher among them;
- WRONG_SCHOOL: a plan run by a school that is not the responsible school (包保学校) of the child's
  registry village group (the group's own, else its village's — as the grid shows it);
- UNPLANNED: a disabled school-age child who is neither in school (enrolled — a special school
  included — in a regular class (随班就读) or back from dropout) nor on a plan in force; suspended
  (休学), transferred-out and graduated children are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from gridmap import visits as weekly
from gridmap.models import Child, ChildStatus, HomeTeachingPlan, HomeVisit, Responsibility, Role, School
from gridmap.models.areas import CODE_LENGTH, AreaLevel

SHORT_WEEK, FEW_TEACHERS, NO_MALE, WRONG_SCHOOL, UNPLANNED = (
    "short_week", "few_teachers", "no_male", "wrong_school", "unplanned")
KINDS = {
    SHORT_WEEK: _("fewer visits or class hours than the plan in a week"),
    FEW_TEACHERS: _("a visit by fewer than two teachers"),
    NO_MALE: _("a visit with no male teacher"),
    WRONG_SCHOOL: _("plan not run by the child's responsible school"),
    UNPLANNED: _("disabled school-age child neither in school nor on a plan"),
}
IN_SCHOOL = [ChildStatus.ENROLLED, ChildStatus.INCLUDED, ChildStatus.RETURNED]
NOT_COUNTED = [ChildStatus.SUSPENDED, ChildStatus.TRANSFERRED_OUT, ChildStatus.GRADUATED]


@dataclass(frozen=True)
class Violation:
    kind: str
    child_id: int
    plan_id: int | None
    school_id: int | None
    week: weekly.Week | None
    day: date | None
    responsible: str  # who answers for it, in words
    detail: str

    @property
    def label(self) -> str:
        return str(KINDS[self.kind])

    @property
    def week_label(self) -> str:
        return f"{self.week[0]}-W{self.week[1]:02d}" if self.week else ""


def responsible_schools(children: QuerySet[Child], on: date) -> dict[int, int | None]:
    """Each child's responsible school on a day: of its village group, else of the group's village."""
    rows = list(children.values_list("pk", "group__code"))
    codes = {g for _pk, g in rows} | {g[:CODE_LENGTH[AreaLevel.VILLAGE]] for _pk, g in rows}
    holders = dict(Responsibility.objects.filter(
        role=Role.RESPONSIBLE_SCHOOL, area__code__in=codes, start_date__lte=on)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .values_list("area__code", "responsible_school_id"))
    return {pk: holders.get(g) or holders.get(g[:CODE_LENGTH[AreaLevel.VILLAGE]]) for pk, g in rows}


def _teachers(plan: HomeTeachingPlan) -> str:
    return "、".join(t.name for t in plan.teachers.all())


def violations(plans: QuerySet[HomeTeachingPlan], children: QuerySet[Child], first: date, last: date,
               on: date) -> list[Violation]:
    """The violations of these plans in [first, last] (weeks judged once ended by `on`), and of
    these children (UNPLANNED, WRONG_SCHOOL) on `on`."""
    out: list[Violation] = []
    plans = plans.select_related("school", "child").prefetch_related("teachers")
    by_pk = {p.pk: p for p in plans}
    school_names = dict(School.objects.values_list("pk", "name"))
    for pw in weekly.plan_weeks(plans, first, last):
        if not pw.short or weekly.monday(pw.week) + timedelta(days=6) > on:
            continue
        p = by_pk[pw.plan_id]
        out.append(Violation(SHORT_WEEK, p.child_id, p.pk, p.school_id, pw.week, None,
                             f"{p.school.name}：{_teachers(p)}",
                             str(_("%(made)s of %(due)s visits, %(hours)s of %(hours_due)s class hours")
                                 % {"made": pw.visits_made, "due": pw.visits_due, "hours": pw.hours_made,
                                    "hours_due": pw.hours_due})))
    visits = (weekly.teacher_counts(HomeVisit.objects.filter(plan__in=by_pk.keys(), date__range=(first, last)))
              .filter(Q(n_teachers__lt=2) | Q(n_male=0)).prefetch_related("teachers"))
    for v in visits:
        n_teachers, n_male = int(getattr(v, "n_teachers", 0)), int(getattr(v, "n_male", 0))
        p = by_pk[v.plan_id]
        names = "、".join(f"{t.name}（{t.get_sex_display()}）" for t in v.teachers.all()) or "—"
        who = f"{p.school.name}：{names}"
        if n_teachers < 2:
            out.append(Violation(FEW_TEACHERS, p.child_id, p.pk, p.school_id, weekly.week_of(v.date), v.date, who,
                                 str(_("%(n)s teacher(s) on the visit") % {"n": n_teachers})))
        if n_male == 0:
            out.append(Violation(NO_MALE, p.child_id, p.pk, p.school_id, weekly.week_of(v.date), v.date, who,
                                 str(_("no male teacher on the visit"))))
    in_force = plans.filter(Q(start_date__lte=on), Q(end_date__isnull=True) | Q(end_date__gte=on))
    resp = responsible_schools(Child.objects.filter(pk__in=in_force.values("child")), on)
    for p in in_force:
        expected = resp.get(p.child_id)
        if expected != p.school_id:
            out.append(Violation(
                WRONG_SCHOOL, p.child_id, p.pk, p.school_id, weekly.week_of(on), None,
                str(_("township central school (assigns responsible schools)")),
                str(_("run by %(school)s; responsible school: %(expected)s")
                    % {"school": p.school.name,
                       "expected": school_names.get(expected, _("none")) if expected else _("none")})))
    out.extend(unplanned(children, on))
    return out


def unplanned(children: QuerySet[Child], on: date) -> list[Violation]:
    """Disabled school-age children neither in school nor on a plan in force on `on`."""
    planned = HomeTeachingPlan.objects.filter(
        Q(start_date__lte=on), Q(end_date__isnull=True) | Q(end_date__gte=on)).values("child")
    rows = (Child.objects.filter(pk__in=children.values("pk")).school_age_on(on).filter(kg_disabled=True)
            .exclude(status__in=[*IN_SCHOOL, *NOT_COUNTED]).exclude(pk__in=planned))
    resp = responsible_schools(rows, on)
    names = dict(School.objects.filter(pk__in=[s for s in resp.values() if s]).values_list("pk", "name"))
    teachers = dict(Responsibility.objects.filter(child__in=rows, role=Role.CHILD_TEACHER, end_date__isnull=True)
                    .values_list("child_id", "person__name"))
    out = []
    for c in rows.only("pk", "status"):
        school = resp.get(c.pk)
        who = names.get(school, str(_("no responsible school"))) if school else str(_("no responsible school"))
        if c.pk in teachers:
            who += f"：{teachers[c.pk]}"
        out.append(Violation(UNPLANNED, c.pk, None, school, weekly.week_of(on), None, who,
                             str(_("status: %(status)s, no send-teaching-home plan") % {"status": c.get_status_display()})))
    return out


def summary(found: list[Violation]) -> dict[str, int]:
    counts = {k: 0 for k in KINDS}
    for v in found:
        counts[v.kind] += 1
    return counts


def as_row(v: Violation, child: Any) -> dict[str, Any]:
    return {"kind": v.kind, "label": v.label, "child": child, "week": v.week_label, "day": v.day,
            "responsible": v.responsible, "detail": v.detail, "plan_id": v.plan_id}

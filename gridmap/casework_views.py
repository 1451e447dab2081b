"""Pages of the daily casework: a child's record (absences, status changes, confirming a dropout),
dropout cases (the four steps, printed documents, 销号), case lists and the 人籍一致 check.

Views only pick the scoped record, check the role's right and call gridmap.ledgers / gridmap.cases;
every read of a child's record and every action is audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, NoReturn

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from gridmap import access, audit, cases, documents, grid, ledgers, responsibilities, schooling
from gridmap.forms import (
    AbsenceForm,
    CaseSchoolForm,
    CaseStepForm,
    CloseCaseForm,
    ConfirmDropoutForm,
    StatusForm,
)
from gridmap.models import (
    AuditAction,
    Case,
    CaseStatus,
    Child,
    ChildStatus,
    Person,
    Role,
    School,
    SchoolStatus,
    Step,
)
from gridmap.views import form_errors

ABSENCE_DAYS_SHOWN = 30


def _child(request: HttpRequest, pk: int) -> Child:
    return get_object_or_404(
        access.visible_children(request.user).select_related(
            "group__parent__parent", "household", "school_class__school"), pk=pk)


def _deny(request: HttpRequest, target: Any, what: str) -> NoReturn:
    audit.record(request, AuditAction.DENIED, target, summary=f"无权操作：{what}")
    raise PermissionDenied


@login_required
def child_page(request: HttpRequest, pk: int) -> HttpResponse:
    child = _child(request, pk)
    user, today = request.user, timezone.localdate()
    audit.record(request, AuditAction.VIEW, child, summary=f"查看儿童档案 {child.id_masked}")
    statuses = access.allowed_statuses(user, child.status)
    run = ledgers.consecutive_unexcused(child, today)
    forms: dict[str, Any] = {}
    if access.may_act(user, access.ABSENCE) and child.status in ledgers.IN_SCHOOL + [ChildStatus.SUSPECTED]:
        forms["absence"] = AbsenceForm()
    if statuses:
        forms["status"] = StatusForm(statuses=statuses)
    if access.may_act(user, access.CONFIRM) and child.status == ChildStatus.SUSPECTED:
        forms["confirm"] = ConfirmDropoutForm(people=_case_people(user, child), open_unit=_own_unit(child))
    return render(request, "gridmap/child.html", {
        "child": child, "today": today, "forms": forms, "absence_days": ABSENCE_DAYS_SHOWN,
        "ledgers": [ledgers.LEDGER_TITLES[k] for k in ledgers.Ledger if k in ledgers.ledgers_of(child, today)],
        "expected_grade": child.expected_grade(today),
        "run": run,
        "escalation": ledgers.escalation(child, today, run),
        "absences": child.absences.filter(date__gt=today - timedelta(days=ABSENCE_DAYS_SHOWN)).order_by("-date"),
        "history": child.status_history.select_related("changed_by").order_by("-date", "-recorded_at"),
        "cases": child.cases.annotate(n_steps=Count("steps")).order_by("-opened_on"),
        "plans": child.follow_up_plans.prefetch_related("reviews").order_by("-start_date"),
        "teacher": responsibilities.holder(Role.CHILD_TEACHER, child),
    })


def _case_people(user: Any, child: Child) -> Any:
    """Who may be named in a child's case: the township's officials and cadres, the teachers of the
    child's school and of the township's schools."""
    officials = access.candidate_people(user, child.group)
    teachers = access.candidate_teachers(user, child)
    return (Person.objects.filter(Q(pk__in=officials.values("pk")) | Q(pk__in=teachers.values("pk")))
            .select_related("school").order_by("school__name", "name"))


def _own_unit(child: Child) -> str:
    """The unit whose people the picker shows first: the child's school, else its township government."""
    if child.school_class is not None:
        return child.school_class.school.name
    township = child.group.parent.parent if child.group.parent else None
    return f"{township.name}人民政府" if township else ""


def _redirect_child(child: Child) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("child", args=[child.pk]))


def _act(request: HttpRequest, form: Any, action: Callable[[dict[str, Any]], str | HttpResponse],
         back: HttpResponse) -> HttpResponse:
    """Validate the form, run the domain action; its refusal (a rule it enforces) and the form's
    errors become messages on the page we go back to. The action returns its success message, or a
    response to go to instead."""
    if not form.is_valid():
        form_errors(request, form)
        return back
    try:
        done = action(form.cleaned_data)
    except (ledgers.StatusChangeError, cases.CaseError) as e:
        messages.error(request, _("Not saved: %(errors)s") % {"errors": e})
        return back
    if isinstance(done, HttpResponse):
        return done
    messages.success(request, done)
    return back


@login_required
@require_POST
def record_absence(request: HttpRequest, pk: int) -> HttpResponse:
    child = _child(request, pk)
    if not access.may_act(request.user, access.ABSENCE):
        _deny(request, child, f"登记缺勤 {child.id_masked}")

    def record(data: dict[str, Any]) -> str:
        change = ledgers.record_absence(child, data["date"], request.user, data["excused"], data["reason"],
                                        request=request)
        if change is not None:
            messages.warning(request, _("%(name)s is now on the suspected dropout ledger: %(reason)s. "
                                        "Report it to the township today.") % {"name": child.name,
                                                                               "reason": change.reason})
        return _("Absence on %(date)s recorded.") % {"date": data["date"]}

    return _act(request, AbsenceForm(request.POST), record, _redirect_child(child))


@login_required
@require_POST
def change_status(request: HttpRequest, pk: int) -> HttpResponse:
    child = _child(request, pk)
    statuses = access.allowed_statuses(request.user, child.status)
    if not statuses:
        _deny(request, child, f"变更状态 {child.id_masked}")

    def change(data: dict[str, Any]) -> str:
        ledgers.change_status(child, data["to"], data["date"], request.user, data["reason"],
                              destination=data["destination"], until=data["until"], request=request)
        return _("%(name)s: status is now %(status)s.") % {"name": child.name, "status": ChildStatus(data["to"]).label}

    return _act(request, StatusForm(request.POST, statuses=statuses), change, _redirect_child(child))


@login_required
@require_POST
def confirm_dropout(request: HttpRequest, pk: int) -> HttpResponse:
    child = _child(request, pk)
    if not access.may_act(request.user, access.CONFIRM):
        _deny(request, child, f"确认辍学 {child.id_masked}")

    def confirm(data: dict[str, Any]) -> HttpResponse:
        case = cases.confirm_dropout(child, data["date"], request.user, data["reason"], list(data["members"]),
                                     notes=data["notes"], request=request)
        messages.success(request, _("%(name)s is on the dropout ledger; case opened.") % {"name": child.name})
        return HttpResponseRedirect(reverse("case", args=[case.pk]))

    form = ConfirmDropoutForm(request.POST, people=_case_people(request.user, child))
    return _act(request, form, confirm, _redirect_child(child))


# --- cases -------------------------------------------------------------------------------------

def _case(request: HttpRequest, pk: int) -> Case:
    case: Case = get_object_or_404(access.visible_cases(request.user).select_related(
        "child__household", "child__group__parent", "township", "village", "school"), pk=pk)
    return case


def _next_steps(user: Any, case: Case) -> list[tuple[int, str]]:
    """Steps this login may record next: step 1 again, or the step after the last one done."""
    if case.status != CaseStatus.OPEN:
        return []
    done = cases.steps_done(case)
    possible = {Step.PERSUASION} | {s for s in Step if s > 1 and s - 1 in done and s not in done}
    deadline = cases.deadlines([case]).get(case.pk)
    if deadline is not None and timezone.localdate() <= deadline:
        possible.discard(Step.PENALTY)  # the guardian still has time: no penalty yet
    allowed = access.case_steps(user) & possible
    return [(int(s), str(Step(s).label)) for s in Step if s in allowed]


@login_required
def case_page(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    user, today = request.user, timezone.localdate()
    audit.record(request, AuditAction.VIEW, case, summary=f"查看劝返案件 {case.child.id_masked}")
    steps = list(case.steps.select_related("person").order_by("date", "step", "pk"))
    notice = next((s for s in steps if s.step == Step.ORDER_TO_CORRECT), None)
    next_steps = _next_steps(user, case)
    people = _case_people(user, case.child)
    forms: dict[str, Any] = {}
    if next_steps:
        forms["step"] = CaseStepForm(steps=next_steps, people=people, initial={"step": next_steps[-1][0]})
    if case.status == CaseStatus.OPEN and steps and access.may_act(user, access.CLOSE):
        forms["close"] = CloseCaseForm(schools=access.candidate_schools(user, case.village),
                                       initial={"school": case.school})
    if case.status == CaseStatus.OPEN and access.may_act(user, access.CONFIRM):
        forms["school"] = CaseSchoolForm(schools=_case_schools(user), initial={"school": case.school})
    return render(request, "gridmap/case.html", {
        "case": case, "child": case.child, "steps": steps, "notice": notice, "forms": forms, "today": today,
        "overdue": cases.overdue(Case.objects.filter(pk=case.pk), today).exists(),
        "members": case.members.select_related("school"),
        "plan": getattr(case, "follow_up", None),
        "default_days": cases.notice_days(),
        "due_grade": min(9, max(1, schooling.expected_grade(case.child.birth_date, case.opened_on))),
        "rule_school": cases.due_school(case.child, case.opened_on),
        "school_changes": case.school_changes.select_related("from_school", "to_school", "changed_by"),
    })


def _case_schools(user: Any) -> Any:
    """Schools a case may be charged to: the open schools this login sees."""
    return access.visible_schools(user).exclude(status=SchoolStatus.CLOSED).order_by("township__code", "kind", "name")


@login_required
@require_POST
def change_case_school(request: HttpRequest, pk: int) -> HttpResponse:
    """Charge a case to another school than the rule chose, with a reason."""
    case = _case(request, pk)
    if not access.may_act(request.user, access.CONFIRM):
        _deny(request, case, f"更改应返校学校 {case.child.id_masked}")

    def change(data: dict[str, Any]) -> str:
        school: School = data["school"]
        cases.change_school(case, school, request.user, data["reason"], request=request)
        return _("The case is now charged to %(school)s.") % {"school": school.name}

    form = CaseSchoolForm(request.POST, schools=_case_schools(request.user))
    return _act(request, form, change, HttpResponseRedirect(reverse("case", args=[case.pk])))


@login_required
@require_POST
def add_case_step(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    next_steps = _next_steps(request.user, case)
    if not next_steps:
        _deny(request, case, f"登记劝返步骤 {case.child.id_masked}")
    def add(data: dict[str, Any]) -> str:
        cases.add_step(case, data["step"], data["date"], data["person"], data["document_number"], data["notes"],
                       deadline=data["deadline"], by=request.user, request=request)
        return _("Step %(step)s recorded.") % {"step": Step(data["step"]).label}

    form = CaseStepForm(request.POST, steps=next_steps, people=_case_people(request.user, case.child))
    return _act(request, form, add, HttpResponseRedirect(reverse("case", args=[case.pk])))


@login_required
@require_POST
def close_case(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    if not access.may_act(request.user, access.CLOSE):
        _deny(request, case, f"销号 {case.child.id_masked}")
    def close(data: dict[str, Any]) -> str:
        cases.close_case(case, data["date"], request.user, data["reason"], data["measures"], school=data["school"],
                         request=request)
        return _("Case closed (销号): %(name)s is back at school; the follow-up plan has monthly reviews.") % {
            "name": case.child.name}

    form = CloseCaseForm(request.POST, schools=access.candidate_schools(request.user, case.village))
    return _act(request, form, close, HttpResponseRedirect(reverse("case", args=[case.pk])))


@login_required
def case_document(request: HttpRequest, pk: int, step_pk: int) -> HttpResponse:
    """The printed 《限期复学通知书》 or 《行政处罚决定书》 of a case step, as PDF."""
    case = _case(request, pk)
    step = get_object_or_404(case.steps.filter(step__in=documents.TITLES), pk=step_pk)
    title = documents.TITLES[Step(step.step)]
    audit.record(request, AuditAction.EXPORT, case, summary=f"打印《{title}》{case.child.id_masked}")
    response = HttpResponse(documents.case_document_pdf(step), content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{_quote(title)}_{step.document_number}.pdf"
    return response


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


@login_required
def case_list(request: HttpRequest, code: str) -> HttpResponse:
    """The dropout cases of an area: open first, overdue flagged."""
    area = get_object_or_404(grid.grid_roots(request.user), code=code)
    if not access.scope_of(request.user).individual_children:
        _deny(request, area, f"案件明细（仅可查看汇总）{code}")
    today = timezone.localdate()
    show = request.GET.get("show", "open")
    rows = access.visible_cases(request.user).filter(child__group__code__startswith=area.code)
    overdue_ids = set(cases.overdue(rows, today).values_list("pk", flat=True))
    counts = {"open": rows.filter(status=CaseStatus.OPEN).count(), "closed": rows.filter(status=CaseStatus.CLOSED).count(),
              "overdue": len(overdue_ids)}
    if show == "overdue":
        rows = rows.filter(pk__in=overdue_ids)
    elif show in ("open", "closed"):
        rows = rows.filter(status=CaseStatus.OPEN if show == "open" else CaseStatus.CLOSED)
    rows = (rows.select_related("child", "village", "school").annotate(n_steps=Count("steps"))
            .order_by("status", "opened_on", "pk"))
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    deadlines = cases.deadlines(page.object_list)
    for case in page.object_list:
        case.deadline = deadlines.get(case.pk)
    audit.record(request, AuditAction.LIST, area, summary=f"{area.name}劝返案件（{show}）第{page.number}页")
    tabs = [("open", pgettext("cases", "open"), counts["open"]), ("overdue", _("overdue"), counts["overdue"]),
            ("closed", _("closed (销号)"), counts["closed"]), ("all", _("all"), None)]
    return render(request, "gridmap/case_list.html", {
        "area": area, "page": page, "show": show, "tabs": tabs, "overdue_ids": overdue_ids, "today": today})


@login_required
def discrepancy_page(request: HttpRequest, code: str) -> HttpResponse:
    """人籍一致: where the school roll and the household registry disagree, for an area in scope."""
    area = get_object_or_404(grid.grid_roots(request.user), code=code)
    if not access.scope_of(request.user).individual_children:
        _deny(request, area, f"人籍一致明细（仅可查看汇总）{code}")
    today = timezone.localdate()
    children = access.visible_children(request.user).filter(group__code__startswith=area.code)
    sections = []
    for key, rows in ledgers.discrepancies(children, today).items():
        rows = rows.select_related("group__parent", "household", "school_class__school").order_by("group__code", "name")
        sections.append((key, ledgers.DISCREPANCY_TITLES[key], rows.count(), list(rows[:200])))
    audit.record(request, AuditAction.LIST, area, summary=f"{area.name}人籍一致核对")
    return render(request, "gridmap/discrepancies.html", {"area": area, "sections": sections, "today": today,
                                                          "shown": 200})

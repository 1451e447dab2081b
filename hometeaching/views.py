"""Send-teaching-home pages; thin: the work is in hometeaching.rules / routes / layer / printing.

Scope: only logins that may see children (gridmap.access.scope_of(...).individual_children) reach
these pages; the children and plans are those of access.visible_children (school staff: their
school's; township officials: their township's), schools those of access.visible_schools; anything
else is 404. Every read of children is audited; writes go through access.may_write.

- /hometeaching/<code>/                        an area's (6-15 digits) or a school's (10) children, plans,
                                               compliance this month and violations;
- /hometeaching/plan/<pk>/                     the plan (一人一案), goals, visits, forms;
- /hometeaching/plan/<pk>/handbook.pdf?year=&term=   the A4 handbook of a term;
- /hometeaching/school/<code>/routes/?week=    the week's trips on the map (the route layer);
- …/routes/layer.json, …/routes/sheet.pdf[&trip=N], …/routes/phone/?trip=N.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotModified,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gridmap import access, audit, grid
from gridmap import visits as weekly
from gridmap.models import Area, AuditAction, Child, HomeTeachingPlan, Person, School, Term
from gridmap.reports import month_bounds
from hometeaching import cache, layer, printing, routes, rules, scope
from hometeaching.forms import GoalForm, NewPlanForm, PlanForm, VisitForm, ineligible
from layers.home_routes import routes_page_layers
from layers.maps import grid_map
from layers.maps import render as render_map


def _may_see_children(request: HttpRequest) -> None:
    if not scope.may_see(request.user):
        raise Http404


visible_plans = scope.visible_plans


def _school(request: HttpRequest, code: str) -> School:
    _may_see_children(request)
    if not (code.isdigit() and len(code) == 10):
        raise Http404
    return get_object_or_404(access.visible_schools(request.user), code=code)


def _week(request: HttpRequest) -> tuple[int, int]:
    text = request.GET.get("week") or routes.week_text(weekly.week_of(timezone.localdate()))
    return routes.parse_week(text)


def _teachers(user: Any, plan: HomeTeachingPlan) -> QuerySet[Person]:
    return access.visible_people(user).filter(Q(school=plan.school_id) | Q(pk__in=plan.teachers.values("pk"))).distinct()


@login_required
@require_GET
def overview(request: HttpRequest, code: str) -> HttpResponse:
    _may_see_children(request)
    if not code.isdigit() or len(code) > 15:
        raise Http404
    school = None
    if len(code) == 10:
        school = get_object_or_404(access.visible_schools(request.user), code=code)
        plans = visible_plans(request.user).filter(school=school)
        children = access.visible_children(request.user).filter(
            Q(school_class__school=school) | Q(pk__in=plans.values("child")))
        title = school.name
    else:
        area = get_object_or_404(access.visible_areas(request.user), code=code)
        if not (access.scope_of(request.user).everywhere
                or any(code.startswith(c) for c in access.scope_of(request.user).area_codes)):
            raise Http404  # an ancestor shown for context is not the login's to list
        children = access.visible_children(request.user).filter(group__code__startswith=area.code)
        plans = visible_plans(request.user).filter(child__in=children.values("pk"))
        title = area.name
    today = timezone.localdate()
    first, last = month_bounds(today)
    found = rules.violations(plans, children, first, min(last, today), today)
    per_plan = weekly.made_and_due(plans, first, last, on=today)
    plan_rows = list(plans.select_related("child", "child__group", "school").prefetch_related("teachers")
                     .order_by("school__code", "child__group__code"))
    names = dict(Child.objects.filter(pk__in={v.child_id for v in found}).values_list("pk", "name"))
    audit.record(request, AuditAction.LIST, school, summary=f"送教上门：{title}（{code}）{len(plan_rows)} 名送教儿童")
    made = sum(m for m, _d in per_plan.values())
    due = sum(d for _m, d in per_plan.values())
    return render(request, "hometeaching/overview.html", {
        "title": title, "code": code, "school": school, "plans": [(p, per_plan.get(p.pk, (0, 0))) for p in plan_rows],
        "violations": [{**rules.as_row(v, names.get(v.child_id, "")),
                        "new_plan": v.kind == rules.UNPLANNED
                        and scope.may_create_plan(request.user, Child(pk=v.child_id), v.school_id),
                        "child_id": v.child_id} for v in found],
        "counts": rules.summary(found),
        "kinds": rules.KINDS, "made": made, "due": due, "rate": round(100 * made / due, 1) if due else None,
        "month": f"{first:%Y-%m}", "week": routes.week_text(weekly.week_of(today)),
        "schools": sorted({(p.school.code, p.school.name) for p in plan_rows}),
    })


def _plan(request: HttpRequest, pk: int) -> HomeTeachingPlan:
    _may_see_children(request)
    return get_object_or_404(visible_plans(request.user).select_related("child", "child__group", "school"), pk=pk)


@login_required
def plan_page(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    may_write = access.may_write(request.user, plan)
    teachers = _teachers(request.user, plan)
    form = PlanForm(instance=plan, teachers=teachers)
    if request.method == "POST":
        if not may_write:
            raise Http404
        form = PlanForm(request.POST, instance=plan, teachers=teachers)
        if form.is_valid():
            with transaction.atomic():
                form.save()
                audit.record(request, AuditAction.CHANGE, plan.child, summary=f"送教计划：{plan.child.name} 修改")
            return redirect("hometeaching-plan", pk=plan.pk)
    elif request.method != "GET":
        return HttpResponse(status=405)
    audit.record(request, AuditAction.VIEW, plan.child, summary=f"送教计划：{plan.child.name}")
    visits = weekly.teacher_counts(plan.visits.all()).prefetch_related("teachers").order_by("-date")
    today = timezone.localdate()
    weeks = [pw for pw in weekly.plan_weeks(HomeTeachingPlan.objects.filter(pk=plan.pk), today - timedelta(days=70), today)
             if weekly.monday(pw.week) + timedelta(days=6) < today]
    year = today.year if today.month >= 9 else today.year - 1
    return render(request, "hometeaching/plan.html", {
        "plan": plan, "child": plan.child, "form": form, "may_write": may_write, "visits": visits,
        "visit_form": VisitForm(teachers=teachers, plan=plan, initial={"date": today, "class_hours": plan.hours_per_visit,
                                                                       "teachers": list(plan.teachers.all())}),
        "goal_form": GoalForm(initial={"school_year": year,
                                       "term": Term.AUTUMN if today.month >= 9 or today.month == 1 else Term.SPRING}),
        "goals": plan.goals.all(), "weeks": weeks[::-1], "school_year": year, "terms": Term.choices,
        "areas": printing.plan_areas(plan),
    })


@login_required
def new_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """Create the 一人一案 of a disabled school-age child who has none (from the violations list or
    the child's page): the county administrator, the child's township, the responsible school."""
    _may_see_children(request)
    child = get_object_or_404(access.visible_children(request.user).select_related("group", "household"), pk=pk)
    today = timezone.localdate()
    responsible = rules.responsible_schools(Child.objects.filter(pk=child.pk), today).get(child.pk)
    if not scope.may_create_plan(request.user, child, responsible):
        raise Http404
    refused = ineligible(child, today)
    schools = scope.plan_schools(request.user, child, responsible)
    teachers = (access.visible_people(request.user).filter(school__in=schools.values("pk")).select_related("school")
                .order_by("school__code", "name"))
    instance = HomeTeachingPlan(child=child)
    if request.method == "POST":
        if refused:
            return render(request, "hometeaching/new_plan.html", {"child": child, "refused": refused}, status=400)
        form = NewPlanForm(request.POST, instance=instance, teachers=teachers, schools=schools)
        if form.is_valid():
            with transaction.atomic():
                plan = form.save()
                audit.record(request, AuditAction.CHANGE, child, summary=f"送教计划：{child.name} 新建（{plan.school.name}）",
                             after={"plan": plan.pk, "school": plan.school.code, "start": plan.start_date.isoformat(),
                                    "teachers": sorted(plan.teachers.values_list("pk", flat=True))})
            return redirect("hometeaching-plan", pk=plan.pk)
        status = 400
    elif request.method == "GET":
        form = NewPlanForm(instance=instance, teachers=teachers, schools=schools, initial={
            "school": responsible if schools.filter(pk=responsible or 0).exists() else None, "start_date": today,
            "visits_per_week": settings.GRIDMAP_HOME_VISITS_PER_WEEK, "hours_per_visit": settings.GRIDMAP_HOME_HOURS_PER_VISIT,
            "guardian_name": child.household.head_name if child.household else ""})
        status = 200
    else:
        return HttpResponse(status=405)
    audit.record(request, AuditAction.VIEW, child, summary=f"送教计划：{child.name} 新建页")
    return render(request, "hometeaching/new_plan.html", {
        "child": child, "form": form, "refused": refused,
        "responsible": School.objects.filter(pk=responsible).first() if responsible else None}, status=status)


@login_required
@require_POST
def record_visit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    if not access.may_write(request.user, plan):
        raise Http404
    form = VisitForm(request.POST, teachers=_teachers(request.user, plan), plan=plan)
    if not form.is_valid():
        return render(request, "hometeaching/form_errors.html", {"form": form, "plan": plan}, status=400)
    with transaction.atomic():
        visit = form.save(commit=False)
        visit.plan = plan
        visit.recorded_by = request.user
        if visit.start_time and visit.end_time and visit.minutes is None:
            visit.minutes = ((visit.end_time.hour * 60 + visit.end_time.minute)
                             - (visit.start_time.hour * 60 + visit.start_time.minute))
        visit.save()
        form.save_m2m()
        audit.record(request, AuditAction.CHANGE, plan.child, summary=f"送教记录：{plan.child.name} {visit.date}",
                     after={"visit": visit.pk, "date": visit.date.isoformat()})
    return redirect("hometeaching-plan", pk=plan.pk)


@login_required
@require_POST
def add_goal(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    if not access.may_write(request.user, plan):
        raise Http404
    form = GoalForm(request.POST)
    if not form.is_valid():
        return render(request, "hometeaching/form_errors.html", {"form": form, "plan": plan}, status=400)
    with transaction.atomic():
        goal = form.save(commit=False)
        goal.plan = plan
        goal.save()
        audit.record(request, AuditAction.CHANGE, plan.child, summary=f"送教目标：{plan.child.name}")
    return redirect("hometeaching-plan", pk=plan.pk)


@login_required
@require_GET
def handbook(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    try:
        year = int(request.GET.get("year", ""))
        term = request.GET.get("term", "")
        if not 2000 <= year <= 2100 or term not in Term.values:
            raise ValueError
    except ValueError:
        return HttpResponseBadRequest(_("Give year=YYYY and term=1 (autumn) or 2 (spring)."))
    pdf = printing.handbook_pdf(plan, year, term)
    audit.record(request, AuditAction.EXPORT, plan.child, summary=f"送教手册：{plan.child.name} {year}-{term}")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="handbook-{plan.pk}-{year}-{term}.pdf"'
    return response


def _route_school(request: HttpRequest, code: str, week: weekly.Week) -> School:
    """The school whose routes of the week this login may see (404 otherwise: see scope.may_see_routes)."""
    school = _school(request, code)
    if not scope.may_see_routes(request.user, school, week):
        raise Http404
    return school


def _week_plan(request: HttpRequest, code: str) -> tuple[School, routes.WeekPlan] | HttpResponse:
    try:
        week = _week(request)
    except ValueError as error:
        _school(request, code)  # an unknown school is a 404 before a bad week is a 400
        return HttpResponseBadRequest(str(error))
    school = _route_school(request, code, week)
    return school, cache.week_plan(school, week)


def _trip_number(request: HttpRequest, plan: routes.WeekPlan) -> int | None:
    text = request.GET.get("trip", "")
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= len(plan.trips):
        raise Http404
    return int(text)


@login_required
@require_GET
def routes_page(request: HttpRequest, code: str) -> HttpResponse:
    got = _week_plan(request, code)
    if isinstance(got, HttpResponse):
        return got
    school, plan = got
    audit.record(request, AuditAction.LIST, school,
                 summary=f"送教路线：{school.name} {routes.week_text(plan.week)} {len(plan.trips)} 趟")
    mon = weekly.monday(plan.week)
    township = Area.objects.get(pk=school.township_id)
    fmap = grid_map(township, request.user, grid.cells(request.user, township),
                    layers=routes_page_layers(school.code, school.name, plan.week))
    return render(request, "hometeaching/routes.html", {
        "school": school, "plan": plan, "week": routes.week_text(plan.week), "map": render_map(fmap.map),
        "prev": routes.week_text(weekly.week_of(mon - timedelta(days=7))),
        "next": routes.week_text(weekly.week_of(mon + timedelta(days=7))),
        "trips": [(t, [(s, routes.clock_text(a)) for s, a in zip(t.stops, t.starts, strict=True)],
                   round(t.travel_s / 60, 1), layer.colour(t.number)) for t in plan.trips],
        "unfit": [(s, routes.reason_text(r)) for s, r in plan.unfit],
        "township": township,
    })


def _scope_key(user: Any) -> str:
    s = access.scope_of(user)
    return f"{user.pk}|{s.role}|{s.everywhere}|{s.area_codes}|{s.school_ids}|{s.individual_children}"


@login_required
@require_GET
def routes_layer(request: HttpRequest, code: str) -> HttpResponse:
    """The route layer's GeoJSON, with an ETag from the week plan's fingerprint (304 when unchanged:
    nothing planned, nothing read)."""
    try:
        week = _week(request)
    except ValueError as error:
        _school(request, code)
        return HttpResponseBadRequest(str(error))
    school = _route_school(request, code, week)
    fp = cache.fingerprint(school, week)
    etag = '"' + hashlib.sha1(f"{fp}|{routes.week_text(week)}|{_scope_key(request.user)}|{get_language()}"
                              .encode()).hexdigest()[:20] + '"'
    if etag in [t.strip().removeprefix("W/") for t in request.headers.get("If-None-Match", "").split(",")]:
        response: HttpResponse = HttpResponseNotModified()
    else:
        plan = cache.week_plan(school, week)
        audit.record(request, AuditAction.LIST, school, summary=f"送教路线图层：{school.name} {routes.week_text(plan.week)}")
        response = JsonResponse(layer.features(plan), json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return response


@login_required
@require_GET
def route_sheet(request: HttpRequest, code: str) -> HttpResponse:
    got = _week_plan(request, code)
    if isinstance(got, HttpResponse):
        return got
    school, plan = got
    n = _trip_number(request, plan)
    trips = [plan.trips[n - 1]] if n else plan.trips
    pdf = printing.route_sheets_pdf(plan, trips)
    audit.record(request, AuditAction.EXPORT, school, summary=f"送教路线单：{school.name} {routes.week_text(plan.week)}")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="routes-{school.code}-{routes.week_text(plan.week)}.pdf"'
    return response


@login_required
@require_GET
def route_phone(request: HttpRequest, code: str) -> HttpResponse:
    got = _week_plan(request, code)
    if isinstance(got, HttpResponse):
        return got
    school, plan = got
    n = _trip_number(request, plan) or (1 if plan.trips else None)
    audit.record(request, AuditAction.LIST, school, summary=f"送教路线（手机）：{school.name} {routes.week_text(plan.week)}")
    page = printing.trip_context(plan, plan.trips[n - 1]) if n else None
    return render(request, "hometeaching/phone.html", {"school": school, "plan": plan, "page": page,
                                                        "week": routes.week_text(plan.week),
                                                        "numbers": range(1, len(plan.trips) + 1),
                                                        "current": n})


def today() -> date:
    return timezone.localdate()

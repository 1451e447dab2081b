"""The planning pages; thin: the work is in planning.baseline / evaluate / report / suggest / export.

- /schools/<code>/                     a school's page (scoped like every page; the catchment sheets'
                                       QR codes point here)
- /planning/                           the county's scenarios; a new one
- /planning/<id>/                      one scenario: its changes, the impact report, the before/after map
- /planning/<id>/map.json              the map's data
- /planning/<id>/report.xlsx|.pdf      exports (?paper=A4|A3 for the PDF)
- /planning/<id>/change/ (POST), /planning/<id>/change/<c>/delete/, /copy/, /delete/
- /planning/compare/?ids=1,2[,3,4]     scenarios side by side (?format=xlsx)
- /planning/suggest/                   a suggested plan (p-median), saved as a scenario to edit
County-wide logins read scenarios (counts suppressed for the aggregate-only roles); the county
planner and administrator write them (gridmap.access.may_view_plans / may_plan).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gridmap import access, audit
from gridmap.models import Area, AreaLevel, AuditAction, School
from planning import baseline, evaluate, export, maps, report, suggest
from planning import school as school_page_data
from planning.disclosure import for_evaluation
from planning.forms import ChangeForm, ScenarioForm, SuggestForm, compare_ids
from planning.models import Origin, Scenario, ScenarioChange


def _county() -> Area:
    area = Area.objects.filter(level=AreaLevel.COUNTY, code=settings.GRIDMAP_COUNTY_CODE).first()
    area = area or Area.objects.filter(level=AreaLevel.COUNTY).order_by("code").first()
    if area is None:
        raise Http404
    return area


def _login(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def _viewer(request: HttpRequest) -> None:
    if not access.may_view_plans(request.user):
        raise PermissionDenied


def _planner(request: HttpRequest) -> None:
    if not access.may_plan(request.user):
        raise PermissionDenied


def _scenario(request: HttpRequest, pk: int) -> Scenario:
    _viewer(request)
    return get_object_or_404(Scenario.objects.select_related("county", "created_by"), pk=pk)


def _schools(county: Area) -> Any:
    return School.objects.filter(township__code__startswith=county.code).order_by("township__code", "kind", "name")


def evaluated(scenario: Scenario, user: Any, on: date | None = None) -> tuple[Any, Any, report.Report, report.Shown]:
    """The scenario evaluated, its report, and the counts as this login reads them (one decision for
    the page, the map and the exports: planning.disclosure)."""
    base = baseline.baseline(scenario.county, on)
    changes = scenario.as_changes()
    table = baseline.school_table(scenario.county.code, base.as_of)
    out = evaluate.evaluate(base, changes, scenario.overflow_rule, schools=table)
    shown = for_evaluation(user, base, out, changes)
    return base, out, report.build(base, out, changes, shown, scenario.name), shown


@login_required
@require_GET
def school_page(request: HttpRequest, code: str) -> HttpResponse:
    if not code.isdigit() or len(code) != 10:
        raise Http404
    school = get_object_or_404(access.visible_schools(request.user).select_related("township"), code=code)
    data = school_page_data.page(request.user, school)
    if data.home_taught_rows:
        audit.record(request, AuditAction.LIST, school,
                     summary=f"学校页：{school.name} 送教上门儿童 {len(data.home_taught_rows)} 名")
    return render(request, "planning/school.html", {"d": data, "s": school,
                                                    "may_view_plans": access.may_view_plans(request.user)})


@login_required
def scenario_list(request: HttpRequest) -> HttpResponse:
    _viewer(request)
    county = _county()
    form = ScenarioForm(request.POST or None, initial={"overflow_rule": settings.GRIDMAP_PLANNING_OVERFLOW})
    if request.method == "POST":
        _planner(request)
        if form.is_valid():
            scenario = form.save(commit=False)
            scenario.county = county
            scenario.created_by = _login(request)
            scenario.save()
            return redirect("planning:scenario", pk=scenario.pk)
    scenarios = Scenario.objects.filter(county=county).select_related("created_by").prefetch_related(
        "changes__school")
    return render(request, "planning/list.html", {"scenarios": scenarios, "form": form, "county": county,
                                                  "may_plan": access.may_plan(request.user)})


@login_required
def scenario_page(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario(request, pk)
    form = ScenarioForm(request.POST or None, instance=scenario)
    if request.method == "POST":
        _planner(request)
        if form.is_valid():
            form.save()
            return redirect("planning:scenario", pk=scenario.pk)
    error = ""
    rep = None
    try:
        rep = evaluated(scenario, request.user)[2]
    except evaluate.ScenarioError as e:
        error = str(e)
    change_form = ChangeForm(schools=_schools(scenario.county))
    return render(request, "planning/scenario.html", {
        "scenario": scenario, "report": rep, "error": error, "form": form, "change_form": change_form,
        "changes": scenario.changes.select_related("school", "into").order_by("pk"),
        "may_plan": access.may_plan(request.user), "tables": export.tables(rep) if rep else [],
        "stat_rows": export.stat_pairs(rep) if rep else []})


@login_required
@require_POST
def change_add(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario(request, pk)
    _planner(request)
    form = ChangeForm(request.POST, schools=_schools(scenario.county))
    if not form.is_valid():
        text = "；".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(request, _("Not saved: %(errors)s") % {"errors": text})
        return redirect("planning:scenario", pk=scenario.pk)
    d = form.cleaned_data
    row = ScenarioChange(scenario=scenario, action=d["action"], school=d["school"],
                         into=d["into"] if d["action"] == evaluate.MERGE else None,
                         first_grade=d["first_grade"] if d["action"] == evaluate.GRADES else None,
                         last_grade=d["last_grade"] if d["action"] == evaluate.GRADES else None,
                         capacity=d["capacity"] if d["action"] == evaluate.CAPACITY else None,
                         boarding=d["boarding"] if d["action"] == evaluate.BOARDING else None)
    others = [c for c in scenario.as_changes() if not (c.school == row.school.code and c.action == row.action)]
    try:  # check against the schools as they are, before anything is written
        table = baseline.school_table(scenario.county.code, date.today())
        evaluate.apply(table, [*others, row.as_change()])
    except evaluate.ScenarioError as e:
        messages.error(request, _("Not saved: %(errors)s") % {"errors": str(e)})
        return redirect("planning:scenario", pk=scenario.pk)
    with transaction.atomic():
        ScenarioChange.objects.filter(scenario=scenario, school=row.school, action=row.action).delete()
        if row.action in (evaluate.CLOSE, evaluate.MERGE):  # one fate per school
            ScenarioChange.objects.filter(scenario=scenario, school=row.school,
                                          action__in=[evaluate.CLOSE, evaluate.MERGE]).delete()
        row.save()
        scenario.save(update_fields=["updated_at"])
    return redirect("planning:scenario", pk=scenario.pk)


@login_required
@require_POST
def change_delete(request: HttpRequest, pk: int, change: int) -> HttpResponse:
    scenario = _scenario(request, pk)
    _planner(request)
    get_object_or_404(ScenarioChange, pk=change, scenario=scenario).delete()
    scenario.save(update_fields=["updated_at"])
    return redirect("planning:scenario", pk=scenario.pk)


@login_required
@require_POST
def scenario_copy(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario(request, pk)
    _planner(request)
    with transaction.atomic():
        changes = list(scenario.changes.all())
        copy = Scenario.objects.create(name=(_("Copy of %(name)s") % {"name": scenario.name})[:100],
                                       description=scenario.description, county=scenario.county,
                                       overflow_rule=scenario.overflow_rule, origin=Origin.COPY,
                                       solver=scenario.solver, created_by=_login(request))
        for c in changes:
            c.pk = None
            c.scenario = copy
            c.save()
    return redirect("planning:scenario", pk=copy.pk)


@login_required
@require_POST
def scenario_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario(request, pk)
    _planner(request)
    scenario.delete()
    return redirect("planning:list")


@login_required
@require_GET
def scenario_map(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario(request, pk)
    try:
        base, out, _rep, shown = evaluated(scenario, request.user)
    except evaluate.ScenarioError as e:
        return HttpResponseBadRequest(str(e))
    return JsonResponse(maps.scenario_map(base, out, shown),
                        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})


@login_required
@require_GET
def scenario_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    scenario = _scenario(request, pk)
    paper = request.GET.get("paper", "A4")
    if paper not in ("A4", "A3"):
        return HttpResponseBadRequest(_("paper must be A4 or A3"))
    try:
        base, out, rep, shown = evaluated(scenario, request.user)
    except evaluate.ScenarioError as e:
        return HttpResponseBadRequest(str(e))
    audit.record(request, AuditAction.EXPORT, scenario, summary=f"撤并方案报告：{scenario.name}（{fmt}）")
    if fmt == "xlsx":
        body = export.workbook(rep)
        return export.response(body, f"{scenario.name}.xlsx", export.XLSX)
    data = maps.scenario_map(base, out, shown)
    return export.response(export.pdf(rep, data, paper), f"{scenario.name}.pdf", "application/pdf")


@login_required
@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    _viewer(request)
    ids = compare_ids(request.GET.get("ids", ""))
    fmt = request.GET.get("format", "html")
    if ids is None or fmt not in ("html", "xlsx"):
        return HttpResponseBadRequest(_("Choose two to four scenarios to compare."))
    scenarios = list(Scenario.objects.filter(pk__in=ids).select_related("county"))
    if len(scenarios) != len(ids):
        raise Http404
    scenarios.sort(key=lambda s: ids.index(s.pk))
    reports = []
    for s in scenarios:
        try:
            reports.append(evaluated(s, request.user)[2])
        except evaluate.ScenarioError as e:
            return HttpResponseBadRequest(f"{s.name}: {e}")
    rows = export.comparison(reports)
    if fmt == "xlsx":
        audit.record(request, AuditAction.EXPORT, None, summary=f"撤并方案比较：{', '.join(s.name for s in scenarios)}")
        return export.response(export.comparison_workbook(scenarios, rows), "scenarios.xlsx", export.XLSX)
    return render(request, "planning/compare.html", {"scenarios": scenarios, "reports": reports, "rows": rows,
                                                     "ids": ",".join(str(i) for i in ids)})


@login_required
def suggest_page(request: HttpRequest) -> HttpResponse:
    _viewer(request)
    county = _county()
    form = SuggestForm(request.POST or None, schools=_schools(county), initial={"capacities": True})
    if request.method == "POST":
        _planner(request)
        if form.is_valid():
            d = form.cleaned_data
            target = suggest.Target(close=d["close"], objective=d["objective"], capacities=d["capacities"],
                                    fixed_open=[s.code for s in d["fixed_open"]], max_pupils=d["max_pupils"],
                                    time_limit_s=settings.GRIDMAP_PLANNING_SOLVER_SECONDS)
            base = baseline.baseline(county)
            try:
                result = suggest.suggest(base, baseline.school_table(county.code, base.as_of), target)
            except suggest.SuggestError as e:
                form.add_error(None, str(e))
            else:
                scenario = save_suggestion(county, request.user, result, d["name"])
                return redirect("planning:scenario", pk=scenario.pk)
    return render(request, "planning/suggest.html", {"form": form, "may_plan": access.may_plan(request.user)})


def save_suggestion(county: Area, user: Any, result: suggest.Suggestion, name: str = "") -> Scenario:
    by_code = {s.code: s for s in School.objects.filter(code__in=result.closed)}
    facts = result.facts()
    default = _("Suggested: close %(n)s (gap %(gap)s)") % {"n": len(result.closed),
                                                           "gap": f"{100 * result.result.gap:.2f}%"}
    with transaction.atomic():
        scenario = Scenario.objects.create(name=(name or default)[:100], county=county, origin=Origin.SUGGESTED,
                                           solver=facts, created_by=user if getattr(user, "pk", None) else None,
                                           overflow_rule=settings.GRIDMAP_PLANNING_OVERFLOW)
        ScenarioChange.objects.bulk_create([ScenarioChange(scenario=scenario, action=evaluate.CLOSE,
                                                           school=by_code[c]) for c in result.closed])
    return scenario

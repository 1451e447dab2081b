"""The monthly report page (per township with its schools, per county with its townships, per
school for school staff), its submission by the township, and the county dashboard."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridmap import access, audit, charts, exports, grid, reports
from gridmap import published as published_module
from gridmap.forms import MonthForm
from gridmap.models import Area, AreaLevel, AuditAction, ReportSubmission

TREND_MONTHS = 12
PUBLISHED_NOTE = published_module.NOTE


def _safety(published: Any, row: Any) -> dict[str, Any]:
    """The dashboard's safety-net figures of a row (issue 18): exact, or — for aggregate-only logins —
    as the month's protected decision shows them (gridmap.published)."""
    if published is not None:
        return published.safety(row.code)  # type: ignore[no-any-return]
    return {"aid_eligible": row.aid_eligible, "aid_gap": row.aid_gap,
            "aid_coverage": "" if row.aid_coverage is None else row.aid_coverage,
            "transfers_open": row.transfers_open, "transfers_late": row.transfers_late}


def _month(request: HttpRequest) -> str:
    """The month asked for (YYYY-MM), this month when none was; a month that is not one is a 400
    that says so (it used to show the current month without a word)."""
    form = MonthForm(request.GET or request.POST or None)
    if form.is_bound and not form.is_valid():
        given = (request.GET.get("month") or request.POST.get("month") or "")[:20]
        raise BadRequest(_("Invalid month “%(month)s”: enter it as YYYY-MM, from 2000-01 to 2100-12.") % {"month": given})
    if form.is_bound and form.cleaned_data["month"]:
        return str(form.cleaned_data["month"])
    return f"{timezone.localdate():%Y-%m}"


def _report_area(request: HttpRequest, code: str) -> Area:
    """A county or township whose report this login may read: the county and every township for
    county roles, a township official's own township, a school's township (its own rows only).
    grid_roots also holds ancestors shown for context; their figures are not this login's to see."""
    area = get_object_or_404(grid.grid_roots(request.user), code=code)
    scope = access.scope_of(request.user)
    if area.level not in (AreaLevel.COUNTY, AreaLevel.TOWNSHIP):
        raise Http404  # reports are filed by townships (and by schools, on their township's page)
    own = (scope.everywhere or any(area.code.startswith(c) for c in scope.area_codes if not scope.school_ids)
           or (scope.school_ids and access.visible_schools(request.user).filter(township=area).exists()))
    if not own:
        raise Http404
    return area


def _rows(user: Any, area: Area, month: str) -> list[reports.MonthlyFigures]:
    scope = access.scope_of(user)
    if scope.school_ids:  # school staff: their own schools' reports only
        return [reports.for_school(s, month) for s in access.visible_schools(user).filter(township=area)
                .order_by("kind", "code")]
    return reports.report_units(area, month)


@login_required
def report_page(request: HttpRequest, code: str) -> HttpResponseBase:
    area = _report_area(request, code)
    month = _month(request)
    title = f"{area.name} {month} 控辍保学月报"
    published = access.published_figures(request.user, month)
    note = reports.PROXY_NOTE
    if published is not None:  # aggregate-only: the month's protected figures, the same everywhere
        rows = [published.units[c].figures for c in published.rows_of(area.code)]
        shown = [published.report_row(c) for c in published.rows_of(area.code)]
        note = f"{reports.PROXY_NOTE}\n{PUBLISHED_NOTE}"
    else:
        rows = _rows(request.user, area, month)
        shown = [reports.report_row(r) for r in rows]
    fmt = request.GET.get("format")
    if fmt in ("xlsx", "csv"):
        audit.record(request, AuditAction.EXPORT, area, summary=f"导出{title}.{fmt}")
        note = f"数据截至 {reports.as_of(month):%Y-%m-%d}。{reports.ROWS_NOTE} {note}"
        return exports.table_response(title, reports.REPORT_HEADERS, shown, fmt,
                                      title.replace(" ", "_"), reports.REPORT_WIDTHS, note=note)
    first, _last = reports.month_bounds(month)
    submissions = {s.area.code: s for s in ReportSubmission.objects.filter(
        month=first, area__in=[area, *Area.objects.filter(parent=area)]).select_related("area", "submitted_by")
        if s.area is not None}
    table = [(r, row, submissions.get(r.code)) for r, row in zip(rows, shown, strict=True)]
    return render(request, "gridmap/report.html", {
        "area": area, "month": month, "form": MonthForm(initial={"month": month}), "table": table,
        "headers": reports.REPORT_HEADERS, "proxy_note": note, "rows_note": reports.ROWS_NOTE,
        "submission": submissions.get(area.code),
        "may_submit": area.level == AreaLevel.TOWNSHIP and access.may_act(request.user, access.REPORT),
        "in_progress": month == f"{timezone.localdate():%Y-%m}", "as_of": reports.as_of(month),
        "total": rows[-1] if rows and not access.scope_of(request.user).school_ids else None,
    })



@login_required
@require_POST
def submit_report(request: HttpRequest, code: str) -> HttpResponse:
    area = _report_area(request, code)
    month = _month(request)
    if area.level != AreaLevel.TOWNSHIP or not access.may_act(request.user, access.REPORT):
        audit.record(request, AuditAction.DENIED, area, summary=f"无权上报月报 {code} {month}")
        raise PermissionDenied
    submission = reports.submit(area, month, request.user)
    audit.record(request, AuditAction.CHANGE, area, summary=f"上报月报 {area.name} {month}"
                 + ("（零报告）" if submission.zero_report else ""), after={"month": month})
    messages.success(request, (_("%(area)s: zero report for %(month)s submitted.") if submission.zero_report
                               else _("%(area)s: monthly report for %(month)s submitted.")) % {
        "area": area.name, "month": month})
    return HttpResponseRedirect(f"{reverse('report', args=[code])}?month={month}")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """County indicators: this month's figures per township with a 12-month sparkline, the county
    trend, and which townships have filed their report."""
    scope = access.scope_of(request.user)
    if not scope.everywhere:
        home = access.home_area(request.user)
        if home is None or home.level != AreaLevel.TOWNSHIP:
            raise PermissionDenied
        return HttpResponseRedirect(reverse("report", args=[home.code]))
    county = access.home_area(request.user)
    if county is None:
        raise Http404
    month = _month(request)
    series: dict[str, Any] = reports.trend(county, month, TREND_MONTHS)
    # Months before the ledgers began hold no data, not zeros: start every chart at the first one.
    start = next((i for i, p in enumerate(series[county.code]) if p.school_age), 0)
    series = {code: points[start:] for code, points in series.items()}
    rows: list[Any]
    published = access.published_figures(request.user, month)
    if published is not None:  # aggregate-only: every figure and chart point from its month's decision
        codes = published.rows_of(county.code)
        rows = [published.figures(c) for c in codes]
        months = [access.published_figures(request.user, p.month) for p in series[county.code]]
        series = {c: [m.point(c) for m in months] for c in codes}
        shown = {c: [[str(m.get(c, k)) for k in ("suspected", "dropped_out", "school_age", "off_school")]
                     for m in months] for c in codes}
    else:
        rows = reports.report_units(county, month)
        shown = {c: [[str(p.suspected), str(p.dropped_out), str(p.school_age), str(p.off_school)] for p in points]
                 for c, points in series.items()}
    first, _last = reports.month_bounds(month)
    submitted = {s.area.code: s for s in ReportSubmission.objects.filter(month=first, area__parent=county)
                 .select_related("area", "submitted_by") if s.area is not None}
    # What each chart draws, stated beside it (data-values): a hidden point is not drawn.
    townships = [(r, charts.sparkline(series.get(r.code, [])), submitted.get(r.code),
                  ",".join(p[3] for p in shown.get(r.code, [])), _safety(published, r)) for r in rows[:-1]]
    labels = {"suspected": _("suspected"), "dropped_out": _("dropped out"), "rate": _("dropout rate (‰)")}
    audit.record(request, AuditAction.LIST, county, summary=f"县级看板 {month}")
    return render(request, "gridmap/dashboard.html", {
        "county": county, "month": month, "form": MonthForm(initial={"month": month}), "total": rows[-1],
        "safety": _safety(published, rows[-1]),
        "townships": townships, "trend_svg": charts.county_trend(series[county.code], labels),
        "trend": series[county.code], "filed": len(submitted),
        "proxy_note": reports.PROXY_NOTE + (f" {PUBLISHED_NOTE}" if published is not None else ""),
        "trend_values": ";".join(f"{p.month}:{','.join(v[:3])}"
                                 for p, v in zip(series[county.code], shown[county.code], strict=True)),
        "as_of": reports.as_of(month), "in_progress": month == f"{timezone.localdate():%Y-%m}",
    })

"""The hotspot layer's endpoints, scoped like the grid page (gridmap.access):

- `layer`: the month's FeatureCollection of an area (groups or villages), with an ETag over everything
  it depends on (a repeat with If-None-Match costs one snapshot query and gets a 304);
- `homes`: points of the homes of suspected and dropped-out children (logins that may see children;
  audited; rounded to ~10 m);
- `cell_cases`: a cell's open cases and suspected children without a case (same logins; audited);
- `timeline`: the last 12 months as small maps and per-group strips.
Bad parameters are a 400 with the reason; areas out of scope a 404.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _

from gridmap import access, audit, cases, grid, reports
from gridmap.models import Area, AuditAction, CaseStatus, Child, ChildStatus
from hotspots import data, timeline
from hotspots.export import describe_filters
from hotspots.forms import HotspotForm
from layers.hotspots import CLUSTER_STYLE, HotspotLayer

BODIES: data.LRU[str, bytes] = data.LRU(16)


def _root(request: HttpRequest, code: str) -> Area:
    """A grid root this login may open that holds cells in its scope (another township: 404)."""
    root = get_object_or_404(grid.grid_roots(request.user), code=code)
    if not data.cell_queryset(request.user, root).exists():
        raise Http404
    return root


def _bad(form: HotspotForm) -> JsonResponse:
    return JsonResponse(form.error_dict(), status=400, json_dumps_params={"ensure_ascii": False})


@login_required
def layer(request: HttpRequest, code: str) -> HttpResponse:
    root = _root(request, code)
    form = HotspotForm(request.GET)
    if not form.is_valid():
        return _bad(form)
    inputs = data.prepare(request.user, root, form.cleaned_data["month"], form.filters())
    level = form.cleaned_data["level"] or "group"
    etag = f'"{inputs.etag}-{level}"'
    # GZipMiddleware turns the ETag weak (W/"…") on compressed responses: compare the opaque part.
    if etag in [t.strip().removeprefix("W/") for t in request.headers.get("If-None-Match", "").split(",")]:
        response: HttpResponse = HttpResponseNotModified()
    else:
        body = BODIES.get(etag)
        if body is None:
            collection = HotspotLayer(root, request.user, analysis=data.analyse(inputs), level=level).collection()
            body = json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()
            BODIES.put(etag, body)
        response = HttpResponse(body, content_type="application/geo+json")
    response["ETag"] = etag
    patch_cache_control(response, private=True, max_age=0, must_revalidate=True)
    patch_vary_headers(response, ["Cookie"])
    return response


def _children_form(request: HttpRequest, code: str) -> tuple[Area, HotspotForm]:
    if not access.scope_of(request.user).individual_children:
        raise Http404  # aggregate-only logins get no points and no names
    root = _root(request, code)
    return root, HotspotForm(request.GET)


@login_required
def homes(request: HttpRequest, code: str) -> HttpResponse:
    root, form = _children_form(request, code)
    if not form.is_valid():
        return _bad(form)
    month, filters = form.cleaned_data["month"], form.filters()
    last = reports.month_bounds(month)[1]
    children = filters.apply(access.visible_children(request.user).filter(
        group__in=data.cell_queryset(request.user, root)), last)
    off = [c.pk for c in reports.school_age_then(reports.snapshot(children, last), last)
           if c.status in access.OFF_SCHOOL]
    homes = Child.objects.filter(pk__in=off, home__isnull=False).values_list("home", flat=True)
    points = [[round(p.y, 4), round(p.x, 4)] for p in homes if p is not None]
    audit.record(request, AuditAction.LIST, root,
                 summary=f"辍学热点：{root.name} {month} 疑似辍学/辍学儿童住址热力图（{len(points)} 人，"
                         f"{describe_filters(filters)}）")
    response = JsonResponse({"month": month, "points": points})
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
def cell_cases(request: HttpRequest, code: str) -> HttpResponse:
    if not access.scope_of(request.user).individual_children:
        raise Http404
    cell = get_object_or_404(access.visible_cells(request.user).select_related("parent"), code=code)
    open_cases = list(access.visible_cases(request.user).filter(child__group=cell, status=CaseStatus.OPEN)
                      .select_related("child", "school").annotate(n_steps=Count("steps")).order_by("opened_on", "pk"))
    deadlines = cases.deadlines(open_cases)
    for case in open_cases:
        case.deadline = deadlines.get(case.pk)
    suspected = list(access.visible_children(request.user).filter(group=cell, status=ChildStatus.SUSPECTED)
                     .exclude(pk__in=[c.child_id for c in open_cases]).order_by("name"))
    audit.record(request, AuditAction.LIST, cell,
                 summary=f"辍学热点：{cell.parent.name if cell.parent else ''}{cell.name}（{code}）在办案件与疑似辍学名单")
    return render(request, "hotspots/cell_cases.html", {"cell": cell, "cases": open_cases, "suspected": suspected})


@login_required
def timeline_page(request: HttpRequest, code: str) -> HttpResponse:
    root = _root(request, code)
    form = HotspotForm(request.GET)
    if not form.is_valid():
        return _bad(form)
    filters = form.filters()
    colors = {k: c for k, _label, c in CLUSTER_STYLE}
    result = timeline.build(request.user, root, form.cleaned_data["month"], filters, colors=colors)
    legend = [(k, str(label), c) for k, label, c in CLUSTER_STYLE if k.startswith(("hot", "cold"))]
    return render(request, "hotspots/timeline.html", {
        "area": root, "timeline": result, "month": form.cleaned_data["month"], "filters": describe_filters(filters),
        "legend": legend, "colors": {**colors, "none": "#ffffff"}, "query": request.GET.urlencode(),
        "title": _("Dropout hotspots, last 12 months"),
        "trail": list(access.visible_areas(request.user).ancestors_of(root).order_by("code")),
    })

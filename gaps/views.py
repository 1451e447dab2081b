"""Coverage pages and endpoints; thin: the work is in gaps.compute / tables / layer.

- /coverage/<code>/            the page: the map with the layer on, the tables, the slowest trips;
- /coverage/<code>/layer.json  the layer's GeoJSON, per login, with an ETag (304 when unchanged);
- /coverage/trip/<child>/      one child's way as a line along the roads (to=nearest|roll).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import numpy as np
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gaps import compute, layer, tables
from gridmap import access, audit, grid
from gridmap.models import KEY_GROUPS, Area, AreaLevel, AuditAction, RoadEdge
from layers.coverage import coverage_map_layers
from layers.maps import grid_map
from layers.maps import render as render_map
from routing import engine

AREA_LEVELS = (AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.VILLAGE)


def _area(request: HttpRequest, code: str) -> Area:
    if not code.isdigit() or len(code) > 15:
        raise Http404
    return get_object_or_404(access.visible_areas(request.user).filter(level__in=AREA_LEVELS), code=code)


def _scope_key(user: Any) -> str:
    s = access.scope_of(user)
    return f"{user.pk}|{s.role}|{s.everywhere}|{s.area_codes}|{s.school_ids}|{s.individual_children}"


@login_required
@require_GET
def layer_json(request: HttpRequest, code: str) -> HttpResponse:
    area = _area(request, code)
    today = date.today()
    fp = compute.fingerprint(area, today)
    etag = '"' + hashlib.sha1(f"{fp}|{_scope_key(request.user)}|{get_language()}".encode()).hexdigest()[:20] + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        cov = compute.compute(area, today)
        data = layer.features(request.user, area, cov)
        homes = sum(1 for f in data["features"] if f["properties"]["kind"] in ("home", "unrolled"))
        if homes:
            audit.record(request, AuditAction.LIST, area,
                         summary=f"覆盖缺口图层：{area.name}（{code}）{homes} 名儿童住址")
        response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Cookie, Accept-Language"
    return response


@login_required
@require_GET
def trip_json(request: HttpRequest, pk: int) -> HttpResponse:
    to = request.GET.get("to", "nearest")
    if to not in ("nearest", "roll"):
        return HttpResponseBadRequest(_("to must be nearest or roll"))
    child = get_object_or_404(access.visible_children(request.user).select_related("group"), pk=pk)
    township = Area.objects.get(code=child.group.code[:9])
    cov = compute.compute(township)
    row = tables.child_row(request.user, cov, child.pk)
    if row is None:
        raise Http404
    school = int(cov.nearest_school[row] if to == "nearest" else cov.roll_school[row])
    if school < 0:
        raise Http404
    norm = cov.norms[int(cov.norm_index[row])]
    info = cov.schools[school]
    boards = to == "roll" and info.boarding and norm.boarding  # a boarder's way, as the norm measures it
    mode = norm.boarding_mode if boards and norm.boarding_mode else norm.mode
    trip = engine.trip_path(cov.lonlat[row:row + 1], np.array([info.lonlat]), mode)
    audit.record(request, AuditAction.VIEW, child, summary=f"覆盖缺口：{child.name} 上学路线（{info.name}）")
    if trip is None:
        raise Http404
    return JsonResponse(trip.geojson({"school": info.name, "minutes": round(trip.time_s / 60, 1),
                                      "km": round(trip.distance_m / 1000, 2), "mode": norm.mode}),
                        json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def coverage_page(request: HttpRequest, code: str) -> HttpResponse:
    area = _area(request, code)
    cov = compute.compute(area)
    cells = grid.cells(request.user, area)
    fmap = grid_map(area, request.user, cells, layers=coverage_map_layers())
    schools = tables.by_school(request.user, cov)
    townships = tables.by_township(request.user, cov) if area.level == AreaLevel.COUNTY else []
    slow = tables.slowest(request.user, cov)
    if slow:
        audit.record(request, AuditAction.LIST, area, summary=f"覆盖缺口：{area.name}（{code}）路程最长的 {len(slow)} 名儿童")
    return render(request, "gaps/page.html", {
        "area": area, "map": render_map(fmap.map), "config": fmap.config, "cov": cov,
        # an empty network makes every child "off the network": say why, and how to build it
        "no_network": not RoadEdge.objects.exists(),
        "schools_off_network": [cov.schools[pk].name for pk in cov.schools_off_network],
        "total": tables.total(request.user, cov, area.name), "schools": schools, "townships": townships,
        "slowest": slow, "norms": [n.explain() for n in cov.norms], "grades": range(1, 10),
        "key_groups": [str(v) for v in KEY_GROUPS.values()],
        "individual": access.scope_of(request.user).individual_children,
        "trail": list(access.visible_areas(request.user).ancestors_of(area).order_by("code")),
    })

"""Which sheets an atlas has, and for each its paper, orientation and scale.

A sheet shows one cell (a village group, a village or a school catchment) with a margin around it so
the neighbours' outlines are visible. Its map frame has a fixed size in millimetres for the paper and
orientation; the scale is the smallest "nice" 1:n at which the cell and its margin fit, and the
orientation is whichever of portrait and landscape gives the larger scale. Geometry is in the metric
CRS (GRIDMAP_METRIC_SRID, metres), transformed by PostGIS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import shapely
from django.conf import settings
from django.contrib.gis.db.models.functions import Transform
from django.db.models import QuerySet

from gridmap import access
from gridmap.models import Area, AreaLevel, AtlasPer, School, SchoolStatus

# Map frame (width, height) in millimetres per paper and orientation; the rest of the page holds the
# title block, legend, locator and QR code (below the map in portrait, beside it in landscape).
FRAMES: dict[tuple[str, str], tuple[float, float]] = {
    ("A4", "portrait"): (194.0, 212.0), ("A4", "landscape"): (212.0, 186.0),
    ("A3", "portrait"): (281.0, 330.0), ("A3", "landscape"): (320.0, 273.0),
}
PAGES_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
NICE_SCALES = [500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 7500, 10000, 15000, 20000, 25000, 30000, 40000,
               50000, 75000, 100000, 150000, 200000, 250000, 500000]
MARGIN = 0.12  # of the cell's extent on each side, for the neighbours


@dataclass(frozen=True)
class SheetSpec:
    number: int
    per: str
    code: str  # the cell's code (group / village) or the school's code (catchment)
    name: str
    geom: Any  # shapely geometry, metres
    paper: str
    orientation: str
    scale: int  # the denominator n of 1:n
    school_id: int | None = None

    @property
    def frame_mm(self) -> tuple[float, float]:
        return FRAMES[(self.paper, self.orientation)]

    @property
    def metres_per_mm(self) -> float:
        return self.scale / 1000

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """The map's ground extent (metres): the frame at the scale, centred on the cell."""
        (x0, y0, x1, y1), (w_mm, h_mm) = self.geom.bounds, self.frame_mm
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half_w, half_h = w_mm * self.metres_per_mm / 2, h_mm * self.metres_per_mm / 2
        return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def exact_scale(geom: Any, frame: tuple[float, float]) -> float:
    """The n of 1:n at which the geometry plus its margin just fits the frame."""
    x0, y0, x1, y1 = geom.bounds
    width, height = (x1 - x0) * (1 + 2 * MARGIN), (y1 - y0) * (1 + 2 * MARGIN)
    return float(max(width / frame[0], height / frame[1], 1e-9) * 1000)  # metres per mm × 1000


def nice(exact: float) -> int:
    return next((n for n in NICE_SCALES if n >= exact), math.ceil(exact / 1000) * 1000)


def needed_scale(geom: Any, frame: tuple[float, float]) -> int:
    """The largest nice scale (smallest n) at which the geometry plus its margin fits the frame."""
    return nice(exact_scale(geom, frame))


def fit(geom: Any, paper: str) -> tuple[str, int]:
    """(orientation, scale): the orientation in which the cell can be drawn largest; portrait on a tie."""
    portrait, landscape = (exact_scale(geom, FRAMES[(paper, o)]) for o in ("portrait", "landscape"))
    return ("landscape", nice(landscape)) if landscape < portrait else ("portrait", nice(portrait))


def _metric(queryset: QuerySet[Any], field: str) -> QuerySet[Any]:
    annotated: QuerySet[Any] = queryset.annotate(metric=Transform(field, settings.GRIDMAP_METRIC_SRID))
    return annotated


def cells_for(user: Any, area: Area, per: str) -> list[tuple[str, str, Any, int | None]]:
    """(code, name, metric geometry, school id) of each cell of the atlas, in code order, in scope."""
    if per == AtlasPer.GROUP:
        rows = _metric(access.visible_cells(user).filter(code__startswith=area.code), "geom").order_by("code")
        return [(a.code, a.name, shapely.from_wkb(bytes(a.metric.wkb)), None) for a in rows]
    if per == AtlasPer.VILLAGE:
        villages = access.visible_areas(user).filter(level=AreaLevel.VILLAGE, code__startswith=area.code)
        if area.level == AreaLevel.GROUP:
            villages = access.visible_areas(user).filter(code=area.code[:12])
        rows = _metric(villages, "geom").order_by("code")
        return [(a.code, a.name, shapely.from_wkb(bytes(a.metric.wkb)), None) for a in rows]
    schools = (access.visible_schools(user).filter(catchment__isnull=False)
               .exclude(status=SchoolStatus.CLOSED)
               .filter(catchment_assignments__area__code__startswith=area.code).distinct())
    rows = _metric(School.objects.filter(pk__in=schools.values("pk")), "catchment").order_by("kind", "code")
    return [(s.code, s.name, shapely.from_wkb(bytes(s.metric.wkb)), s.pk) for s in rows]


def plan(user: Any, area: Area, per: str, paper: str = "A4", same_scale: bool = False) -> list[SheetSpec]:
    """The sheets of an atlas, numbered from 1. With same_scale every sheet gets the scale of the
    one that needs the smallest (so sheets can be laid side by side), each still oriented to fit."""
    specs = []
    for number, (code, name, geom, school_id) in enumerate(cells_for(user, area, per), start=1):
        orientation, scale = fit(geom, paper)
        specs.append(SheetSpec(number, per, code, name, geom, paper, orientation, scale, school_id))
    if same_scale and specs:
        common = max(s.scale for s in specs)
        specs = [replace(s, scale=common) for s in specs]
    return specs

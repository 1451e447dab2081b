"""The grid: village groups (the smallest cell) coloured by a chosen indicator, the villages whose
leader is missing, the labels of the level below the root, and the schools' catchments.

Cells carry one class index per indicator; static/gridmap/grid.js colours them from the legend in
the page's config, so switching indicator needs no round trip.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Protocol

import folium
from django.contrib.gis.db.models.functions import Intersection
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from folium.utilities import JsCode

from gridmap import access
from gridmap.grid import Cell, Gap
from gridmap.models import Area, AreaLevel, School
from gridmap.models.areas import CODE_LENGTH
from gridmap.models.functions import PolygonalPart
from gridmap.models.schools import SchoolQuerySet
from layers.base import MapLayer

# Qualitative palette (ColorBrewer Set3/Paired mix), light enough for labels on top. Neighbouring
# schools' areas get different colours (graph colouring below); planar maps need at most four.
PALETTE = ["#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5",
           "#ffed6f", "#bc80bd", "#ccebc5"]
GAP_COLOR = "#d9d9d9"
BLUES = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]
CHILD_LEVEL = {AreaLevel.COUNTY: AreaLevel.TOWNSHIP, AreaLevel.TOWNSHIP: AreaLevel.VILLAGE,
               AreaLevel.VILLAGE: AreaLevel.GROUP}
ADJACENCY_SECONDS = 3600  # cells' neighbours change only when boundaries are imported again


def cell_adjacency(root: Area) -> list[tuple[int, int]]:
    """Pairs of village groups under `root` that touch or overlap (a spatial self-join on the
    boundary index, ~0.3 s for a county; kept in the cache as boundaries rarely change)."""
    from django.core.cache import cache
    from django.db import connection
    from django.db.models import Count, Max

    groups = Area.objects.filter(level=AreaLevel.GROUP, code__startswith=root.code).aggregate(n=Count("pk"),
                                                                                                last=Max("pk"))
    key = f"gridmap:adjacency:{root.code}:{groups['n']}:{groups['last']}"
    pairs: list[tuple[int, int]] | None = cache.get(key)
    if pairs is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.id, b.id FROM gridmap_area a JOIN gridmap_area b ON a.id < b.id AND a.geom && b.geom"
                " AND ST_Intersects(a.geom, b.geom) WHERE a.level = 'group' AND b.level = 'group'"
                " AND a.code LIKE %s AND b.code LIKE %s", [f"{root.code}%", f"{root.code}%"])
            pairs = [(a, b) for a, b in cursor.fetchall()]
        cache.set(key, pairs, ADJACENCY_SECONDS)
    return pairs


def colour_graph(nodes: list[int], edges: list[tuple[int, int]], palette: list[str]) -> dict[int, str]:
    """DSatur greedy colouring: neighbours always differ (colours beyond the palette are generated,
    which a planar map of school areas never needs)."""
    adjacent: dict[int, set[int]] = {n: set() for n in nodes}
    for a, b in edges:
        if a != b:
            adjacent.setdefault(a, set()).add(b)
            adjacent.setdefault(b, set()).add(a)
    colours: dict[int, int] = {}
    while len(colours) < len(adjacent):
        node = max((n for n in adjacent if n not in colours),
                   key=lambda n: (len({colours[m] for m in adjacent[n] if m in colours}), len(adjacent[n]), -n))
        taken = {colours[m] for m in adjacent[node] if m in colours}
        colours[node] = next(i for i in range(len(adjacent) + 1) if i not in taken)
    return {n: palette[i] if i < len(palette) else f"hsl({(i * 137) % 360}, 55%, 78%)" for n, i in colours.items()}


def school_colors(schools: SchoolQuerySet, cells: list[Cell] | None = None, root: Area | None = None) -> dict[int, str]:
    """A colour per school such that schools whose responsible areas (cells) or catchments touch differ."""
    edges = list(School.objects.touching_pairs(schools))
    if cells and root is not None:
        school_of = {c.pk: c.school.pk for c in cells if c.school}
        edges += [(school_of[a], school_of[b]) for a, b in cell_adjacency(root)
                  if a in school_of and b in school_of and school_of[a] != school_of[b]]
    nodes = sorted(set(schools.values_list("pk", flat=True)) | {s for e in edges for s in e})
    return colour_graph(nodes, edges, PALETTE)


class Counted(Protocol):
    """What an indicator reads: a cell, or an area summed from its cells (layers.aggregates)."""

    pk: int
    children: int | str
    off_school: int | str

    @property
    def off_school_per_100(self) -> float | None: ...


@dataclass
class Indicator:
    key: str
    label: str
    classes: list[tuple[str, str]]  # legend: (label, colour), in order
    of: dict[int, int]  # cell pk → class index

    def config(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label,
                "classes": [{"label": label, "color": color} for label, color in self.classes]}


def children_indicator(cells: Sequence[Counted]) -> Indicator:
    """School-age children per cell: 0, "<5" (aggregate logins), then quartiles of the rest."""
    counts = sorted(c.children for c in cells if isinstance(c.children, int) and c.children > 0)
    cuts = sorted({round(q) for q in statistics.quantiles(counts, n=4)}) if len(counts) >= 4 else []
    bounds, low = [], 1 if not any(isinstance(c.children, str) for c in cells) else 5
    for cut in [*cuts, max(counts, default=0)]:
        if cut >= low:
            bounds.append((low, cut))
            low = cut + 1
    classes = [("0", "#f7f7f7")]
    hidden = sorted({c.children for c in cells if isinstance(c.children, str)})
    if hidden:  # "<5", and "*" (hidden so that a small count cannot be recomputed)
        classes.append((" / ".join(hidden), "#eff3ff"))
    first_range = len(classes)
    classes += [(f"{a}–{b}" if a != b else f"{a}", BLUES[i + 5 - len(bounds)]) for i, (a, b) in enumerate(bounds)]

    def of(c: Counted) -> int:
        if isinstance(c.children, str):
            return 1
        if c.children == 0:
            return 0
        return first_range + next((i for i, (_a, b) in enumerate(bounds) if c.children <= b), len(bounds) - 1)
    return Indicator("children", str(_("School-age children")), classes, {c.pk: of(c) for c in cells})


RATE_CLASSES = [(None, _("no school-age children"), "#ffffff"), (0.0, "0", "#f2f0f7"),
                (1.0, "0–1", "#fee5d9"), (2.0, "1–2", "#fcae91"), (5.0, "2–5", "#fb6a4a"),
                (float("inf"), "≥5", "#cb181d")]


def rate_indicator(cells: Sequence[Counted]) -> Indicator:
    classes = [(str(label), color) for _b, label, color in RATE_CLASSES]
    hidden = len(classes)
    classes.append((str(_("fewer than 5: not shown")), "#bdbdbd"))

    def of(c: Counted) -> int:
        rate = c.off_school_per_100
        if rate is None:
            return hidden
        if c.children == 0:
            return 0
        return next(i for i, (bound, _l, _c) in enumerate(RATE_CLASSES) if bound is not None and rate <= bound)
    return Indicator("rate", str(_("Suspected + dropped out per 100")), classes, {c.pk: of(c) for c in cells})


STATUS_CLASSES = [  # worst first: a cell shows the first gap it has
    (Gap.NO_SCHOOL, _("no responsible school"), "#d7301f"),
    (Gap.NO_CADRE, _("no responsible cadre"), "#fc8d59"),
    (Gap.UNTAUGHT, _("at-risk child without teacher"), "#fee08b"),
    (None, _("complete"), "#a6d96a"),
]


def status_indicator(cells: list[Cell]) -> Indicator:
    classes = [(str(label), color) for _g, label, color in STATUS_CLASSES]

    def of(c: Cell) -> int:
        return next(i for i, (gap, _l, _c) in enumerate(STATUS_CLASSES) if gap is None or gap in c.gaps)
    return Indicator("status", str(_("Responsibility status")), classes, {c.pk: of(c) for c in cells})


def root_school_colors(root: Area, cells: list[Cell] | None = None) -> dict[int, str]:
    """One colour per school of the root's townships, the same in the indicator and the catchments;
    kept on the root for the page being drawn."""
    colors: dict[int, str] | None = getattr(root, "_gridmap_school_colors", None)
    if colors is None:
        colors = school_colors(School.objects.filter(township__code__startswith=root.code[:9]), cells, root)
        root._gridmap_school_colors = colors  # type: ignore[attr-defined]
    return colors


def school_indicator(cells: list[Cell], root: Area) -> Indicator:
    colors = root_school_colors(root, cells)
    schools = sorted({c.school for c in cells if c.school}, key=lambda s: s.name)
    classes = [(s.name, colors.get(s.pk, PALETTE[s.pk % len(PALETTE)])) for s in schools]
    index = {s.pk: i for i, s in enumerate(schools)}
    classes.append((str(_("none (gap)")), GAP_COLOR))
    return Indicator("school", str(_("Responsible school")), classes,
                     {c.pk: index[c.school.pk] if c.school else len(schools) for c in cells})


def indicators(cells: list[Cell], root: Area, user: Any = None) -> list[Indicator]:
    from layers.hotspots import placeholder_indicators  # classes fetched on demand (hotspots.js)
    from layers.safetynet import aid_indicator  # 应助尽助 per cell (issue 18)

    # per cell only for logins that see children: gridmap.published protects no aid count per cell
    extra = [aid_indicator(cells, root, user)] if user is not None and access.scope_of(user).individual_children else []
    return [status_indicator(cells), rate_indicator(cells), children_indicator(cells),
            school_indicator(cells, root), *extra, *placeholder_indicators()]


class CellLayer(MapLayer):
    """The cells, styled and wired (click → card, hover, labels, search) by gmGrid in grid.js."""

    key = "cells"
    title = _("Village groups (grid cells)")
    properties = ["pk", "code", "name", "parent__name", "label_point"]

    def __init__(self, root: Area, user: Any, cells: list[Cell]) -> None:
        super().__init__(root, user, cells)
        # Coarser at county scale, where 3,600 cells would otherwise make the page heavy.
        self.simplify = 1e-4 if root.level == AreaLevel.COUNTY else 2e-5
        self.precision = 4 if root.level == AreaLevel.COUNTY else 5
        self.indicators = indicators(cells, root, user)
        self.by_pk = {c.pk: c for c in cells}

    def queryset(self) -> QuerySet[Any]:
        return access.visible_cells(self.user).filter(code__startswith=self.root.code)

    def has_tiles(self) -> bool:
        return bool(self.cells)

    def feature_properties(self, row: dict[str, Any]) -> dict[str, Any]:
        point, cell = row["label_point"], self.by_pk.get(row["pk"])
        return {"code": row["code"], "name": row["name"], "village": row["parent__name"],
                "lb": cell.short_name if cell else row["name"],
                "lp": [round(point.y, 5), round(point.x, 5)],  # where grid.js puts the name
                "k": {ind.key: ind.of.get(row["pk"], 0) for ind in self.indicators}}

    def draw(self, group: folium.FeatureGroup) -> None:
        folium.GeoJson(self.features(), name=self.key,
                       on_each_feature=JsCode("function(f, layer) { gmGrid.addCell(f, layer); }"),
                       ).add_to(group)


class VillageGapLayer(MapLayer):
    """Villages with no responsible township leader, outlined in red."""

    key = "village_gaps"
    title = _("Villages without a responsible leader")
    properties = ["code", "name"]
    simplify = 2e-5

    def queryset(self) -> QuerySet[Any]:
        missing = {c.village_pk for c in self.cells if Gap.NO_LEADER in c.gaps}
        return Area.objects.filter(pk__in=missing)

    def draw(self, group: folium.FeatureGroup) -> None:
        folium.GeoJson(self.features(), name=self.key,
                       style_function=lambda _f: {"color": "#b2182b", "weight": 3.5, "dashArray": "8 5",
                                                  "fill": False},
                       tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(group)


class LabelLayer(MapLayer):
    """Names of the level below the root (townships on the county, villages on a township)."""

    key = "labels"
    title = _("Names")
    geom_field = "label_point"
    properties = ["name"]

    def queryset(self) -> QuerySet[Any]:
        level = CHILD_LEVEL.get(AreaLevel(self.root.level))
        if level is None or level == AreaLevel.GROUP:  # group names come with the cells (grid.js)
            return Area.objects.none()
        codes = {c.code[:CODE_LENGTH[level]] for c in self.cells}
        return Area.objects.filter(code__in=codes)

    def draw(self, group: folium.FeatureGroup) -> None:
        level = CHILD_LEVEL[AreaLevel(self.root.level)]
        for feature in self.features()["features"]:
            x, y = feature["geometry"]["coordinates"]
            folium.Marker((y, x), icon=folium.DivIcon(
                html=f'<div class="gm-label gm-label-{level}">{escape(feature["properties"]["name"])}</div>',
                icon_size=(0, 0))).add_to(group)


class CatchmentLayer(MapLayer):
    """The catchments (学区) of the schools serving the root's cells, as coloured outlines."""

    key = "catchments"
    title = _("School catchments")
    show = False
    properties = ["pk", "name"]

    def __init__(self, root: Area, user: Any, cells: list[Cell]) -> None:
        super().__init__(root, user, cells)
        self.simplify = 2e-4 if root.level == AreaLevel.COUNTY else 5e-5  # outlines only
        self.precision = 4 if root.level == AreaLevel.COUNTY else 5

    def queryset(self) -> QuerySet[Any]:
        serving = access.visible_schools(self.user).filter(
            catchment_assignments__area__code__startswith=self.root.code)
        return School.objects.filter(pk__in=serving.values("pk"), catchment__intersects=self.root.geom)

    def geometry(self) -> Any:
        return PolygonalPart(Intersection("catchment", self.root.geom))

    def has_tiles(self) -> bool:
        return self.queryset().exists()

    def draw(self, group: folium.FeatureGroup) -> None:
        colors = root_school_colors(self.root)
        features = self.features()
        for f in features["features"]:
            pk = f["properties"].pop("pk")
            f["properties"]["color"] = colors.get(pk, PALETTE[pk % len(PALETTE)])
        folium.GeoJson(features, name=self.key,
                       style_function=lambda f: {"color": f["properties"]["color"], "weight": 3,
                                                 "opacity": 0.9, "fill": False, "dashArray": "6 4"},
                       tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(group)

"""Village and township aggregates of the grid for the zooms at which 3,600 cells are a speckle: each
area coloured by the indicator summed over its cells (counts of the children the login may count,
suppressed below 5 for aggregate-only logins as the cells are), drawn instead of the cells below a
zoom (static/gridmap/grid.js switches), and a click zooms into it (drill-down)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import folium
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from folium.utilities import JsCode

from gridmap import access
from gridmap.grid import Cell, SchoolOnGrid
from gridmap.models import Area, AreaLevel
from gridmap.models.areas import CODE_LENGTH
from layers.base import MapLayer
from layers.grid import GAP_COLOR, Indicator, children_indicator, rate_indicator, root_school_colors

# Below which zoom each aggregate replaces the cells, per root level (the cells' own zoom above).
BANDS: dict[str, list[tuple[str, float]]] = {
    AreaLevel.COUNTY: [(AreaLevel.TOWNSHIP, 11.25), (AreaLevel.VILLAGE, 12.75)],
    AreaLevel.TOWNSHIP: [(AreaLevel.VILLAGE, 12.0)],
}
COMPLETE_CLASSES = [(1.0, _("every cell complete"), "#a6d96a"), (0.9, "90–99%", "#d9ef8b"),
                    (0.75, "75–90%", "#fee08b"), (0.0, _("below 75%"), "#fc8d59")]


@dataclass
class Aggregate:
    pk: int
    code: str
    name: str
    children: int | str
    off_school: int | str
    cells: int
    complete: int  # cells without any responsibility gap
    school: SchoolOnGrid | None  # the responsible school, when all its cells share one

    @property
    def off_school_per_100(self) -> float | None:
        if not isinstance(self.children, int) or not isinstance(self.off_school, int):
            return None
        return 100 * self.off_school / self.children if self.children else 0.0


def aggregates(user: Any, root: Area, cells: list[Cell], level: str) -> list[Aggregate]:
    """The cells under `root` summed per area of `level` (village or township)."""
    n = CODE_LENGTH[AreaLevel(level)]
    scope = access.scope_of(user)
    by_area: dict[str, list[Cell]] = {}
    for cell in cells:
        by_area.setdefault(cell.code[:n], []).append(cell)
    children: Counter[str] = Counter()
    off_school: Counter[str] = Counter()
    for code, (n_children, n_off) in _cell_counts(user, root, cells).items():
        children[code[:n]] += n_children
        off_school[code[:n]] += n_off
    published = access.published_figures(user)  # aggregate-only logins: the month's protected figures
    out = []
    for pk, code, name in Area.objects.filter(code__in=by_area).values_list("pk", "code", "name"):
        mine = by_area[code]
        schools = Counter(c.school for c in mine)
        only = next(iter(schools)) if len(schools) == 1 else None
        shown = published.cell(code) if published is not None else None
        if shown is None:
            shown = (access.suppress(children[code], scope), access.suppress(off_school[code], scope))
        out.append(Aggregate(pk, code, name, shown[0], shown[1], len(mine),
                             sum(1 for c in mine if not c.gaps), only))
    return out


def _cell_counts(user: Any, root: Area, cells: list[Cell]) -> dict[str, tuple[int, int]]:
    """Children and those off school per cell, before suppression (summed first, suppressed after),
    in one query shared by the page's aggregate levels."""
    cached: dict[str, tuple[int, int]] | None = getattr(root, "_gridmap_cell_counts", None)
    if cached is None and access.scope_of(user).individual_children:
        # exact counts: the cells carry them already (gridmap.grid.cells, the same access.cell_counts);
        # counting again took 0.6 s for a county on the province's data set
        cached = {c.code: (int(c.children), int(c.off_school)) for c in cells}
        root._gridmap_cell_counts = cached  # type: ignore[attr-defined]
    if cached is None:
        children, off_school = access.cell_counts()
        rows = (access.countable_children(user).filter(group__in=[c.pk for c in cells]).values("group__code")
                .annotate(children=children, off_school=off_school))
        cached = {r["group__code"]: (r["children"], r["off_school"]) for r in rows}
        root._gridmap_cell_counts = cached  # type: ignore[attr-defined]
    return cached


def complete_indicator(areas: list[Aggregate]) -> Indicator:
    classes = [(str(label), colour) for _b, label, colour in COMPLETE_CLASSES]

    def of(a: Aggregate) -> int:
        share = a.complete / a.cells if a.cells else 1.0
        return next(i for i, (bound, _l, _c) in enumerate(COMPLETE_CLASSES) if share >= bound)
    return Indicator("status", str(_("Cells with complete responsibility")), classes, {a.pk: of(a) for a in areas})


def school_indicator(areas: list[Aggregate], root: Area, cells: list[Cell]) -> Indicator:
    colors = root_school_colors(root, cells)
    schools = sorted({a.school for a in areas if a.school}, key=lambda s: s.name)
    index = {s.pk: i for i, s in enumerate(schools)}
    classes = [(s.name, colors.get(s.pk, GAP_COLOR)) for s in schools]
    classes.append((str(_("several schools: zoom in")), "#f0f0f0"))
    return Indicator("school", str(_("Responsible school")), classes,
                     {a.pk: index[a.school.pk] if a.school else len(schools) for a in areas})


class AggregateLayer(MapLayer):
    """An aggregate level, drawn and switched by gmGrid (grid.js); not in the layer control."""

    level: str
    properties = ["pk", "code", "name"]
    simplify = 1e-4
    precision = 4

    def __init__(self, root: Area, user: Any, cells: list[Cell] | None = None) -> None:
        super().__init__(root, user, cells)
        self.applies = any(level == self.level for level, _z in BANDS.get(root.level, []))
        self.areas = aggregates(user, root, self.cells, self.level) if self.applies and self.cells else []
        self.indicators = [complete_indicator(self.areas), rate_indicator(self.areas),
                           children_indicator(self.areas), school_indicator(self.areas, root, self.cells)]
        self.by_pk = {a.pk: a for a in self.areas}

    def queryset(self) -> QuerySet[Any]:
        return Area.objects.filter(pk__in=list(self.by_pk))

    def has_tiles(self) -> bool:
        return bool(self.areas)

    def feature_properties(self, row: dict[str, Any]) -> dict[str, Any]:
        area = self.by_pk[row["pk"]]
        return {"code": row["code"], "name": row["name"], "lv": self.level, "children": area.children,
                "off": area.off_school, "k": {ind.key: ind.of.get(row["pk"], 0) for ind in self.indicators}}

    def config(self) -> dict[str, Any]:
        return {"indicators": [ind.config() for ind in self.indicators], "group": self.group_name}

    def draw(self, group: folium.FeatureGroup) -> None:
        folium.GeoJson(self.features(), name=self.key,
                       on_each_feature=JsCode("function(f, layer) { gmGrid.addArea(f, layer); }")).add_to(group)


class TownshipAggregateLayer(AggregateLayer):
    key = "township_aggregates"
    title = _("Townships (summed)")
    level = AreaLevel.TOWNSHIP
    control = False


class VillageAggregateLayer(AggregateLayer):
    key = "village_aggregates"
    title = _("Villages (summed)")
    level = AreaLevel.VILLAGE
    control = False

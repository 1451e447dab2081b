"""The grid map's layers as vector tiles: what each tile layer draws, for whom, and from which data.

A tile layer is the scoped queryset of its map layer (gridmap.access, as the GeoJSON layers use)
limited to the tile by the geometry index (`&&`), with the geometry in tile coordinates
(layers.tiles: simplified to half a pixel at the tile's zoom, clipped with a buffer). Properties are
language-free (codes, names, class indices, counts): what the page's legend and grid.js read.

The cells and the village/township aggregates carry what the grid page gives the login today and
nothing more (gridmap.grid.cells, layers.aggregates): counts exact for logins that see children,
the month's published figures (gridmap.published) for aggregate-only logins (planners, inspectors),
and the class index of each indicator of the page's legend. Those are computed once per grid root,
login scope and data version (layers.served caches them), not per tile.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.cache import caches
from django.db.models import FloatField, Func, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from gridmap import access
from gridmap.models import Area, AreaLevel, Road
from layers import versions
from layers.context import MAJOR_ROADS
from layers.models import Source
from layers.tiles import tile_geometry, tile_polygon

Props = dict[str, dict[str, Any]]  # feature code → its computed properties


class _Coord(Func):
    """A coordinate of a geometry (ST_X, ST_XMin, …) in degrees to 1e-5 (~1 m), as a double."""

    output_field = FloatField()
    template = "round(%(function)s(%(expressions)s)::numeric, 5)::float8"

    def __init__(self, expression: Any, function: str) -> None:
        super().__init__(expression, function=function)


def _rounded(expression: Any, function: str) -> _Coord:
    return _Coord(expression, function)


class TileLayer:
    """One layer of MVT tiles over the area `root` (a grid page's root) as `user` may see it."""

    key: ClassVar[str]
    sources: ClassVar[tuple[Source, ...]]  # the data it draws (layers.models.Source)
    counts: ClassVar[bool] = False  # carries children's counts (aggregate-only logins: published figures)
    simplify_px: ClassVar[float] = 0.5
    geom_field: ClassVar[str] = "geom"
    min_zoom: ClassVar[int] = 5  # below: an empty tile (a county is a few pixels)

    def __init__(self, root: Area, user: Any) -> None:
        self.root = root
        self.user = user

    def queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    fields: ClassVar[tuple[str, ...]] = ("code",)  # properties read from the model's fields

    def expressions(self) -> dict[str, Any]:
        """Properties computed in the database (name → expression)."""
        return {}

    def properties(self) -> Props | None:
        """Properties computed in Python, by feature code (None: none)."""
        return None

    def rows(self, z: int, x: int, y: int) -> QuerySet[Any]:
        geom = self.geom_field
        rows: QuerySet[Any] = (self.queryset().filter(**{f"{geom}__bboverlaps": tile_polygon(z, x, y)})
                               .annotate(mvt=tile_geometry(geom, z, x, y, self.simplify_px))
                               .values("mvt", *self.fields, **self.expressions()))
        return rows


class AreaTileLayer(TileLayer):
    level: ClassVar[str]
    sources: ClassVar[tuple[Source, ...]] = (Source.AREAS,)

    def queryset(self) -> QuerySet[Any]:
        return access.visible_areas(self.user).filter(code__startswith=self.root.code).at_level(self.level)

    fields: ClassVar[tuple[str, ...]] = ("code", "name", "synthetic")


class CountyTiles(AreaTileLayer):
    key = "county"
    level = AreaLevel.COUNTY
    min_zoom = 0

    def queryset(self) -> QuerySet[Any]:  # the root's own outline, as layers.boundaries.CountyLayer
        return access.visible_areas(self.user).filter(pk=self.root.pk, level=self.level)


class TownshipTiles(AreaTileLayer):
    key = "townships"
    level = AreaLevel.TOWNSHIP


class VillageTiles(AreaTileLayer):
    key = "villages"
    level = AreaLevel.VILLAGE


class CountedTiles(AreaTileLayer):
    """Areas filled by an indicator: the page's figures and classes for this login, by code."""

    sources = (Source.AREAS, Source.CHILDREN, Source.RESPONSIBILITIES, Source.SCHOOLS, Source.CATCHMENTS, Source.AID)
    counts = True

    fields = ("code", "name")

    def expressions(self) -> dict[str, Any]:  # the label point and the extent: tooltips, labels and drill-down
        return {"lx": _rounded("label_point", "ST_X"), "ly": _rounded("label_point", "ST_Y"),
                "w": _rounded("geom", "ST_XMin"), "s": _rounded("geom", "ST_YMin"),
                "e": _rounded("geom", "ST_XMax"), "n": _rounded("geom", "ST_YMax")}


class CellTiles(CountedTiles):
    key = "cells"
    level = AreaLevel.GROUP

    def queryset(self) -> QuerySet[Any]:  # as layers.grid.CellLayer
        return access.visible_cells(self.user).filter(code__startswith=self.root.code)

    def properties(self) -> Props:
        from layers.grid import indicators

        cells = root_cells(self.user, self.root)
        shown = indicators(cells, self.root, self.user)
        return {c.code: {"village": c.village_name, "lb": c.short_name, "children": c.children,
                         "off": c.off_school, **{f"k_{ind.key}": ind.of.get(c.pk, 0) for ind in shown}}
                for c in cells}


class AggregateTiles(CountedTiles):
    """Villages or townships summed from their cells (layers.aggregates), at the root's zooms."""

    def queryset(self) -> QuerySet[Any]:
        from layers.aggregates import BANDS

        if not any(level == self.level for level, _z in BANDS.get(self.root.level, [])):
            return Area.objects.none()
        return super().queryset()

    def properties(self) -> Props:
        from layers.aggregates import TownshipAggregateLayer, VillageAggregateLayer

        page_layer = TownshipAggregateLayer if self.level == AreaLevel.TOWNSHIP else VillageAggregateLayer
        layer = page_layer(self.root, self.user, root_cells(self.user, self.root))
        return {a.code: {"lv": self.level, "children": a.children, "off": a.off_school,
                         **{f"k_{ind.key}": ind.of.get(a.pk, 0) for ind in layer.indicators}}
                for a in layer.areas}


class TownshipAggregateTiles(AggregateTiles):
    key = "township_aggregates"
    level = AreaLevel.TOWNSHIP


class VillageAggregateTiles(AggregateTiles):
    key = "village_aggregates"
    level = AreaLevel.VILLAGE


class SchoolTiles(TileLayer):
    key = "schools"
    sources = (Source.SCHOOLS,)
    geom_field = "location"
    simplify_px = 0.0

    def queryset(self) -> QuerySet[Any]:  # as layers.schools.SchoolLayer
        return access.visible_schools(self.user).filter(township__code__startswith=self.root.code[:9])

    # the popup's fields (tiles.js translates the keys)
    fields = ("code", "name", "kind", "status", "first_grade", "last_grade", "capacity", "boarding", "synthetic")


class RoadTiles(TileLayer):
    key = "roads"
    sources = (Source.ROADS,)
    min_zoom = 8

    def queryset(self) -> QuerySet[Any]:  # as layers.context.RoadLayer: the major roads about the root
        return Road.objects.filter(highway__in=MAJOR_ROADS, geom__bboverlaps=self.root.geom)

    fields = ("highway", "name", "ref")


class CatchmentTiles(TileLayer):
    """The catchments of the schools serving the root's cells, cut to the root (as
    layers.grid.CatchmentLayer), in the colours of the page's school indicator."""

    key = "catchments"
    sources = (Source.SCHOOLS, Source.CATCHMENTS, Source.AREAS, Source.RESPONSIBILITIES)
    geom_field = "catchment"
    fields = ("code", "name")

    def queryset(self) -> QuerySet[Any]:
        from gridmap.models import School

        serving = access.visible_schools(self.user).filter(
            catchment_assignments__area__code__startswith=self.root.code)
        return School.objects.filter(pk__in=serving.values("pk"), catchment__intersects=self.root.geom)

    def rows(self, z: int, x: int, y: int) -> QuerySet[Any]:
        from django.contrib.gis.db.models.functions import Intersection

        from gridmap.models.functions import PolygonalPart

        inside = PolygonalPart(Intersection("catchment", self.root.geom))
        rows: QuerySet[Any] = (self.queryset().filter(catchment__bboverlaps=tile_polygon(z, x, y))
                               .annotate(mvt=tile_geometry(inside, z, x, y, self.simplify_px))
                               .values("mvt", *self.fields))
        return rows

    def properties(self) -> Props:
        from layers.grid import PALETTE, root_school_colors

        colors = root_school_colors(self.root, root_cells(self.user, self.root))
        return {code: {"color": colors.get(pk, PALETTE[pk % len(PALETTE)])}
                for pk, code in self.queryset().values_list("pk", "code")}


TILE_LAYERS: dict[str, type[TileLayer]] = {layer.key: layer for layer in [
    CellTiles, TownshipAggregateTiles, VillageAggregateTiles, CountyTiles, TownshipTiles, VillageTiles,
    SchoolTiles, RoadTiles, CatchmentTiles]}



KEPT_CELLS = "tiles"  # layers.served.CACHE: on disk, shared by the workers


def cells_key(user: Any, root: Area, found: versions.Versions) -> str:
    """What decides a grid root's cells for this login: the data version of the cells' sources and of
    the people named on them, the scope, the day (ages and the month's published figures follow the
    calendar) and the language."""
    sources = versions.layer_sources(user, (*CellTiles.sources, Source.PEOPLE), counts=True)
    return (f"{root.code}:{versions.scope_key(user)}:{found.of(sources)}:"
            f"{timezone.localdate():%Y%m%d}:{get_language()}")


def root_cells(user: Any, root: Area, found: versions.Versions | None = None) -> list[Any]:
    """The cells of a grid root as this login sees them (gridmap.grid.cells), computed once per
    cells_key and kept: the grid page's sidebar and map and every tiled layer's properties read them
    (each layer computed them anew: on the province's data set ~1 s per layer for a county)."""
    from gridmap import grid

    key = f"gm:cells:2:{cells_key(user, root, found or versions.read(root.code[:6]))}"
    cache = caches[KEPT_CELLS]
    cells: list[Any] | None = cache.get(key)
    if cells is None:
        cells = grid.cells(user, root)
        cache.set(key, cells, 86400)
    return cells

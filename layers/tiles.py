"""Mapbox vector tiles (MVT) from ORM-built, scoped querysets, as django-vectortiles builds them.

A tile is `ST_AsMVT` over the layer's own queryset (gridmap.access scopes it, the ORM writes it)
annotated with its geometry in the tile's coordinates: transformed to Web Mercator, simplified to a
fraction of a pixel at the tile's zoom (a county's outline is a few hundred points at zoom 9, every
bend at 16) and clipped to the tile with a small buffer. The only SQL written here wraps the ORM's
query (`query.sql_with_params()`), adding the properties computed in Python (counts and classes of
the grid, as gridmap.grid computes them) from one jsonb parameter keyed by the feature's code.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import GeoFunc, GeomOutputGeoFunc, Transform
from django.contrib.gis.geos import Polygon
from django.db import connections
from django.db.models import Func, QuerySet
from django.utils.functional import cached_property

EXTENT = 4096  # tile coordinates per side (the MVT default)
BUFFER = 64  # of EXTENT: lines and outlines run on past the tile's edge, so no seam shows
MAX_ZOOM = 18  # the map's deepest zoom
HALF_WORLD = 20037508.342789244  # Web Mercator (EPSG:3857) half-width, metres
MERCATOR = 3857


class TileError(ValueError):
    """z/x/y that name no tile (the view answers 404)."""


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's (xmin, ymin, xmax, ymax) in Web Mercator metres (XYZ scheme, y down)."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < (1 << z) and 0 <= y < (1 << z)):
        raise TileError(f"{z}/{x}/{y}")
    size = 2 * HALF_WORLD / (1 << z)
    xmin = -HALF_WORLD + x * size
    ymax = HALF_WORLD - y * size
    return xmin, ymax - size, xmin + size, ymax


def lonlat(mx: float, my: float) -> tuple[float, float]:
    """Web Mercator metres to degrees."""
    lon = mx / HALF_WORLD * 180
    lat = math.degrees(2 * math.atan(math.exp(my / HALF_WORLD * math.pi)) - math.pi / 2)
    return lon, lat


def tile_lonlat_bounds(z: int, x: int, y: int, buffer: float = 0.0) -> tuple[float, float, float, float]:
    """The tile (with `buffer` of EXTENT on each side) in degrees: (west, south, east, north)."""
    xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
    pad = (xmax - xmin) * buffer / EXTENT
    west, south = lonlat(xmin - pad, ymin - pad)
    east, north = lonlat(xmax + pad, ymax + pad)
    return west, south, east, north


def tile_polygon(z: int, x: int, y: int) -> Polygon:
    """The tile with its buffer, in EPSG:4326, for the index filter (&&) of a layer's query."""
    return Polygon.from_bbox(tile_lonlat_bounds(z, x, y, BUFFER))


def pixel_metres(z: int) -> float:
    """Web Mercator metres per screen pixel (256-pixel tiles) at zoom z."""
    return 2 * HALF_WORLD / (256 * (1 << z))


def tiles_covering(extent: tuple[float, float, float, float], z: int) -> list[tuple[int, int]]:
    """(x, y) of the tiles at zoom z over a lon/lat extent (west, south, east, north)."""
    def tx(lon: float) -> int:
        return min((1 << z) - 1, max(0, int((lon + 180) / 360 * (1 << z))))

    def ty(lat: float) -> int:
        r = math.radians(lat)
        return min((1 << z) - 1, max(0, int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * (1 << z))))
    west, south, east, north = extent
    return [(x, y) for x in range(tx(west), tx(east) + 1) for y in range(ty(north), ty(south) + 1)]


class _TileGeometryField(GeometryField):  # type: ignore[type-arg]
    """Selected as the geometry itself (not as EWKB bytes): it only ever feeds ST_AsMVT."""

    def select_format(self, compiler: Any, sql: str, params: Any) -> tuple[str, Any]:
        return sql, params


class MakeEnvelope(Func):
    function = "ST_MakeEnvelope"

    def __init__(self, xmin: float, ymin: float, xmax: float, ymax: float, srid: int = MERCATOR) -> None:
        super().__init__(xmin, ymin, xmax, ymax, srid, output_field=GeometryField(srid=srid))


class Simplify(GeomOutputGeoFunc):
    """ST_Simplify(geom, tolerance, true): collapsed shapes are kept (a tiny group stays a dot)."""

    function = "ST_Simplify"
    geom_param_pos = (0,)
    template = "%(function)s(%(expressions)s, true)"


class AsMVTGeom(GeoFunc):
    """ST_AsMVTGeom(geom, bounds, extent, buffer, clip): the geometry in the tile's coordinates."""

    function = "ST_AsMVTGeom"
    geom_param_pos = (0, 1)

    @cached_property
    def output_field(self) -> GeometryField:  # type: ignore[type-arg]
        return _TileGeometryField()


def tile_geometry(geom: Any, z: int, x: int, y: int, simplify_px: float = 0.0) -> AsMVTGeom:
    """The expression of a geometry field (or expression) as a tile's geometry."""
    projected: Any = Transform(geom, MERCATOR)
    if simplify_px:
        projected = Simplify(projected, simplify_px * pixel_metres(z))
    return AsMVTGeom(projected, MakeEnvelope(*tile_bounds(z, x, y)), EXTENT, BUFFER, True)


def encode(queryset: QuerySet[Any], name: str, geom: str = "mvt", properties: dict[str, dict[str, Any]] | None = None,
           key: str = "code") -> bytes:
    """ST_AsMVT over the queryset's rows (a `.values()` queryset with the tile geometry as `geom`):
    one layer `name`, each row a feature, the other columns its properties — and, with `properties`,
    those of its `key` from the dict, passed as one jsonb parameter (only the rows' own are looked up)."""
    sql, params = queryset.query.sql_with_params()
    extra = ""
    if properties is not None:
        extra = f', %s::jsonb -> q."{key}" AS props'
        params = (json.dumps(properties, ensure_ascii=False, separators=(",", ":")), *params)
    with connections[queryset.db].cursor() as cursor:
        # The ORM's own query, wrapped: ST_AsMVT takes its rows (geometry column named, the rest as
        # properties; a jsonb column's keys become properties too).
        cursor.execute(f"SELECT ST_AsMVT(t, %s, {EXTENT}, %s) FROM (SELECT q.*{extra} FROM ({sql}) q) t",
                       (name, geom, *params))
        row = cursor.fetchone()
    data = row[0] if row else None
    return bytes(data) if data else b""

"""A map layer declares what it draws (a queryset), how (style, popup) and where it sits in the
layer control; `add_to` puts it on a folium map. Modelled on django-vectortiles' layer classes."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import folium
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import QuerySet

from gridmap.models.functions import SimplifyPreserveTopology


class MapLayer:
    """Subclasses draw `root` and what lies below it, as far as `user` may see (gridmap.access)."""
    key: ClassVar[str]  # registry key and the name the browser tests select on
    title: ClassVar[Any]  # lazy translated title shown in the layer control
    show: ClassVar[bool] = True
    control: ClassVar[bool] = True  # listed in the layer control (False: shown and hidden by grid.js)
    group_name = ""  # the folium FeatureGroup's JavaScript name, once added
    geom_field: ClassVar[str] = "geom"
    # Simplification tolerance in degrees for drawing (1e-4 ≈ 10 m here); 0 keeps the geometry.
    simplify: float = 0.0
    precision: int = 5  # GeoJSON decimals: 1e-5 degree ≈ 1 m
    properties: ClassVar[list[str]] = []
    # Set by layers.maps.grid_map on the grid page: the layer is drawn from these vector tiles
    # (layers.served; gmGrid and gmTiles create the tile layer in the group) instead of GeoJSON.
    tile_url: str = ""

    def __init__(self, root: Any, user: Any, cells: list[Any] | None = None) -> None:
        self.root = root
        self.user = user
        self.cells = cells or []  # the grid's cells (gridmap.grid.Cell), for layers that style by them

    def queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def feature_properties(self, row: dict[str, Any]) -> dict[str, Any]:
        return {name: row[name] for name in self.properties}

    def geometry(self) -> Any:
        """The geometry to draw: the field, or an expression over it."""
        return self.geom_field

    def features(self) -> dict[str, Any]:
        """The layer's FeatureCollection, queried once per layer instance."""
        cached: dict[str, Any] | None = getattr(self, "_features", None)
        if cached is None:
            cached = self._features = self._query_features()
        return cached

    def _query_features(self) -> dict[str, Any]:
        geom: Any = self.geometry()
        if self.simplify:
            geom = SimplifyPreserveTopology(geom, self.simplify)
        rows = self.queryset().annotate(
            _geojson=AsGeoJSON(geom, precision=self.precision)
        ).values("_geojson", *self.properties)
        return {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": json.loads(row["_geojson"]),
                 "properties": self.feature_properties(row)}
                for row in rows if row["_geojson"]
            ],
        }

    def has_tiles(self) -> bool:
        """Whether a tiled layer has anything to draw for this login (else no group, as for GeoJSON)."""
        return True

    def add_to(self, fmap: folium.Map) -> None:
        if self.tile_url:
            if self.has_tiles():  # an empty group: the tile layer is added to it in the browser
                group = folium.FeatureGroup(name=str(self.title), show=self.show, control=self.control)
                group.add_to(fmap)
                self.group_name = group.get_name()
            return
        if not self.features()["features"]:
            return  # nothing in scope to draw (and folium's popups refuse empty collections)
        group = folium.FeatureGroup(name=str(self.title), show=self.show, control=self.control)
        self.draw(group)
        group.add_to(fmap)
        self.group_name = group.get_name()

    def draw(self, group: folium.FeatureGroup) -> None:
        raise NotImplementedError

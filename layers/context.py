"""Orientation layers drawn under the grid: major roads (OpenStreetMap) and rivers."""

from __future__ import annotations

from html import escape
from typing import Any

import folium
from django.contrib.gis.db.models.functions import Intersection
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from gridmap.models import Feature, Road, RoadClass
from layers.base import MapLayer

MAJOR_ROADS = ["motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link",
               "trunk_link", "primary_link"]
ROAD_STYLE = {"motorway": ("#e8845e", 3), "trunk": ("#f0a35e", 3), "primary": ("#f6c46a", 2.5),
              "secondary": ("#f7dc8a", 2), "tertiary": ("#bbbbbb", 1.5)}
RIVER_STYLE = {"color": "#6baed6", "weight": 0.5, "fillColor": "#9ecae1", "fillOpacity": 0.7}
# Named roads labelled on the map, and from which zoom (grid.js shows them as the map zooms in).
LABELLED_ROADS = {"motorway": 10, "trunk": 10, "primary": 11, "secondary": 12}


def road_legend() -> list[tuple[str, str, float]]:
    """(label, colour, weight) of each road class drawn, for the map legend."""
    return [(str(RoadClass(k).label), colour, weight) for k, (colour, weight) in ROAD_STYLE.items()]


class RoadLayer(MapLayer):
    key = "roads"
    title = _("Main roads (OpenStreetMap)")
    simplify = 1e-4
    precision = 4
    properties = ["highway", "name", "ref"]

    def queryset(self) -> QuerySet[Any]:
        return Road.objects.filter(highway__in=MAJOR_ROADS, geom__bboverlaps=self.root.geom)

    def draw(self, group: folium.FeatureGroup) -> None:
        def style(feature: dict[str, Any]) -> dict[str, Any]:
            color, weight = ROAD_STYLE.get(feature["properties"]["highway"].removesuffix("_link"),
                                           ("#bbbbbb", 1.2))
            return {"color": color, "weight": weight, "opacity": 0.9}

        folium.GeoJson(self.features(), name=self.key, style_function=style,
                       tooltip=folium.GeoJsonTooltip(fields=["name", "ref"], labels=False)).add_to(group)


class WaterLayer(MapLayer):
    key = "water"
    title = _("Rivers")
    simplify = 5e-5
    properties = ["name"]

    def queryset(self) -> QuerySet[Any]:
        return Feature.objects.filter(kind="river", geom__bboverlaps=self.root.geom)

    def geometry(self) -> Any:
        # Rivers run far beyond the county: draw only the stretch inside it.
        return Intersection("geom", self.root.geom)

    def draw(self, group: folium.FeatureGroup) -> None:
        folium.GeoJson(self.features(), name=self.key, style_function=lambda _f: RIVER_STYLE).add_to(group)


class RoadLabelLayer(MapLayer):
    """Names (or numbers) of the main roads, once each, midway along the road's longest piece in the
    area; shown from the zoom LABELLED_ROADS gives its class (grid.js sets the zoom classes)."""

    key = "road_labels"
    title = _("Road names")
    control = False

    def _query_features(self) -> dict[str, Any]:
        # One representative point per road name: the ORM has no window function over a spatial
        # measure with a point on the line, so the query is written here, over fixed classes only.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT label, highway, ST_X(p), ST_Y(p) FROM (
                    SELECT coalesce(nullif(name, ''), ref) AS label, highway,
                           ST_LineInterpolatePoint(geom, 0.5) AS p,
                           row_number() OVER (PARTITION BY coalesce(nullif(name, ''), ref)
                                              ORDER BY ST_Length(geom::geography) DESC, id) AS r
                    FROM gridmap_road
                    WHERE highway = ANY(%s) AND coalesce(nullif(name, ''), ref) IS NOT NULL
                      AND geom && %s::geometry AND ST_Intersects(geom, %s::geometry)) x
                WHERE r = 1""", [list(LABELLED_ROADS), self.root.geom.ewkt, self.root.geom.ewkt])
            rows = cursor.fetchall()
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
             "properties": {"label": label, "from_zoom": LABELLED_ROADS[highway]}} for label, highway, x, y in rows]}

    def draw(self, group: folium.FeatureGroup) -> None:
        for f in self.features()["features"]:
            x, y = f["geometry"]["coordinates"]
            p = f["properties"]
            folium.Marker((y, x), icon=folium.DivIcon(
                html=f'<div class="gm-label gm-road-label gm-from-z{p["from_zoom"]}">{escape(p["label"])}</div>',
                icon_size=(0, 0)), interactive=False).add_to(group)

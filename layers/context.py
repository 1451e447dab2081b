"""Orientation layers drawn under the grid: major roads (OpenStreetMap) and rivers."""

from __future__ import annotations

from typing import Any

import folium
from django.contrib.gis.db.models.functions import Intersection
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from gridmap.models import Feature, Road
from layers.base import MapLayer

MAJOR_ROADS = ["motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link",
               "trunk_link", "primary_link"]
ROAD_STYLE = {"motorway": ("#e8845e", 3), "trunk": ("#f0a35e", 3), "primary": ("#f6c46a", 2.5),
              "secondary": ("#f7dc8a", 2), "tertiary": ("#bbbbbb", 1.5)}


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
        folium.GeoJson(self.features(), name=self.key,
                       style_function=lambda _f: {"color": "#6baed6", "weight": 0.5,
                                                  "fillColor": "#9ecae1", "fillOpacity": 0.7}
                       ).add_to(group)

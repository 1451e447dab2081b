"""Registry-line boundaries: county, townships, villages (their names: layers.grid.LabelLayer)."""

from __future__ import annotations

from typing import Any

import folium
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from gridmap import access
from gridmap.models import AreaLevel
from layers.base import MapLayer


class AreaLayer(MapLayer):
    level: AreaLevel
    properties = ["code", "name", "synthetic"]
    style: dict[str, Any] = {}

    def queryset(self) -> QuerySet[Any]:
        areas = access.visible_areas(self.user)
        if self.level == self.root.level:
            return areas.filter(pk=self.root.pk)
        return areas.filter(code__startswith=self.root.code).at_level(self.level)

    def feature_properties(self, row: dict[str, Any]) -> dict[str, Any]:
        props = super().feature_properties(row)
        props["synthetic"] = str(_("generated (demo)")) if row["synthetic"] else str(_("surveyed"))
        return props

    def draw(self, group: folium.FeatureGroup) -> None:
        folium.GeoJson(
            self.features(), name=self.key, style_function=lambda _f, s=self.style: s,
            popup=folium.GeoJsonPopup(
                fields=["name", "code", "synthetic"],
                aliases=[str(_("Name")), str(_("Code")), str(_("Boundary"))]),
        ).add_to(group)


class CountyLayer(AreaLayer):
    key = "county"
    title = _("County boundary")
    level = AreaLevel.COUNTY
    style = {"color": "#222", "weight": 3, "fill": False}


class TownshipLayer(AreaLayer):
    key = "townships"
    title = _("Townships")
    level = AreaLevel.TOWNSHIP
    simplify = 1e-4
    precision = 4
    style = {"color": "#444", "weight": 2, "fill": False}


class VillageLayer(AreaLayer):
    key = "villages"
    title = _("Villages")
    level = AreaLevel.VILLAGE
    simplify = 1e-4
    precision = 4
    style = {"color": "#333", "weight": 1.8, "fill": False, "className": "gm-village-line"}

"""The grid: village groups (the smallest cell) coloured by their village's responsible school."""

from __future__ import annotations

from typing import Any

import folium
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from folium.utilities import JsCode

from gridmap import access
from gridmap.models import Area, AreaLevel, Responsibility, Role, School
from gridmap.models.schools import SchoolQuerySet
from layers.base import MapLayer

# Qualitative palette (ColorBrewer Set3/Paired mix), light enough for labels on top.
PALETTE = ["#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5",
           "#ffed6f", "#bc80bd", "#ccebc5"]
GAP_COLOR = "#d9d9d9"
STYLE_FROM_PROPERTIES = """
function(feature, layer) {
    var p = feature.properties;
    layer.setStyle({fillColor: p.color, fillOpacity: 0.55, weight: p.gap ? 2 : 0.4,
                    color: p.gap ? "#d7301f" : "#555"});
}"""


def school_colors(schools: SchoolQuerySet) -> dict[int, str]:
    """Greedy colouring so that schools with touching catchments get different colours."""
    neighbours = School.objects.touching_pairs(schools)
    colors: dict[int, str] = {}
    degree = {s: 0 for s in schools.values_list("pk", flat=True)}
    for a, b in neighbours:
        degree[a] = degree.get(a, 0) + 1
        degree[b] = degree.get(b, 0) + 1
    adjacent: dict[int, set[int]] = {}
    for a, b in neighbours:
        adjacent.setdefault(a, set()).add(b)
        adjacent.setdefault(b, set()).add(a)
    for school in sorted(degree, key=lambda s: (-degree[s], s)):
        taken = {colors.get(n) for n in adjacent.get(school, ())}
        colors[school] = next((c for c in PALETTE if c not in taken), PALETTE[school % len(PALETTE)])
    return colors


class GroupLayer(MapLayer):
    key = "groups"
    title = _("Village groups by responsible school")
    simplify = 1e-4  # ≈10 m: invisible at county scale, halves the page
    precision = 4
    properties = ["pk", "code", "name", "parent_id", "parent__name"]

    def __init__(self, root: Area, user: Any) -> None:
        super().__init__(root, user)
        villages = access.visible_areas(user).filter(code__startswith=root.code).at_level(AreaLevel.VILLAGE)
        current = Responsibility.objects.filter(end_date__isnull=True)
        self.school_of_village = {
            r.area_id: r.responsible_school for r in current.filter(
                role=Role.RESPONSIBLE_SCHOOL, area__in=villages).select_related("responsible_school")
        }
        self.cadre_of_group = {
            r.area_id: r.person for r in current.filter(
                role=Role.GROUP_CADRE, area__in=self.queryset()).select_related("person")
        }
        self.colors = school_colors(School.objects.filter(township__code__startswith=root.code[:6]))

    def queryset(self) -> QuerySet[Any]:
        return access.visible_cells(self.user).filter(code__startswith=self.root.code)

    def feature_properties(self, row: dict[str, Any]) -> dict[str, Any]:
        school = self.school_of_village.get(row["parent_id"])
        cadre = self.cadre_of_group.get(row["pk"])
        none = str(_("none (gap)"))
        return {
            "code": row["code"],
            "name": row["name"],
            "village": row["parent__name"],
            "school": school.name if school else none,
            "cadre": f"{cadre.name} {cadre.phone}" if cadre else none,
            "color": self.colors.get(school.pk, GAP_COLOR) if school else GAP_COLOR,
            "gap": school is None or cadre is None,
        }

    def draw(self, group: folium.FeatureGroup) -> None:
        folium.GeoJson(
            self.features(), name=self.key,
            # Styled in the browser from each feature's colour: a Python style_function would make
            # folium write one style case per feature into the page (~0.7 MB for a county).
            on_each_feature=JsCode(STYLE_FROM_PROPERTIES),
            highlight_function=lambda _f: {"weight": 2.5, "color": "#000"},
            popup=folium.GeoJsonPopup(
                fields=["name", "code", "village", "school", "cadre"],
                aliases=[str(_("Village group")), str(_("Code")), str(_("Village")),
                         str(_("Responsible school")),
                         str(_("Responsible cadre"))]),
            tooltip=folium.GeoJsonTooltip(fields=["village", "name"], labels=False),
        ).add_to(group)

"""Schools, drawn by kind (size and colour) and status (closed hollow, planned dashed)."""

from __future__ import annotations

from typing import Any

import folium
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from gridmap import access
from gridmap.models import SchoolKind, SchoolStatus
from layers.base import MapLayer

KIND_STYLE = {  # colour, radius in pixels
    SchoolKind.NINE_YEAR: ("#54278f", 9),
    SchoolKind.JUNIOR_MIDDLE: ("#08519c", 8),
    SchoolKind.CENTRAL_PRIMARY: ("#006d2c", 8),
    SchoolKind.FULL_PRIMARY: ("#31a354", 6),
    SchoolKind.VILLAGE_PRIMARY: ("#e6550d", 5),
    SchoolKind.TEACHING_POINT: ("#a63603", 4),
}


class SchoolLayer(MapLayer):
    key = "schools"
    title = _("Schools by kind")
    geom_field = "location"
    properties = ["name", "code", "kind", "first_grade", "last_grade", "capacity", "boarding",
                  "status", "synthetic"]

    def queryset(self) -> QuerySet[Any]:
        return access.visible_schools(self.user).filter(township__code__startswith=self.root.code[:9])

    def feature_properties(self, row: dict[str, Any]) -> dict[str, Any]:
        yes, no = str(_("yes")), str(_("no"))
        return {
            "name": row["name"], "code": row["code"], "kind_key": row["kind"],
            "kind": str(SchoolKind(row["kind"]).label),
            "grades": f"{row['first_grade']}–{row['last_grade']}",
            "capacity": row["capacity"], "boarding": yes if row["boarding"] else no,
            "status_key": row["status"], "status": str(SchoolStatus(row["status"]).label),
            "synthetic": str(_("generated (demo)")) if row["synthetic"] else str(_("surveyed")),
        }

    def draw(self, group: folium.FeatureGroup) -> None:
        def style(feature: dict[str, Any]) -> dict[str, Any]:
            p = feature["properties"]
            color, radius = KIND_STYLE[SchoolKind(p["kind_key"])]
            closed, planned = p["status_key"] == SchoolStatus.CLOSED, p["status_key"] == SchoolStatus.PLANNED
            return {"color": "#333" if closed else color, "fillColor": color, "radius": radius,
                    "fill": True,
                    "fillOpacity": 0 if closed else 0.9, "weight": 2,
                    "dashArray": "3 3" if planned else None}

        folium.GeoJson(
            self.features(), name=self.key, style_function=style,
            marker=folium.CircleMarker(radius=6),
            popup=folium.GeoJsonPopup(
                fields=["name", "code", "kind", "grades", "capacity", "boarding", "status", "synthetic"],
                aliases=[str(_("School")), str(_("School code")), str(_("Kind")), str(_("Grades")),
                         str(_("Approved places")), str(_("Boarding")), str(_("Status")),
                         str(_("Data"))]),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(group)

"""Coverage gaps (覆盖缺口): one layer group of five toggles, filled from its own endpoint.

Nothing of it is embedded in the page: the map fetches /coverage/<code>/layer.json (scoped, with an
ETag) when one of the toggles is switched on, and static/gaps/coverage.js sorts the features
into the groups — so the layer can move to vector tiles without touching the page.
"""

from __future__ import annotations

import json
from typing import Any

import folium
from branca.element import CssLink, JavascriptLink, MacroElement
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jinja2 import Template

from gaps.layer import share_legend
from layers.base import MapLayer

# key: (title, shown on the coverage page only when asked)
TOGGLES = {
    "cells": gettext_lazy("Coverage gaps: share of children beyond the norm"),
    "homes": gettext_lazy("Coverage gaps: homes beyond the norm"),
    "bands": gettext_lazy("Coverage gaps: 15/30/45-minute service areas"),
    "unrolled": gettext_lazy("Coverage gaps: children on no school's roll"),
    "no_school": gettext_lazy("Coverage gaps: cells without a responsible school"),
}


class _Attach(MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        gmCoverage.attach({{ this._parent.get_name() }}, {{ this.groups }}, {{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(self, groups: dict[str, str], options: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        # folium's own variable names (identifiers it generated), not user data
        self.groups = "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in groups.items()) + "}"
        self.options = options


class CoverageLayer(MapLayer):
    key = "coverage"
    title = gettext_lazy("Coverage gaps")
    show = False
    above = True  # drawn over the other overlays (the grid's cells); the coverage page draws it under them

    def features(self) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": []}  # served by its endpoint, not embedded

    def add_to(self, fmap: folium.Map) -> None:
        groups = {}
        for key, title in TOGGLES.items():
            group = folium.FeatureGroup(name=str(title), show=False)
            group.add_to(fmap)
            groups[key] = group.get_name()
        root: Any = fmap.get_root()
        root.header.add_child(JavascriptLink(static("gaps/coverage.js")), name="gm_coverage_js")
        root.header.add_child(CssLink(static("gaps/coverage.css")), name="gm_coverage_css")
        fmap.add_child(_Attach(groups, {
            "url": reverse("coverage-layer", args=[self.root.code]),
            "trip": reverse("coverage-trip", args=[0]).replace("/0/", "/{id}/"),
            "child": reverse("child", args=[0]).replace("/0/", "/{id}/"),
            "legend": share_legend(), "texts": texts(), "above": self.above}))


def texts() -> dict[str, str]:
    """The words coverage.js writes into popups and legends (translated here, once)."""
    return {
        "loading": _("Loading coverage…"), "failed": _("Coverage could not be loaded"),
        "cell": _("%(n)s school-age children, %(gap)s of them beyond the norm"),
        "off": _("homes off the road network: %(n)s"), "unrolled": _("on no school's roll: %(n)s"),
        "grade": _("grade %(g)s"), "norm": _("Norm"),
        "nearest": _("nearest school teaching the grade: %(school)s, %(min)s min, %(km)s km"),
        "none": _("no school teaching the grade can be reached by road"),
        "offnet": _("home farther than the access limit from any road: no way by road"),
        "roll": _("own school: %(school)s, %(min)s min"), "noroll": _("on no school's roll"),
        "route": _("show the way"), "routeroll": _("way to own school"),
        "band": _("within %(a)s–%(b)s minutes on foot of a school teaching grade 1"),
        "band0": _("within %(b)s minutes on foot of a school teaching grade 1"),
        "noschool": _("no responsible school for this cell"), "status": _("status"),
        "legend": _("Share of children beyond the norm"), "open": _("open record"),
        "beyond": _("beyond the norm of %(lim)s minutes"),
        "trip": _("%(school)s · %(min)s min · %(km)s km"), "homes": _("home beyond the norm"),
        "offnet_short": _("home off the road network"),
    }


def coverage_map_layers() -> list[type[MapLayer]]:
    """The coverage page's map: the layer group over orientation layers (no indicator cells)."""
    from layers.boundaries import CountyLayer, TownshipLayer, VillageLayer
    from layers.context import RoadLayer, WaterLayer
    from layers.grid import LabelLayer
    from layers.schools import SchoolLayer

    return [WaterLayer, CoveragePageLayer, RoadLayer, VillageLayer, TownshipLayer, CountyLayer, SchoolLayer,
            LabelLayer]


class CoveragePageLayer(CoverageLayer):
    """On the coverage page: under the roads, boundaries and schools, which stay readable."""

    above = False

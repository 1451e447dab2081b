"""Dropout hotspots: the layer's features (village groups or villages, with the counts, smoothed rates
and Gi* classes of hotspots.data) and its style, and on the grid map only a stub that fetches them.

The map does not carry the features: `add_to` puts an empty overlay (and, for logins that may see
children, an empty folium HeatMap of the homes of suspected and dropped-out children) in the layer
control, with the endpoint addresses; static/hotspots/hotspots.js fetches the month and filters the
user picks from the scoped, ETag-cached endpoint (hotspots.views.layer), draws the significant cells,
and hands the classes to the grid's indicator menu (gmGrid.setIndicator). Swapping GeoJSON for vector
tiles later changes the endpoint and the fetch, not the page.
"""

from __future__ import annotations

from typing import Any

import folium
from branca.element import MacroElement
from django.db.models import QuerySet
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from folium.elements import JSCSSMixin
from folium.plugins import HeatMap
from jinja2 import Template

from gridmap import access
from gridmap.models import KEY_GROUPS, Area, AreaLevel, Sex
from hotspots import data, stats
from layers.base import MapLayer

CLUSTER_STYLE: list[tuple[str, Any, str]] = [  # key, legend label, colour (ColorBrewer RdBu)
    ("hot99", _("hot spot, 99 %"), "#b2182b"),
    ("hot95", _("hot spot, 95 %"), "#ef6548"),
    ("hot90", _("hot spot, 90 %"), "#fdae91"),
    ("ns", _("not significant"), "#f0f0f0"),
    ("cold90", _("cold spot, 90 %"), "#c6dbef"),
    ("cold95", _("cold spot, 95 %"), "#6baed6"),
    ("cold99", _("cold spot, 99 %"), "#2166ac"),
    ("island", _("no neighbouring group: not tested"), "#ffffff"),
    ("untested", _("not tested (no school-age children)"), "#ffffff"),
]
RATE_STYLE: list[tuple[str, Any, str]] = [  # the q1..q4 labels are the month's class bounds
    ("none", _("no school-age children"), "#ffffff"),
    ("hidden", _("fewer than 5: not shown"), "#bdbdbd"),
    ("zero", _("none off school"), "#f2f0f7"),
    ("q1", "", "#fee5d9"), ("q2", "", "#fcae91"), ("q3", "", "#fb6a4a"), ("q4", "", "#cb181d"),
]
INDICATORS = [("hotspot", _("Dropout hotspots (Gi*, after FDR)")),
              ("hotspot_rate", _("Off school per 100, smoothed (group)")),
              ("hotspot_village_rate", _("Off school per 100, smoothed (village)"))]
GRADE_LABELS = [("6", _("grade 6")), ("8", _("grade 8")), ("9", _("grade 9")), ("8-9", _("grades 8 and 9")),
                ("key", _("key grades (6, 8, 9)"))]


def method_note(permutations: int = stats.PERMUTATIONS) -> str:
    """The legend's two or three plain sentences (Chinese by default)."""
    return gettext(
        "Colours show suspected and dropped-out children per 100 school-age children, pulled towards "
        "the township's rate by empirical Bayes, so that a small group with one or two such children "
        "does not look alarming. A hot (cold) spot is a group that, together with its neighbouring "
        "groups, stands out above (below) what %(permutations)s random reshufflings of the rates give, "
        "and that still does after the false-discovery-rate correction (Benjamini-Hochberg) for testing "
        "every group at once; 90/95/99 %% is the confidence after that correction. Groups with no "
        "neighbouring group (islands) and groups without school-age children are not tested, and groups "
        "are compared only within the area shown (on a township's map, with that township)."
    ) % {"permutations": f"{permutations:,}"}


def placeholder_indicators() -> list[Any]:
    """The grid's indicator entries for the hotspot classes, filled in by hotspots.js on demand."""
    from layers.grid import Indicator

    waiting = [(gettext("choose to load…"), "#eeeeee")]
    return [Indicator(key, str(label), waiting, {}) for key, label in INDICATORS]


class _HotspotControl(JSCSSMixin, MacroElement):
    """Hands the layer's addresses and labels to static/hotspots/hotspots.js."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        gmHotspots.attach({{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.default_js = [("gm_hotspots", static("hotspots/hotspots.js"))]
        self.default_css = [("gm_hotspots_css", static("hotspots/hotspots.css"))]
        self.options = options


class HotspotLayer(MapLayer):
    """Village groups (or villages) with the month's counts, rates and clusters (hotspots.data)."""

    key = "hotspots"
    title = _("Dropout hotspots (Gi*)")
    show = False
    properties = ["code"]

    def __init__(self, root: Area, user: Any, cells: list[Any] | None = None,
                 analysis: data.Analysis | None = None, level: str = "group") -> None:
        super().__init__(root, user, cells)
        self.analysis = analysis
        self.level = level
        self.simplify = 1e-4 if root.level == AreaLevel.COUNTY else 2e-5
        self.precision = 4 if root.level == AreaLevel.COUNTY else 5

    def queryset(self) -> QuerySet[Any]:
        cells = data.cell_queryset(self.user, self.root)
        if self.level == "village":
            return access.visible_areas(self.user).filter(code__in=cells.values("parent__code"))
        return cells

    def feature_properties(self, row: dict[str, Any]) -> dict[str, Any]:
        assert self.analysis is not None
        units = self.analysis.villages if self.level == "village" else self.analysis.cells
        by_code = getattr(self, "_by_code", None)
        if by_code is None:
            by_code = self._by_code = {u.code: u for u in units}
        return by_code[row["code"]].properties()

    def collection(self) -> dict[str, Any]:
        """The FeatureCollection with the month's figures as a foreign member ("gridmap")."""
        assert self.analysis is not None
        return {**self.features(), "gridmap": {**self.analysis.meta, "level": self.level}}

    def add_to(self, fmap: folium.Map) -> None:
        scope = access.scope_of(self.user)
        group = folium.FeatureGroup(name=str(self.title), show=self.show)
        group.add_to(fmap)
        heat = None
        if scope.individual_children:
            heat = HeatMap([], name=str(_("Homes of suspected and dropped-out children (heat)")), show=False,
                           radius=18, blur=20, min_opacity=0.35, max_zoom=15)  # type: ignore[no-untyped-call]
            heat.default_js = [("leaflet-heat.js", static("vendor/leaflet.heat-0.2.0/leaflet-heat.js"))]
            heat.add_to(fmap)
        code = self.root.code
        fmap.add_child(_HotspotControl({
            "map": fmap.get_name(), "group": group.get_name(), "heat": heat.get_name() if heat else None,
            "url": reverse("hotspots:layer", args=[code]),
            "homes": reverse("hotspots:homes", args=[code]) if heat else None,
            "cases": reverse("hotspots:cell-cases", args=["0" * 15]) if scope.individual_children else None,
            "timeline": reverse("hotspots:timeline", args=[code]),
            "month": f"{timezone.localdate():%Y-%m}", "first_month": f"{data.FIRST_MONTH:%Y-%m}",
            "labels": _labels(),
            "clusters": [{"key": k, "label": str(label), "color": color} for k, label, color in CLUSTER_STYLE],
            "rates": [{"key": k, "label": str(label), "color": color} for k, label, color in RATE_STYLE],
            "key_groups": [{"key": k, "label": str(KEY_GROUPS[f])} for k, f in data.KEY_GROUP_CHOICES.items()],
            "grades": [{"key": k, "label": str(label)} for k, label in GRADE_LABELS],
            "sexes": [{"key": k, "label": str(label)} for k, label in Sex.choices],
            "indicators": [k for k, _label in INDICATORS],
            "note": method_note(),
        }))


def _labels() -> dict[str, str]:
    return {
        "title": gettext("Dropout hotspots"), "month": gettext("Month"), "all": gettext("all"),
        "key_group": gettext("Key group"), "grade": gettext("Grade due"), "sex": gettext("Sex"),
        "show": gettext("Show"), "method": gettext("How is this computed?"),
        "timeline": gettext("Last 12 months"), "loading": gettext("Computing…"),
        "error": gettext("Could not load the layer"),
        "summary": gettext("%(hot)s hot and %(cold)s cold spots after FDR; %(tested)s groups tested, "
                           "%(islands)s without a neighbour"),
        "without_fdr": gettext("without the correction %(n)s groups would pass at 95 %%"),
        "no_data": gettext("No school-age child on the ledger at this month's end."),
        "nothing": gettext("Nothing to test: no group differs from the others."),
        "school_age": gettext("school-age"), "suspected": gettext("suspected"),
        "dropped_out": gettext("dropped out"), "returned": gettext("returned"),
        "rate": gettext("per 100"), "smoothed": gettext("per 100, smoothed"),
        "cluster": gettext("Gi*"), "cases": gettext("Open cases"), "rate_legend": gettext("Per 100 (smoothed)"),
        "cluster_legend": gettext("Clusters after FDR"),
    }

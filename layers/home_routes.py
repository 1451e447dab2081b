"""Send-teaching-home routes (送教路线): a toggle of the grid map, and the map of the routes page.

Nothing of it is embedded in the page: `add_to` puts an empty overlay in the layer control with the
addresses of the schools' route endpoints (/hometeaching/school/<code>/routes/layer.json, scoped,
audited, with an ETag from hometeaching.cache's fingerprint); hometeaching/static/hometeaching/
routes.js fetches them when the overlay is switched on and draws each trip along the roads in its
colour — numbered stops in the trip's colour, arrows along the legs, minutes per leg — with a legend
of the trips, the week (‹ › to step), and the visits that could not fit.

Only logins that may see children get it (hometeaching.scope: a school's staff, their township,
county administrators); for planners and inspectors the layer adds nothing to the map.
"""

from __future__ import annotations

from typing import Any

import folium
from branca.element import MacroElement
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from folium.elements import JSCSSMixin
from jinja2 import Template

from gridmap import visits as weekly
from hometeaching import scope
from hometeaching.routes import week_text
from layers.base import MapLayer


class _Attach(JSCSSMixin, MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        gmRoutes.attach({{ this._parent.get_name() }}, {{ this.group }}, {{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(self, group: str, options: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.default_js = [("gm_routes", static("hometeaching/routes.js"))]
        self.default_css = [("gm_routes_css", static("hometeaching/routes.css"))]
        self.group = group  # folium's own variable name (an identifier it generated), not user data
        self.options = options


def texts() -> dict[str, str]:
    """The words routes.js writes (translated here, once)."""
    return {
        "title": _("Send-teaching-home routes"), "loading": _("Planning the week's routes…"),
        "failed": _("The routes could not be loaded"), "trip": _("Trip"), "stop": _("stop"),
        "leg": _("leg"), "min": _("min"), "none": _("No visits to plan this week."),
        "unfit": _("Visits that cannot fit the week"), "open": _("open the routes page"),
        "leave": _("leave"), "back": _("back"), "school": _("school"),
    }


class HomeRouteLayer(MapLayer):
    """On the grid map: every route of the schools this login sees in the area, off until switched on."""

    key = "home_routes"
    title = gettext_lazy("Send-teaching-home routes")
    show = False
    fit = False  # the routes page zooms to its school's trips; the grid keeps its view

    def features(self) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": []}  # served by the schools' endpoints

    def week(self) -> weekly.Week:
        return weekly.week_of(timezone.localdate())

    def schools(self) -> list[tuple[str, str]]:
        return list(scope.route_schools(self.user, self.root.code, self.week()).values_list("code", "name"))

    def add_to(self, fmap: folium.Map) -> None:
        if not scope.may_see(self.user):
            return  # planners and inspectors: nothing of it
        schools = self.schools()
        if not schools:
            return
        group = folium.FeatureGroup(name=str(self.title), show=self.show)
        group.add_to(fmap)
        fmap.add_child(_Attach(group.get_name(), {
            "sources": [{"code": code, "name": name, "url": reverse("hometeaching-routes-layer", args=[code]),
                         "page": reverse("hometeaching-routes", args=[code])} for code, name in schools],
            "week": week_text(self.week()), "fit": self.fit, "texts": texts()}))


def routes_page_layers(school_code: str, school_name: str, week: weekly.Week) -> list[type[MapLayer]]:
    """The routes page's map: the school's trips over the grid map's orientation layers (river, roads,
    village and township boundaries, schools, names), as the coverage page draws its layer."""
    from layers.boundaries import CountyLayer, TownshipLayer, VillageLayer
    from layers.context import RoadLayer, WaterLayer
    from layers.grid import LabelLayer
    from layers.schools import SchoolLayer

    class PageLayer(HomeRouteLayer):
        show = True
        fit = True

        def week(self) -> weekly.Week:
            return week

        def schools(self) -> list[tuple[str, str]]:
            return [(school_code, school_name)]

    return [WaterLayer, RoadLayer, VillageLayer, TownshipLayer, CountyLayer, SchoolLayer, LabelLayer, PageLayer]

"""Assemble a folium map of an area from the layer registry, with local assets only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import Element, MacroElement
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from jinja2 import Template

from gridmap.grid import Cell
from gridmap.middleware import csp_nonce
from gridmap.models import Area, AreaLevel, SchoolKind, SchoolStatus
from layers import assets, served
from layers.aggregates import BANDS, AggregateLayer
from layers.base import MapLayer
from layers.context import RIVER_STYLE, ROAD_STYLE, road_legend
from layers.grid import CellLayer
from layers.registry import GRID_MAP_LAYERS
from layers.schools import KIND_STYLE

CREDITS = ("© OpenStreetMap contributors (ODbL) · 天地图 via 1chenhang/dongyangCIM · "
           "Vonng/adcode (CC BY 4.0)")


class _MapControls(MacroElement):
    """A metric-only scale bar, and the data credits in Leaflet's attribution control (there is
    no tile layer to carry them)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, maxWidth: 160}).addTo({{ this._parent.get_name() }});
        {{ this._parent.get_name() }}.attributionControl.setPrefix(false);
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}""")

    def __init__(self, text: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.text = text


def _legend_html(area: Area, layers: dict[str, MapLayer]) -> str:
    """The map legend: compact, folded behind a button where the map is small or shows the county."""
    kinds = [(SchoolKind(kind).label, color, radius) for kind, (color, radius) in KIND_STYLE.items()]
    return render_to_string("layers/legend.html", {
        "kinds": kinds, "roads": road_legend(), "river": RIVER_STYLE,
        "has": {key for key, layer in layers.items() if layer.group_name},
        "folded": area.level == AreaLevel.COUNTY})


@dataclass
class RenderedMap:
    header: str  # <link>/<script>/<style> tags for <head>
    body: str  # the map's <div>
    script: str  # the map's JavaScript


@dataclass
class GridMap:
    map: folium.Map
    config: dict[str, Any]  # for static/gridmap/grid.js: indicators and their legends


def grid_map(area: Area, user: Any, cells: list[Cell], layers: list[type[MapLayer]] | None = None,
             tiled: bool = False, found: Any = None) -> GridMap:
    """The map of an area's grid: cells coloured by indicator, with boundaries, roads and schools
    (or only the given layers, for a page of one theme). `tiled`: the layers that have vector tiles
    (layers.tile_layers) are drawn from them (the grid page) instead of being embedded as GeoJSON."""
    xmin, ymin, xmax, ymax = area.geom.extent
    fmap = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], tiles=None,
                      zoom_start=11, control_scale=False, prefer_canvas=False, zoom_snap=0.25)
    fmap.default_js = assets.local_js()
    fmap.default_css = assets.local_css()
    if settings.GRIDMAP_TILE_URL:
        folium.TileLayer(settings.GRIDMAP_TILE_URL, attr=settings.GRIDMAP_TILE_ATTRIBUTION,
                         name=_("Base map")).add_to(fmap)
    config: dict[str, Any] = {"levels": {}, "bands": [{"level": level, "below": zoom}
                                                    for level, zoom in BANDS.get(area.level, [])]}
    drawn: dict[str, MapLayer] = {}
    urls = served.tile_urls(user, area, found) if tiled else {}
    if tiled:
        fmap.default_js = [*fmap.default_js, *assets.tile_js()]
        config["tiles"] = []
        config["texts"] = tile_texts()
    for layer_class in layers or GRID_MAP_LAYERS:
        layer = layer_class(area, user, cells)
        layer.tile_url = urls.get(layer.key, "")
        layer.add_to(fmap)
        if layer.tile_url and layer.group_name:
            config["tiles"].append({"key": layer.key, "url": layer.tile_url, "group": layer.group_name})
        drawn[layer.key] = layer
        if isinstance(layer, CellLayer):
            config["indicators"] = [ind.config() for ind in layer.indicators]
            config["levels"][AreaLevel.GROUP] = {"indicators": config["indicators"], "group": layer.group_name}
        elif isinstance(layer, AggregateLayer) and layer.group_name:
            config["levels"][layer.level] = layer.config()
    config["bands"] = [b for b in config["bands"] if b["level"] in config["levels"]]
    folium.LayerControl(collapsed=True).add_to(fmap)
    fmap.fit_bounds([[ymin, xmin], [ymax, xmax]])
    root: Any = fmap.get_root()  # a branca Figure
    root.html.add_child(Element(_legend_html(area, drawn)))
    fmap.add_child(_MapControls(CREDITS))
    config["map"] = fmap.get_name()
    return GridMap(fmap, config)


def tile_texts() -> dict[str, Any]:
    """What tiles.js writes in the popups of tiled layers (their properties are language-free keys)."""
    yes, no = _("yes"), _("no")
    return {
        "school": _("School"), "school_code": _("School code"), "kind": _("Kind"), "grades": _("Grades"),
        "capacity": _("Approved places"), "boarding": _("Boarding"), "status": _("Status"), "data": _("Data"),
        "name": _("Name"), "code": _("Code"), "boundary": _("Boundary"), "yes": yes, "no": no,
        "synthetic": {"true": _("generated (demo)"), "false": _("surveyed")},
        "kinds": {k: str(label) for k, label in SchoolKind.choices},
        "statuses": {k: str(label) for k, label in SchoolStatus.choices},
        "kind_style": {k: {"color": c, "radius": r} for k, (c, r) in KIND_STYLE.items()},
        "road_style": {k: {"color": c, "weight": w} for k, (c, w) in ROAD_STYLE.items()},
    }


def render(fmap: folium.Map) -> RenderedMap:
    return with_request_nonce(render_unsigned(fmap))


def render_unsigned(fmap: folium.Map) -> RenderedMap:
    """The map's HTML without the request's CSP nonce: what may be kept between requests
    (with_request_nonce signs it for the one being answered)."""
    root: Any = fmap.get_root()  # a branca Figure
    root.render()
    return RenderedMap(header=root.header.render(), body=root.html.render(), script=root.script.render())


def with_request_nonce(rendered: RenderedMap) -> RenderedMap:
    return RenderedMap(header=with_nonce(rendered.header), body=with_nonce(rendered.body), script=rendered.script)


def with_nonce(html: str) -> str:
    """folium writes inline <script> blocks; give each the request's CSP nonce so they may run."""
    nonce = csp_nonce()
    return re.sub(r"<script(?![^>]*\bnonce=)", f'<script nonce="{nonce}"', html) if nonce else html

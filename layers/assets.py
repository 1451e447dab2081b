"""folium's browser assets, served from static/vendor/ (scripts/vendor_static.sh) instead of CDNs.

Versions are those folium 0.20 asks for. Bootstrap-3 glyphicons are left out: gridmap draws no
glyphicon markers, and the stylesheet exists on no package registry.
"""

from __future__ import annotations

from django.templatetags.static import static

JS = [
    ("leaflet", "vendor/leaflet-1.9.3/leaflet.js"),
    ("jquery", "vendor/jquery-3.7.1/jquery.min.js"),
    ("bootstrap", "vendor/bootstrap-5.2.2/bootstrap.bundle.min.js"),
    ("awesome_markers", "vendor/leaflet.awesome-markers-2.0.5/leaflet.awesome-markers.js"),
]
CSS = [
    ("leaflet_css", "vendor/leaflet-1.9.3/leaflet.css"),
    ("bootstrap_css", "vendor/bootstrap-5.2.2/bootstrap.min.css"),
    ("awesome_markers_font_css", "vendor/fontawesome-free-6.2.0/css/all.min.css"),
    ("awesome_markers_css", "vendor/leaflet.awesome-markers-2.0.5/leaflet.awesome-markers.css"),
    ("awesome_rotate_css", "vendor/leaflet.awesome-markers-2.0.5/leaflet.awesome.rotate.css"),
    ("gridmap_css", "gridmap/map.css"),
]


def local_js() -> list[tuple[str, str]]:
    return [(name, static(path)) for name, path in JS]


def local_css() -> list[tuple[str, str]]:
    return [(name, static(path)) for name, path in CSS]


# The grid page's vector tiles (layers.served): Leaflet.VectorGrid, and what draws the tiled layers.
TILE_JS = [
    ("vectorgrid", "vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js"),
    ("gm_tiles", "gridmap/tiles.js"),
]


def tile_js() -> list[tuple[str, str]]:
    return [(name, static(path)) for name, path in TILE_JS]

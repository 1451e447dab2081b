"""Serving the grid map's vector tiles: one place for the cache keys, the versions and the ETags.

A tile is kept in the server-side cache (CACHES["tiles"], shared by the server's workers) under
its layer, grid root, z/x/y, the login's scope (layers.versions.scope_key: a tile never crosses
roles or areas) and the data version of the sources the layer draws in the root's county
(layers.versions: written by database triggers on every write, whatever its path). A write makes a
new version, so the next request builds the tile again; nothing stale is served and nothing is
deleted by hand. The ETag is a hash of the tile's bytes: a hand-over in one village changes the
ETag of the tiles whose content it changed, and the other tiles of the county answer 304 again.

The properties computed in Python (the grid's counts and classes) are cached the same way, once per
layer, root, scope and version, and each tile passes only its own features' to the database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language

from gridmap.models import Area
from layers import versions
from layers.models import Source
from layers.tile_layers import TILE_LAYERS, Props, TileLayer, cells_key
from layers.tiles import encode, tile_bounds, tile_polygon

CACHE = "tiles"
PAGES = "pages"  # CACHES["pages"]: rendered parts of the busiest pages (the grid page's map, cell cards)
CONTENT_TYPE = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class Tile:
    data: bytes
    etag: str  # quoted, as the header carries it


def layer_version(layer: TileLayer, found: versions.Versions) -> str:
    return found.of(versions.layer_sources(layer.user, layer.sources, layer.counts))


def _base_key(layer: TileLayer, found: versions.Versions) -> str:
    # The day too: who is of school age (access.on_ledger), the aid term and the month's published
    # figures follow the calendar, not only the data.
    return (f"gm:tile:{layer.key}:{layer.root.code}:{versions.scope_key(layer.user)}:{layer_version(layer, found)}:"
            f"{timezone.localdate():%Y%m%d}")


def _properties(layer: TileLayer, base: str) -> Props | None:
    cache = caches[CACHE]
    props: Props | None = cache.get(f"{base}:props")
    if props is None:
        props = layer.properties()
        if props is None:
            return None
        cache.set(f"{base}:props", props, None)
    return props


def build(layer: TileLayer, z: int, x: int, y: int, props: Props | None) -> bytes:
    """The tile's MVT bytes (no cache)."""
    tile_bounds(z, x, y)  # TileError for z/x/y that name no tile
    if z < layer.min_zoom:
        return b""
    rows = layer.rows(z, x, y)
    if props is not None:  # only the features of this tile
        codes = layer.queryset().filter(**{f"{layer.geom_field}__bboverlaps": tile_polygon(z, x, y)}).values_list(
            "code", flat=True)
        props = {code: props[code] for code in codes if code in props}
    return encode(rows, layer.key, "mvt", props)


def tile(user: Any, root: Area, key: str, z: int, x: int, y: int) -> Tile:
    """The tile `key` z/x/y of the grid of `root` as `user` sees it, from the cache or built.
    KeyError for an unknown layer, layers.tiles.TileError for a z/x/y that names no tile."""
    layer = TILE_LAYERS[key](root, user)
    tile_bounds(z, x, y)
    base = _base_key(layer, versions.read(root.code[:6]))
    cache = caches[CACHE]
    name = f"{base}:{z}/{x}/{y}"
    hit: tuple[bytes, str] | None = cache.get(name)
    if hit is not None:
        return Tile(*hit)
    props = _properties(layer, base) if z >= layer.min_zoom else None
    data = build(layer, z, x, y, props)
    etag = f'"{hashlib.sha256(data).hexdigest()[:24]}"'
    cache.set(name, (data, etag), None)
    return Tile(data, etag)


def page_key(user: Any, root: Area, found: versions.Versions) -> str:
    """The cache key of the grid page's sidebar for `root` and this login (layers.tile_layers.cells_key:
    what decides its cells)."""
    return f"gm:grid-page:3:{cells_key(user, root, found)}"


def tile_urls(user: Any, root: Area, found: versions.Versions | None = None) -> dict[str, str]:
    """Each tile layer's URL template for the grid page of `root` ({z}/{x}/{y} left for Leaflet), with
    the layer's version for this login as a query string, so that the browser may keep tiles until a
    write changes what they draw (the server checks the version itself: `v` is only a cache-buster)."""
    found = found or versions.read(root.code[:6])
    urls = {}
    for key, layer_class in TILE_LAYERS.items():
        layer = layer_class(root, user)
        v = hashlib.sha256(_base_key(layer, found).encode()).hexdigest()[:12]
        path = reverse("layers:tile", args=[root.code, key, 0, 0, 0]).removesuffix("/0/0/0.pbf")
        urls[key] = f"{path}/{{z}}/{{x}}/{{y}}.pbf?v={v}"
    return urls


def part_key(kind: str, user: Any, found: versions.Versions, *parts: str) -> str:
    """The cache key of a rendered part of a page (`kind`: the grid page's map, a cell's card) for this
    login. Such a part may show anything of the county, so the key holds the version of every source
    of the county (any write there builds it again), the scope with the role (the forms a role may use
    are part of it), the day (ages, overdue steps and the month's published figures follow the
    calendar) and the language."""
    # the settings a part draws (the base map's tiles) too: a test or a restart may change them, and the
    # parts outlive a restart (gunicorn empties them when it starts, gridmap/gunicorn.conf.py, for new code)
    setup = hashlib.sha256(f"{settings.GRIDMAP_TILE_URL}|{settings.GRIDMAP_TILE_ATTRIBUTION}".encode()).hexdigest()[:8]
    return (f"gm:{kind}:1:{':'.join(parts)}:{versions.scope_key(user)}:{found.of([str(s) for s in Source])}:"
            f"{timezone.localdate():%Y%m%d}:{get_language()}:{setup}")


def csrf_placeholder() -> str:
    """What a cached part holds where a form's CSRF token goes (the part is shared by every login of the
    same scope, a token belongs to one session): with_csrf puts the request's own token there. Derived
    from SECRET_KEY, so no imported name or note can be written to contain it."""
    return "gmcsrf" + salted_hmac("gridmap.layers.served.csrf", "placeholder").hexdigest()[:26]


def with_csrf(html: str, request: HttpRequest) -> str:
    """A cached part with the request's CSRF token in its forms (and the CSRF cookie set if missing)."""
    placeholder = csrf_placeholder()
    return html.replace(placeholder, get_token(request)) if placeholder in html else html

"""Grid page as a shell + vector tiles (issue 17): the page before and after, and the tiles' times.

    python -m benchmarks.tiles            (or: make bench, BENCH=tiles)

Before: the grid page with every layer embedded as GeoJSON (layers.maps.grid_map(tiled=False), what
the page was, computing its cells on every request); after: the page as served now, its heavy layers
drawn from /tiles/, its cells kept until a write (measured kept, and just after a write). Both through
Django's full stack (middleware, gzip) in the same run, for the county administrator on the county
and a township official on the largest township. Then the tiles the first view of each page asks for
(the zoom a 1400×900 window fits the area to), and the county's at a province's zoom (7): cold (the
tile cache emptied) and warm, per tile, and a revalidation with the ETag (304). On the province's data
set: DATABASE_URL=…/gridmap_province python -m benchmarks.tiles (its largest township's county). Runs
in a transaction that is rolled back (the bench logins leave nothing behind); the tile cache is
emptied at the start. Figures are printed, never asserted.
"""

from __future__ import annotations

import gzip
import math
import os
import statistics
import time
from typing import Any
from unittest import mock

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402

from benchmarks.grid_page import Rollback, largest_township, timed  # noqa: E402
from benchmarks.results import record  # noqa: E402
from gridmap.models import Area, Profile, UserRole  # noqa: E402
from layers import maps, served  # noqa: E402
from layers.aggregates import BANDS  # noqa: E402
from layers.tiles import tiles_covering  # noqa: E402

MAP_PIXELS = (980, 850)  # the map's part of a 1400×900 window
PROVINCE_ZOOM = 7  # a province of ~100,000 km² on the same map (Zhejiang fits at 7)


def fit_zoom(area: Area) -> int:
    """The tile zoom of the page's first view: the area's extent fitted to the map (Leaflet's fitBounds)."""
    west, south, east, north = area.geom.extent

    def y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    zx = math.log2(MAP_PIXELS[0] / 256 * 360 / (east - west))
    zy = math.log2(MAP_PIXELS[1] / 256 * 2 * math.pi / (y(north) - y(south)))
    return round(math.floor(min(zx, zy) * 4) / 4)  # zoomSnap 0.25, tiles at the rounded zoom


def first_view_layers(area: Area, z: int) -> list[str]:
    """The tiled layers the first view draws: the summed level for that zoom (or the cells), the lines,
    the schools."""
    level = next((lv for lv, below in BANDS.get(area.level, []) if z < below), "group")
    shown = {"township": "township_aggregates", "village": "village_aggregates", "group": "cells"}[level]
    return [shown, "roads", "villages", "townships", "county", "schools"]


class NoCache:
    """The page as it was: nothing kept between requests."""

    def get(self, key: str, default: Any = None) -> Any:
        return default

    def set(self, *args: Any, **kwargs: Any) -> None:
        pass


def page(title: str, client: Client, area: Area, runs: int) -> None:
    url = f"/grid/{area.code}/"

    def embedded(*args: Any, **kwargs: Any) -> Any:
        return maps.grid_map(*args, **{**kwargs, "tiled": False})

    with mock.patch("gridmap.views.grid_map", embedded), mock.patch("gridmap.views.caches",
                                                                       {served.CACHE: NoCache(), served.PAGES: NoCache()}):
        before, _b, old = timed(lambda: client.get(url), runs)

    def cold() -> Any:
        caches[served.CACHE].clear()  # as after a write: the page's cells and map computed again
        caches[served.PAGES].clear()
        return client.get(url)
    after_cold, _b, _r = timed(cold, runs)
    after, _b, new = timed(lambda: client.get(url), runs)
    assert old.status_code == new.status_code == 200
    sizes = {}
    for name, response in (("before", old), ("after", new)):
        sent = len(response.content)
        raw = len(gzip.decompress(response.content)) if response.get("Content-Encoding") == "gzip" else sent
        sizes[name] = (sent, raw)
    print(title)
    print(f"  server time: embedded GeoJSON {before * 1000:.0f} ms; shell {after_cold * 1000:.0f} ms just after a "
          f"write, {after * 1000:.0f} ms kept (median of {runs})")
    print(f"  HTML: embedded {sizes['before'][0] / 1024:,.0f} KB gzip / {sizes['before'][1] / 1024:,.0f} KB raw; "
          f"shell {sizes['after'][0] / 1024:,.0f} KB gzip / {sizes['after'][1] / 1024:,.0f} KB raw")
    record("tiles", f"{area.name} grid page server time, shell", after, "s", baseline=before,
           baseline_label="embedded GeoJSON page, same run", target="county shell < 0.1 s")
    record("tiles", f"{area.name} grid page server time, shell just after a write", after_cold, "s", baseline=before,
           baseline_label="embedded GeoJSON page, same run")
    record("tiles", f"{area.name} grid page bytes sent (gzip), shell", sizes["after"][0] / 1024, "KB",
           baseline=sizes["before"][0] / 1024, baseline_label="embedded GeoJSON page, same run")
    record("tiles", f"{area.name} grid page bytes raw, shell", sizes["after"][1] / 1024, "KB",
           baseline=sizes["before"][1] / 1024, baseline_label="embedded GeoJSON page, same run")


def tiles(title: str, client: Client, area: Area, z: int | None = None) -> None:
    """The tiles of the first view of `area` (or of the view at zoom `z`), cold (the tile cache emptied
    first), warm and revalidated."""
    z = fit_zoom(area) if z is None else z
    caches[served.CACHE].clear()
    requests = [f"{served.tile_urls(client_user(client), area)[key].split('{z}')[0]}{z}/{x}/{y}.pbf"
                for key in first_view_layers(area, z) for x, y in tiles_covering(area.geom.extent, z)]

    def each(etags: dict[str, str] | None = None) -> tuple[list[float], int, dict[str, str]]:
        times, size, tags = [], 0, {}
        for url in requests:
            headers = {"HTTP_IF_NONE_MATCH": etags[url]} if etags else {}
            start = time.perf_counter()
            response = client.get(url, **headers)
            times.append(time.perf_counter() - start)
            assert response.status_code == (304 if etags else 200), (url, response.status_code)
            size += len(response.content)
            tags[url] = response["ETag"]
        return times, size, tags

    cold, size, etags = each()
    warm, _s, _t = each()
    again, _s, _t = each(etags)

    def p95(values: list[float]) -> float:
        return sorted(values)[max(0, math.ceil(0.95 * len(values)) - 1)]
    print(title)
    print(f"  first view: {len(requests)} tiles at zoom {z}, {size / 1024:,.0f} KB sent in all (gzip)")
    print(f"  per tile: cold median {statistics.median(cold) * 1000:.1f} ms, p95 {p95(cold) * 1000:.1f} ms; "
          f"warm median {statistics.median(warm) * 1000:.1f} ms, p95 {p95(warm) * 1000:.1f} ms; "
          f"304 median {statistics.median(again) * 1000:.1f} ms; slowest cold {max(cold) * 1000:.0f} ms (the layer's "
          f"counts and classes computed for the root)")
    floor, _b, _r = timed(lambda: client.get("/login/"), 10)
    record("tiles", f"{area.name} tile p95, cold (z{z})", p95(cold), "s", baseline=floor,
           baseline_label="/login/ in the same run", target="< 0.3 s")
    record("tiles", f"{area.name} slowest tile, cold (z{z}): the root's counts computed", max(cold), "s",
           baseline=floor, baseline_label="/login/ in the same run")
    record("tiles", f"{area.name} tile p95, warm (z{z})", p95(warm), "s", baseline=floor,
           baseline_label="/login/ in the same run", target="< 0.05 s")
    record("tiles", f"{area.name} tile revalidation (304) median", statistics.median(again), "s", baseline=floor,
           baseline_label="/login/ in the same run")
    record("tiles", f"{area.name} first view's tiles, bytes sent (gzip)", size / 1024, "KB")


def client_user(client: Client) -> Any:
    return client.user  # type: ignore[attr-defined]


def login(user: Any) -> Client:
    client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_ENCODING="gzip")
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


def main() -> None:
    town, groups = largest_township()
    county = town.parent
    caches[served.CACHE].clear()
    try:
        with transaction.atomic():
            official = get_user_model().objects.create_user("bench-tiles-official")
            Profile.objects.create(user=official, role=UserRole.TOWNSHIP_OFFICIAL).areas.set([town])
            admin = get_user_model().objects.create_user("bench-tiles-admin")
            Profile.objects.create(user=admin, role=UserRole.COUNTY_ADMIN)
            county_client, town_client = login(admin), login(official)
            tiles(f"tiles of /grid/{county.code}/ ({county.name}), county administrator", county_client, county)
            tiles(f"tiles of /grid/{county.code}/ ({county.name}) at a province's zoom, county administrator",
                  county_client, county, PROVINCE_ZOOM)
            tiles(f"tiles of /grid/{town.code}/ ({town.name}, {groups} cells), township official", town_client, town)
            page(f"/grid/{county.code}/ ({county.name}, whole county), county administrator", county_client,
                 county, 3)
            page(f"/grid/{town.code}/ ({town.name}), township official", town_client, town, 5)
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()

"""A small hand-drawn road network whose shortest times are known by hand (tests of routing and
coverage import it).

    W (west bank)       river        E2 ↑ one-way (north only)   N
    (0,3000) ●─────────────────────── ● (800,3000) ──────────── ● (1600,3000)
       │                                   │                          │ R
       │                                   ● (800,1500) ─────────── ● (1600,1500)
       │                                   │ E1                  S2
    (0,0) ●══════════ bridge B ════════════ ● (800,0)

Metres east/north of (119.05E, 28.05N) — inside the `squares` test county's fourth group. The
river runs between the banks; the bridge is the only crossing. Expected times are lengths measured
independently (pyproj's geodesic on the drawn coordinates) at the configured speeds.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import Geod
from shapely.geometry import LineString

from gridmap.models import Road, RoadEdge
from importers.roads import RoadImportParams, import_roads

GEOD = Geod(ellps="WGS84")
LON0, LAT0 = 119.05, 28.05
WALK = 4.0 / 3.6  # m/s, the default walking speed


def at(east: float, north: float) -> tuple[float, float]:
    """A point `east`, `north` metres from the origin, placed geodesically (north first, then east)."""
    lon, lat, _ = GEOD.fwd(LON0, LAT0, 0, north) if north else (LON0, LAT0, 0)
    if east:
        lon, lat, _ = GEOD.fwd(lon, lat, 90, east)
    return float(lon), float(lat)


def metres(*points: tuple[float, float]) -> float:
    lons, lats = zip(*points, strict=True)
    return float(GEOD.line_length(lons, lats))


ROADS = {  # name: (coordinates as (east, north) metres, oneway, class)
    "W": ([(0, 0), (0, 3000)], None, "residential"),
    "B": ([(0, 0), (800, 0)], None, "residential"),
    "E1": ([(800, 0), (800, 1500)], None, "residential"),
    "E2": ([(800, 1500), (800, 3000)], "yes", "residential"),
    "N": ([(800, 3000), (1600, 3000)], None, "residential"),
    "R": ([(1600, 3000), (1600, 1500)], None, "residential"),
    "S2": ([(1600, 1500), (800, 1500)], None, "residential"),
}


def import_hand_network(tmp_path):
    """Only the hand-drawn roads, imported by the road importer (the one network builder); for a
    test's fixture, inside its transaction."""
    Road.objects.all().delete()  # rolled back after the test, like everything else
    frame = gpd.GeoDataFrame(
        {"highway": [c for _p, _o, c in ROADS.values()], "oneway": [o for _p, o, _c in ROADS.values()],
         "name": list(ROADS)},
        geometry=[LineString([at(*p) for p in pts]) for pts, _o, _c in ROADS.values()], crs=4326)
    path = tmp_path / "hand.geojson"
    frame.to_file(path)
    report = import_roads(RoadImportParams(path, snap_m=0, commit=True))
    assert report.ok, report.text()
    assert RoadEdge.objects.count() == len(ROADS)
    return path


def lonlat(*points: tuple[float, float]) -> np.ndarray:
    return np.array([at(*p) for p in points])

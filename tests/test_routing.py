"""The travel-time engine on a small hand-drawn road network whose times are known by hand.

    W (west bank)       river        E2 ↑ one-way (north only)   N
    (0,3000) ●─────────────────────── ● (800,3000) ──────────── ● (1600,3000)
       │ H ·                     S_east ·  │                          │ R
       │                                   ● (800,1500) ─────────── ● (1600,1500)
       │ S_west ·                          │ E1                  S2
    (0,0) ●══════════ bridge B ════════════ ● (800,0)

Metres east/north of (119.05E, 28.05N). The river runs between the banks; the bridge is the only
crossing. Expected times are lengths measured independently (pyproj's geodesic on the drawn
coordinates) at the configured speeds — never what the engine printed.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from django.test import override_settings
from pyproj import Geod
from shapely.geometry import LineString

from gridmap.models import Road, RoadEdge
from importers.roads import RoadImportParams, import_roads
from routing import engine, network
from routing.modes import mode

pytestmark = pytest.mark.django_db
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


@pytest.fixture
def hand_network(tmp_path):
    """Only the hand-drawn roads, imported by the road importer (the one network builder)."""
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


def test_school_across_the_river_is_near_by_air_and_far_by_road(hand_network):
    home, school_east = (20, 2900), (770, 2900)
    crow = metres(at(*home), at(*school_east))
    assert crow < 800
    r = engine.nearest_facility(lonlat(home), lonlat(school_east), "walk")
    # by hand: 20 m to the west road, down it to the bridge, across, up the east bank, 30 m in
    road = (metres(at(0, 2900), at(0, 0)) + metres(at(0, 0), at(800, 0)) + metres(at(800, 0), at(800, 2900)))
    access = metres(at(*home), at(0, 2900)) + metres(at(800, 2900), at(*school_east))
    assert r.distance_m[0] == pytest.approx(road + access, abs=0.5)
    assert r.time_s[0] == pytest.approx((road + access) / WALK, abs=1)
    assert r.time_s[0] > 90 * 60  # over an hour and a half on foot, for a school ~750 m away


def test_one_way_street_binds_the_bus_not_the_walker(hand_network):
    top, middle = (800, 3000), (800, 1500)
    walk = engine.times_to(lonlat(top), lonlat(middle), "walk")
    bus = engine.times_to(lonlat(top), lonlat(middle), "bus")
    assert walk.time_s[0] == pytest.approx(metres(at(*top), at(*middle)) / WALK, abs=1)
    # the bus may not go south on E2: round the block by N, R and S2
    detour = metres(at(800, 3000), at(1600, 3000)) + metres(at(1600, 3000), at(1600, 1500)) + \
        metres(at(1600, 1500), at(800, 1500))
    bus_mps = mode("bus").speed("residential") / 3.6
    assert bus.time_s[0] == pytest.approx(detour / bus_mps, abs=1)
    assert bus.distance_m[0] == pytest.approx(detour, abs=0.5)
    # northwards the one-way street is the way
    back = engine.times_to(lonlat(middle), lonlat(top), "bus")
    assert back.time_s[0] == pytest.approx(metres(at(*middle), at(*top)) / bus_mps, abs=1)


def test_home_off_the_network_is_reported_not_snapped(hand_network):
    far, near = (5000, 5000), (10, 100)
    snapped = engine.snap(lonlat(far, near), "walk")
    assert list(snapped.on) == [False, True]
    r = engine.nearest_facility(snapped, engine.snap(lonlat((0, 2000)), "walk"), "walk")
    assert r.off_network.tolist() == [True, False]
    assert math.isinf(r.time_s[0]) and r.facility[0] == -1 and math.isnan(r.distance_m[0])
    assert not r.unreachable.any()
    # the cap is the setting: with 10 km allowed, the far home is walked to the road instead
    with override_settings(GRIDMAP_ACCESS_MAX_M=10_000):
        assert engine.snap(lonlat(far), "walk").on.all()


def test_nearest_picks_the_fastest_and_reports_which(hand_network):
    home = (20, 1200)
    schools = lonlat((30, 2900), (30, 100), (770, 2900))
    r = engine.nearest_facility(lonlat(home), schools, "walk")
    assert r.facility[0] == 1  # 1,100 m south beats 1,700 m north
    assert r.time_s[0] == pytest.approx(
        (metres(at(*home), at(0, 1200)) + metres(at(0, 1200), at(0, 100)) + metres(at(0, 100), at(30, 100))) / WALK,
        abs=1)
    # each home to a school of its own (times_to_each) agrees with the single-school query
    each = engine.times_to_each(lonlat(home, home), schools, np.array([0, 2]), "walk")
    for k, j in enumerate([0, 2]):
        assert each.time_s[k] == pytest.approx(engine.times_to(lonlat(home), schools[j:j + 1], "walk").time_s[0])


def test_od_matrix_and_trip_path(hand_network):
    points = lonlat((0, 2900), (800, 2900), (1600, 2000))
    od = engine.od_matrix(points, "bus")
    assert od.shape == (3, 3) and np.all(np.diag(od) == 0)
    for i in range(3):
        for j in range(3):
            if i != j:
                assert od[i, j] == pytest.approx(engine.times_to(points[i:i + 1], points[j:j + 1], "bus").time_s[0])
    trip = engine.trip_path(points[:1], points[1:2], "walk")
    assert trip is not None
    line = trip.coords
    # the line runs along the roads: down the west bank, over the bridge, up the east bank
    assert metres(*map(tuple, line)) == pytest.approx(trip.distance_m, abs=1)
    assert line[:, 1].min() == pytest.approx(LAT0, abs=1e-6)  # it reaches the bridge
    assert trip.geojson()["geometry"]["type"] == "LineString"


def test_network_version_changes_when_roads_are_reimported(hand_network):
    before = network.version()
    g1 = network.graph("walk")
    assert network.graph("walk") is g1  # cached
    Road.objects.filter(name="B").update(highway="footway")  # any change to the roads bumps it
    assert network.version() != before
    g2 = network.graph("bus")
    assert not np.isfinite(g2.fwd).all()  # the bus may not use the footbridge now
    g3 = network.graph("walk")
    assert g3 is not g1
    import_roads(RoadImportParams(hand_network, snap_m=0, commit=True))
    assert network.graph("walk") is not g3

"""The travel-time engine on the small hand-drawn road network of tests/handmade.py: one-way
streets, a school across a river with one bridge, a home off the network, the nearest of several
schools, matrices and paths. Expected times are measured independently (pyproj) — never what the
engine printed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from django.test import override_settings

from gridmap.models import Road
from importers.roads import RoadImportParams, import_roads
from routing import engine, network
from routing.modes import mode
from tests.handmade import LAT0, WALK, at, import_hand_network, lonlat, metres

pytestmark = pytest.mark.django_db


@pytest.fixture
def hand_network(tmp_path):
    return import_hand_network(tmp_path)


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

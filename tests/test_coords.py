"""GCJ-02 / BD-09 conversions against published test vectors.

Vectors: wandergis/coordtransform, test/app.js (input 116.404, 39.915 for every direction). Its
gcj02towgs84 is the one-step approximation; ours iterates to the exact inverse, so that direction
is compared within 2 m and checked by round trip instead.
"""

import numpy as np
import pytest
from pyproj import Geod

from importers import coords

GEOD = Geod(ellps="WGS84")


def metres(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


@pytest.mark.parametrize(("convert", "expected"), [
    (coords.bd09_to_gcj02, (116.39762729119315, 39.90865673957631)),
    (coords.gcj02_to_bd09, (116.41036949371029, 39.92133699351021)),
    (coords.wgs84_to_gcj02, (116.41024449916938, 39.91640428150164)),
])
def test_published_vectors_exactly(convert, expected):
    lon, lat = convert(116.404, 39.915)
    assert metres((lon, lat), expected) < 0.01


def test_gcj02_to_wgs84_within_two_metres_of_the_published_approximation():
    lon, lat = coords.gcj02_to_wgs84(116.404, 39.915)
    assert metres((lon, lat), (116.39775550083061, 39.91359571849836)) < 2.0
    back = coords.wgs84_to_gcj02(lon, lat)
    assert metres(back, (116.404, 39.915)) < 0.001  # exact inverse


def test_bd09_round_trip_and_offset_size_in_dongyang():
    lon, lat = np.array([120.236, 120.5, 120.1]), np.array([29.258, 29.3, 29.05])
    w_lon, w_lat = coords.bd09_to_wgs84(*coords.wgs84_to_bd09(lon, lat))
    # The published BD-09 -> GCJ-02 formula is itself approximate (a few centimetres).
    assert all(metres((a, b), (c, d)) < 0.1 for a, b, c, d in zip(w_lon, w_lat, lon, lat, strict=True))
    g = coords.wgs84_to_gcj02(lon, lat)
    offsets = [metres((a, b), (c, d)) for a, b, c, d in zip(lon, lat, *g, strict=True)]
    assert all(400 < o < 600 for o in offsets)  # PROVENANCE.md: 420-510 m around Dongyang


def test_no_offset_outside_china():
    assert coords.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)

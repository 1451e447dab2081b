"""Chinese web-map offsets: GCJ-02 (Amap, Tencent, DataV) and BD-09 (Baidu) to and from WGS84.

GCJ-02 is an obfuscation, not an EPSG CRS, so PROJ cannot do it. The forward formula is the widely
published one (e.g. the eviltransform and coordtransform projects); the inverse is solved by fixed-
point iteration to sub-millimetre, not the one-step approximation (which is off by up to ~2 m).
Outside mainland China the offset is not applied, as the map providers do. Vectorised over numpy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0

Array = NDArray[np.float64]


def _in_china(lon: Array, lat: Array) -> NDArray[np.bool_]:
    return (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)


def _delta(lon: Array, lat: Array) -> tuple[Array, Array]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike, tolerance: float = 1e-10) -> tuple[Array, Array]:
    g_lon, g_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(30):  # converges in 3-5 steps: the offset varies slowly
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = f_lon - g_lon, f_lat - g_lat
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        if max(np.max(np.abs(e_lon), initial=0), np.max(np.abs(e_lat), initial=0)) < tolerance:
            break
    return w_lon, w_lat


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    x = np.asarray(lon, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


TO_WGS84: dict[str, Callable[[ArrayLike, ArrayLike], tuple[Array, Array]]] = {
    "wgs84": lambda lon, lat: (np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)),
    "cgcs2000": lambda lon, lat: (np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)),
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}


def geometry_to_wgs84(geoms: ArrayLike, system: str) -> NDArray[np.object_]:
    """Convert shapely geometries (lon/lat in `system`) to WGS84, vertex by vertex."""
    convert = TO_WGS84[system]

    def _xy(coords: Array) -> Array:
        lon, lat = convert(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    converted: NDArray[np.object_] = shapely.transform(np.asarray(geoms, dtype=object), _xy)
    return converted

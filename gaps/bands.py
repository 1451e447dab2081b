"""Service areas: the land from which a school teaching grade 1 is within 15, 30 or 45 minutes.

The land is sampled on a square grid (about 40,000 points for the area, at least 100 m apart) and
every sample point is treated exactly as a home: the same snapping, access cap and search as the
children's own trips (routing.graph), so a band is where a child *would* meet a limit if they lived
there. Points beyond the last band or off the network belong to no band: uncovered land is what is
left blank. Each band is the union of its grid squares, smoothed by a fraction of a square, and cut
to the area's boundary.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gaps.compute import Coverage
from gaps.norms import norm_for, within
from gridmap.models import Area
from routing import graph as core
from routing import network

BANDS_MIN = (15, 30, 45)
MAX_SAMPLES = 40_000
MIN_STEP_M = 100.0

_cache: OrderedDict[tuple[str, str, int], list[Band]] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class Band:
    low: int  # minutes, exclusive (0 for the first band)
    high: int  # minutes, inclusive
    geometry: BaseGeometry  # lon/lat


def service_bands(area: Area, cov: Coverage, grade: int = 1, bands: tuple[int, ...] = BANDS_MIN) -> list[Band]:
    key = (area.code, cov.fingerprint, grade)
    with _lock:
        if key in _cache:
            return _cache[key]
    result = _bands(area, cov, grade, bands)
    with _lock:
        _cache[key] = result
        while len(_cache) > 8:
            _cache.popitem(last=False)
    return result


def _bands(area: Area, cov: Coverage, grade: int, bands: tuple[int, ...]) -> list[Band]:
    proj = network.projection()
    outline = shapely.from_wkb(bytes(area.geom.wkb))
    outline_m = shapely.transform(outline, lambda xy: proj.metric(xy))
    xmin, ymin, xmax, ymax = outline_m.bounds
    step = max(MIN_STEP_M, float(np.sqrt(max(outline_m.area, 1.0) / MAX_SAMPLES)))
    xs = np.arange(xmin + step / 2, xmax, step)
    ys = np.arange(ymin + step / 2, ymax, step)
    gx, gy = np.meshgrid(xs, ys)
    inside = shapely.contains_xy(shapely.buffer(outline_m, step), gx.ravel(), gy.ravel())
    points = np.column_stack([gx.ravel()[inside], gy.ravel()[inside]])
    norm = norm_for(grade, cov.norms)
    schools = [s for s in cov.schools.values() if s.candidate and s.first_grade <= grade <= s.last_grade]
    if not len(points) or not schools:
        return []
    g = network.graph(norm.mode)
    here = core.snap(g, points)
    there = core.snap(g, proj.metric(np.array([s.lonlat for s in schools])))
    seconds = core.nearest_facility(g, here, there).time_s
    out = []
    low = 0
    for high in bands:
        take = within(seconds, high) & ~within(seconds, low) if low else within(seconds, high)
        if take.any():
            half = step / 2
            p = points[take]
            squares = shapely.box(p[:, 0] - half, p[:, 1] - half, p[:, 0] + half, p[:, 1] + half)
            shape = shapely.coverage_union_all(squares)
            shape = shapely.intersection(shapely.simplify(shape, step * 0.6), outline_m)
            if not shape.is_empty:
                out.append(Band(low, high, shapely.transform(shape, lambda xy: proj.lonlat(xy))))
        low = high
    return out

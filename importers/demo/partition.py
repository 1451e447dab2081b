"""Deterministic partition of a polygon into n compact cells (for generated villages and groups).

Seeds are relaxed by Lloyd's algorithm over a cloud of points that is denser where people live
(near roads), so cells are small in towns and large in the hills; the Voronoi cells of the seeds
are clipped to the polygon. A cell that the clip splits keeps its largest piece; the other pieces
join the neighbour they share the longest edge with, so every cell is one piece and together they
cover the polygon exactly. All coordinates here are metric (a local projection).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPoint, Polygon
from shapely.geometry.base import BaseGeometry


def sample_inside(poly: BaseGeometry, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """n points uniformly inside poly (rejection sampling on its bounding box)."""
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    out: list[NDArray[np.float64]] = []
    have = 0
    while have < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(64, 2 * (n - have)), 2))
        keep = xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]
        out.append(keep)
        have += len(keep)
    return np.concatenate(out)[:n]


def relaxed_seeds(
    poly: BaseGeometry,
    n: int,
    rng: np.random.Generator,
    attractors: NDArray[np.float64] | None = None,
    pinned: NDArray[np.float64] | None = None,
    iterations: int = 8,
) -> NDArray[np.float64]:
    cloud = sample_inside(poly, max(300, 40 * n), rng)
    if attractors is not None and len(attractors):
        inside = attractors[shapely.contains_xy(poly, attractors[:, 0], attractors[:, 1])]
        if len(inside) > 2 * len(cloud):
            inside = inside[rng.choice(len(inside), 2 * len(cloud), replace=False)]
        cloud = np.concatenate([cloud, inside])
    k = 0 if pinned is None else min(len(pinned), n)
    seeds = cloud[rng.choice(len(cloud), n, replace=False)].copy()
    if k:
        seeds[:k] = pinned[:k]  # type: ignore[index]
    for _ in range(iterations):
        labels = np.argmin(((cloud[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2), axis=1)
        for j in range(k, n):
            members = cloud[labels == j]
            if len(members):
                seeds[j] = members.mean(axis=0)
    return seeds


def partition(
    poly: BaseGeometry,
    n: int,
    rng: np.random.Generator,
    attractors: NDArray[np.float64] | None = None,
    pinned: NDArray[np.float64] | None = None,
    output: tuple[Callable[[BaseGeometry], BaseGeometry], BaseGeometry] | None = None,
) -> tuple[list[BaseGeometry], NDArray[np.float64]]:
    """Cells (in seed order) covering poly, and the seeds. Pinned seeds come first, unmoved.

    With `output=(transform, parent)`, the unclipped Voronoi regions are transformed (e.g. metres
    to degrees) and clipped to `parent` in the output CRS: neighbouring regions share vertices, so
    the cells tile `parent` exactly, free of projection round-trip slivers.
    """
    if n <= 1:
        whole = poly if output is None else output[1]
        return [whole], np.array([shapely.get_coordinates(poly.point_on_surface())[0]])
    seeds = relaxed_seeds(poly, n, rng, attractors, pinned)
    # Nudge coincident seeds apart: Voronoi needs distinct sites.
    seeds += rng.normal(0, 1e-3, seeds.shape)
    frame = shapely.box(*poly.bounds).buffer(10_000)
    regions = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame, ordered=True)
    if output is None:
        cells = [region.intersection(poly) for region in regions.geoms]
    else:
        transform, parent = output
        cells = [transform(region).intersection(parent) for region in regions.geoms]
    return _merge_fragments(cells), seeds


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    return [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]


def _merge_fragments(cells: list[BaseGeometry]) -> list[BaseGeometry]:
    kept: list[BaseGeometry] = []
    orphans: list[Polygon] = []
    for cell in cells:
        parts = sorted(_polygons(cell), key=lambda p: p.area, reverse=True)
        kept.append(parts[0] if parts else Polygon())
        orphans.extend(parts[1:])
    for orphan in sorted(orphans, key=lambda p: p.area, reverse=True):
        shared = [orphan.boundary.intersection(c.boundary).length if not c.is_empty else 0.0
                  for c in kept]
        best = int(np.argmax(shared))
        if shared[best] > 0:
            kept[best] = shapely.union(kept[best], orphan)
        else:  # touches none (an island): the nearest cell takes it
            best = int(np.argmin([orphan.distance(c) if not c.is_empty else np.inf for c in kept]))
            kept[best] = shapely.union(kept[best], orphan)
    return [shapely.make_valid(c) if not c.is_valid else c for c in kept]

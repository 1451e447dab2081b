"""Travel times over the roads for the features that need them, in longitude/latitude.

Each function takes points as an (n, 2) array of longitude, latitude (EPSG:4326) — or as a
`Snapped` that `snap()` returned for the same mode, to snap once and query many times — loads the
mode's graph from this process's cache (routing.network) and calls the core (routing.graph).
Times are seconds, distances metres; `inf` / `nan` mark trips that cannot be made (the point is
off the network, or no road leads there). See routing/__init__.py for the whole API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from routing import graph as core
from routing.graph import Graph, Result, Snapped
from routing.modes import Mode
from routing.network import graph as mode_graph
from routing.network import projection

Points = NDArray[np.float64] | Snapped


def snap(points: Any, mode: str | Mode = "walk", graph: Graph | None = None) -> Snapped:
    """Place lon/lat points on the network of `mode` (off-network ones get edge -1)."""
    g = graph or mode_graph(mode)
    lonlat = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return core.snap(g, projection().metric(lonlat) if len(lonlat) else np.empty((0, 2)))


def _snapped(g: Graph, points: Points) -> Snapped:
    return points if isinstance(points, Snapped) else snap(points, graph=g)


def nearest_facility(origins: Points, facilities: Points, mode: str | Mode = "walk") -> Result:
    """For every origin, the facility reached fastest: `facility` indexes `facilities`."""
    g = mode_graph(mode)
    return core.nearest_facility(g, _snapped(g, origins), _snapped(g, facilities))


def times_to(origins: Points, facility: Points, mode: str | Mode = "walk") -> Result:
    """Every origin's trip to one facility (`facility`: one point)."""
    g = mode_graph(mode)
    return core.times_to(g, _snapped(g, origins), _snapped(g, facility))


def times_to_each(origins: Points, facilities: Points, assigned: NDArray[np.intp],
                  mode: str | Mode = "walk") -> Result:
    """Origin i's trip to facilities[assigned[i]] (-1: none), e.g. each child to their own school."""
    g = mode_graph(mode)
    return core.times_to_each(g, _snapped(g, origins), _snapped(g, facilities), np.asarray(assigned))


def od_matrix(points: Points, mode: str | Mode = "walk") -> NDArray[np.float64]:
    """Seconds from every point (row) to every point (column); for a few hundred points."""
    g = mode_graph(mode)
    return core.od_matrix(g, _snapped(g, points))


@dataclass(frozen=True)
class TripLine:
    time_s: float
    distance_m: float
    coords: NDArray[np.float64]  # lon/lat, home → school, access legs included
    edge_ids: list[int]

    def geojson(self, properties: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"type": "Feature", "properties": {"seconds": round(self.time_s, 1),
                                                   "metres": round(self.distance_m, 1), **(properties or {})},
                "geometry": {"type": "LineString",
                             "coordinates": [[round(x, 6), round(y, 6)] for x, y in self.coords]}}


def trip_path(a: Points, b: Points, mode: str | Mode = "walk") -> TripLine | None:
    """The fastest trip from point a to point b, as a line along the roads (None: no such trip)."""
    g = mode_graph(mode)
    trip = core.trip_path(g, _snapped(g, a), _snapped(g, b))
    if trip is None:
        return None
    return TripLine(trip.time_s, trip.distance_m, projection().lonlat(trip.coords), trip.edge_ids)

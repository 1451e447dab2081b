"""The road network in memory: loaded from gridmap_roadedge once per process and network version.

`graph(mode)` returns the mode's `routing.graph.Graph`, cached per process under (network version,
mode fingerprint, access cap). The version is one row that database triggers bump on every change
to the roads or the routable network (routing/models.py), so a re-import, an admin edit or a raw
UPDATE makes every process reload at its next query, and nothing else does. Reading the version is
one primary-key lookup per call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from django.db import connection
from pyproj import Transformer

from routing.graph import Edges, Graph, edge_times
from routing.modes import NO_ACCESS, Mode, access_max_m
from routing.modes import mode as get_mode
from routing.sql import GEOMETRY_SQL, edges_sql

_lock = threading.Lock()
_edges: dict[int, Edges] = {}  # network version → edges (only the newest is kept)
_graphs: dict[tuple[int, str, float], Graph] = {}


@dataclass(frozen=True)
class Projection:
    """Longitude/latitude (EPSG:4326) ↔ the metric CRS the engine measures in."""

    to_metric: Transformer
    to_lonlat: Transformer

    def metric(self, lonlat: np.ndarray) -> np.ndarray:
        lonlat = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
        x, y = self.to_metric.transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([x, y])

    def lonlat(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        lon, lat = self.to_lonlat.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])


_projection: Projection | None = None


def projection() -> Projection:
    global _projection
    if _projection is None:
        _projection = Projection(
            Transformer.from_crs(4326, settings.GRIDMAP_METRIC_SRID, always_xy=True),
            Transformer.from_crs(settings.GRIDMAP_METRIC_SRID, 4326, always_xy=True))
    return _projection


def version() -> int:
    """The network's version (-1 before any network was built)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM routing_networkversion WHERE id = 1")
        row = cursor.fetchone()
    return int(row[0]) if row else -1


def load_network() -> tuple[int, Edges]:
    """The network's edges as of now, with the version they belong to."""
    for _attempt in range(5):
        v = version()
        with _lock:
            if v in _edges:
                return v, _edges[v]
        edges = _read_edges()
        if version() == v:  # nobody rebuilt the network while we read it
            with _lock:
                _edges.clear()
                _edges[v] = edges
                for key in [k for k in _graphs if k[0] != v]:
                    del _graphs[key]
            return v, edges
    raise RuntimeError("the road network kept changing while it was being loaded")


def _read_edges() -> Edges:
    with connection.cursor() as cursor:
        cursor.execute(GEOMETRY_SQL)
        rows = cursor.fetchall()
    if not rows:
        empty = np.empty(0, dtype=np.int64)
        return Edges(empty, empty.astype(np.intp), empty.astype(np.intp), np.empty(0),
                     np.empty(0, dtype=object), empty)
    ids, sources, targets, lengths, wkb, highway = zip(*rows, strict=True)
    node_ids, inverse = np.unique(np.concatenate([np.asarray(sources, dtype=np.int64),
                                                  np.asarray(targets, dtype=np.int64)]), return_inverse=True)
    n = len(ids)
    proj = projection()
    lines = shapely.from_wkb([bytes(b) for b in wkb])
    lines = shapely.transform(lines, lambda xy: proj.metric(xy))
    return Edges(ids=np.asarray(ids, dtype=np.int64), source=inverse[:n].astype(np.intp),
                 target=inverse[n:].astype(np.intp), length_m=np.asarray(lengths, dtype=np.float64),
                 lines=np.asarray(lines, dtype=object), node_ids=node_ids,
                 joinable=~np.isin(np.asarray(highway, dtype=object), list(NO_ACCESS)))


def graph(mode: str | Mode = "walk") -> Graph:
    """The mode's routable graph as of now (cached per process until the network changes)."""
    m = get_mode(mode)
    cap = access_max_m()
    for _attempt in range(5):
        v, edges = load_network()
        key = (v, m.fingerprint(), cap)
        with _lock:
            cached = _graphs.get(key)
        if cached is not None:
            return cached
        with connection.cursor() as cursor:
            cursor.execute(edges_sql(m))
            rows = cursor.fetchall()
        if version() != v:
            continue
        fwd = np.full(len(edges.ids), np.inf)
        bwd = np.full(len(edges.ids), np.inf)
        if rows:
            ids, _s, _t, cost, reverse_cost = (np.asarray(c) for c in zip(*rows, strict=True))
            pos = np.searchsorted(edges.ids, ids.astype(np.int64))
            fwd[pos], bwd[pos] = edge_times(cost.astype(np.float64), reverse_cost.astype(np.float64))
        built = Graph(edges, fwd, bwd, m.walk_mps, cap, key=f"{v}:{m.key}:{m.fingerprint()}:{cap:g}")
        with _lock:
            _graphs[key] = built
        return built
    raise RuntimeError("the road network kept changing while it was being loaded")


def forget() -> None:
    """Drop this process's cached network (tests that compare a cold load with a warm one)."""
    with _lock:
        _edges.clear()
        _graphs.clear()

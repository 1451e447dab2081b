"""routing.graph alone — no database, no Django: a random street grid with one-way streets and
random points placed on it, every query checked against networkx shortest paths on the same
graph with the points added as nodes (the trip definition written out independently here)."""

from __future__ import annotations

import contextlib

import networkx as nx
import numpy as np
import pytest
import shapely

from routing import graph as core

SIDE = 12  # a 12 x 12 grid of junctions, 250 m apart
WALK = 1.1


@pytest.fixture(scope="module")
def city():
    rng = np.random.default_rng(2026)
    xy = np.array([(250.0 * (k % SIDE), 250.0 * (k // SIDE)) for k in range(SIDE * SIDE)])
    pairs = [(k, k + 1) for k in range(SIDE * SIDE) if k % SIDE < SIDE - 1]
    pairs += [(k, k + SIDE) for k in range(SIDE * SIDE - SIDE)]
    pairs = [p for p in pairs if rng.random() > 0.08]  # a few streets missing
    source = np.array([a for a, _b in pairs])
    target = np.array([b for _a, b in pairs])
    length = np.full(len(pairs), 250.0)
    seconds = length / rng.uniform(1.0, 12.0, len(pairs))
    oneway = rng.random(len(pairs)) < 0.2
    fwd = seconds.copy()
    bwd = np.where(oneway, np.inf, seconds)
    lines = shapely.linestrings(np.stack([xy[source], xy[target]], axis=1))
    edges = core.Edges(np.arange(len(pairs), dtype=np.int64) + 100, source, target, length,
                       np.asarray(lines, dtype=object), np.arange(SIDE * SIDE, dtype=np.int64) + 1000)
    g = core.Graph(edges, fwd, bwd, WALK, 400.0, key="city")
    return g, rng


def random_points(g, rng, n, *, same_edge_as=None):
    edge = rng.integers(0, len(g.edges.ids), n)
    if same_edge_as is not None:
        edge[: len(same_edge_as)] = same_edge_as
    frac = rng.choice([0.0, 1.0, *rng.random(8)], n)
    access = rng.uniform(0, 300, n)
    return core.Snapped(edge.astype(np.intp), frac, access, np.zeros((n, 2)), g.key)


def nx_times(g, a, b):
    """Seconds from every point of a to every point of b, by networkx."""
    G = nx.DiGraph()
    e = g.edges
    for k in range(len(e.ids)):
        for u, v, t in ((e.source[k], e.target[k], g.fwd[k]), (e.target[k], e.source[k], g.bwd[k])):
            if np.isfinite(t) and (not G.has_edge(u, v) or G[u][v]["w"] > t):
                G.add_edge(int(u), int(v), w=float(t))

    def part(frac, t):
        return 0.0 if frac <= 0 else frac * t

    out = np.full((len(a), len(b)), np.inf)
    for j in range(len(b)):
        H = G.copy()
        k = b.edge[j]
        for end, t in ((e.source[k], part(b.frac[j], g.fwd[k])), (e.target[k], part(1 - b.frac[j], g.bwd[k]))):
            if np.isfinite(t):
                H.add_edge(int(end), "B", w=t + b.access_m[j] / WALK)
        for i in range(len(a)):
            H2 = H.copy()
            m = a.edge[i]
            for end, t in ((e.source[m], part(a.frac[i], g.bwd[m])), (e.target[m], part(1 - a.frac[i], g.fwd[m]))):
                if np.isfinite(t):
                    H2.add_edge("A", int(end), w=t + a.access_m[i] / WALK)
            if m == k:  # along the shared edge
                d = b.frac[j] - a.frac[i]
                t = part(d, g.fwd[m]) if d >= 0 else part(-d, g.bwd[m])
                if np.isfinite(t):
                    H2.add_edge("A", "B", w=t + (a.access_m[i] + b.access_m[j]) / WALK)
            with contextlib.suppress(nx.NetworkXNoPath, nx.NodeNotFound):
                out[i, j] = nx.shortest_path_length(H2, "A", "B", weight="w")
    return out


def test_nearest_and_each_equal_networkx(city):
    g, rng = city
    facilities = random_points(g, rng, 6)
    origins = random_points(g, rng, 40, same_edge_as=facilities.edge)  # some share a school's street
    expected = nx_times(g, origins, facilities)
    r = core.nearest_facility(g, origins, facilities)
    best = expected.min(axis=1)
    reached = np.isfinite(best)
    assert (np.isfinite(r.time_s) == reached).all()
    assert np.allclose(r.time_s[reached], best[reached], atol=1e-6)
    assert np.allclose(expected[np.flatnonzero(reached), r.facility[reached]], best[reached], atol=1e-6)
    each = core.times_to_each(g, origins, facilities, np.arange(40) % 6)
    want = expected[np.arange(40), np.arange(40) % 6]
    assert (np.isinf(each.time_s) == np.isinf(want)).all()
    assert np.allclose(each.time_s[np.isfinite(want)], want[np.isfinite(want)], atol=1e-6)


def test_od_matrix_equals_networkx(city):
    g, rng = city
    points = random_points(g, rng, 15)
    od = core.od_matrix(g, points)
    expected = nx_times(g, points, points)
    np.fill_diagonal(expected, 0.0)
    assert (np.isinf(od) == np.isinf(expected)).all()
    assert np.allclose(od[np.isfinite(expected)], expected[np.isfinite(expected)], atol=1e-6)


def test_trip_path_is_as_long_as_its_time_says(city):
    g, rng = city
    a, b = random_points(g, rng, 1), random_points(g, rng, 1)
    a = core.Snapped(a.edge, a.frac, np.zeros(1), np.array([[0.0, 0.0]]), g.key)
    trip = core.trip_path(g, a, b)
    seconds = core.times_to(g, a, b).time_s[0]
    if trip is None:
        assert np.isinf(seconds)
    else:
        assert trip.time_s == pytest.approx(seconds)
        # along the roads (all 250 m streets here): the line's length equals the road metres
        assert shapely.length(shapely.linestrings(trip.coords[1:-1])) == pytest.approx(
            trip.distance_m - b.access_m[0], abs=1e-6)


def test_points_of_another_graph_are_refused(city):
    g, rng = city
    stray = core.Snapped(np.array([0]), np.array([0.5]), np.array([0.0]), np.zeros((1, 2)), "another")
    with pytest.raises(ValueError):
        core.nearest_facility(g, stray, stray)

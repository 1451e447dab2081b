"""routing.vrp.solve_vrptw: a hand-made road network whose best order is known by hand, random small
instances against brute force, the published Solomon C101.25 optimum, and refusals."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path

import numpy as np
import pytest

from routing import engine
from routing.vrp import CAPACITY, NO_ROOM, UNREACHABLE, WINDOW, VRPError, solve_vrptw
from tests.handmade import at, import_hand_network, metres

BUS = 20 / 3.6  # residential roads by car, m/s (routing.modes.BUS_KMH)


@pytest.fixture
def network(squares, tmp_path):
    return import_hand_network(tmp_path)


def test_one_way_loop_order_known_by_hand(network):
    """School S on E1 at (800, 500); A on the one-way E2 (north only) at (800, 2250); B on R at
    (1600, 2250). S→A→B→S runs the loop with the one-way street: 1750 + 2300 + 2550 m. S→B→A→S
    needs A→S the long way round (north, east, south, west, south: 4850 m): 2550 + 2300 + 4850."""
    s, a, b = at(800, 500), at(800, 2250), at(1600, 2250)
    d = engine.od_matrix(np.array([s, a, b]), "bus")
    up = metres(at(800, 500), at(800, 1500))  # E1 north to the junction
    e2 = metres(at(800, 1500), at(800, 2250))
    e2_top = metres(at(800, 2250), at(800, 3000))
    north = metres(at(800, 3000), at(1600, 3000))
    r_top = metres(at(1600, 3000), at(1600, 2250))
    r_low = metres(at(1600, 2250), at(1600, 1500))
    s2 = metres(at(1600, 1500), at(800, 1500))
    assert d[0, 1] == pytest.approx((up + e2) / BUS, abs=0.5)
    assert d[1, 2] == pytest.approx((e2_top + north + r_top) / BUS, abs=0.5)
    assert d[2, 0] == pytest.approx((r_low + s2 + up) / BUS, abs=0.5)
    assert d[1, 0] == pytest.approx((e2_top + north + r_top + r_low + s2 + up) / BUS, abs=0.5)
    windows = np.array([[0, 7200], [0, 7200], [0, 7200]])
    sol = solve_vrptw(d, [0, 300, 300], windows, [0, 1, 1], 2, 1, time_limit_s=2)
    loop = (up + e2 + e2_top + north + r_top + r_low + s2 + up) / BUS
    assert sol.routes == [[1, 2]] and sol.unserved == []
    assert sol.cost == pytest.approx(loop, abs=0.5)
    # B must be served within 60 s of the earliest arrival: the reverse order is forced, and dearer
    windows[2] = [0, d[0, 2] + 60]
    forced = solve_vrptw(d, [0, 300, 300], windows, [0, 1, 1], 2, 1, time_limit_s=2)
    assert forced.routes == [[2, 1]]
    assert forced.cost == pytest.approx(d[0, 2] + d[2, 1] + d[1, 0], abs=0.01) and forced.cost > sol.cost
    assert forced.starts[0][0] == pytest.approx(d[0, 2], abs=0.01)


def brute_force(d, service, windows, stops):
    """Least travel time of one trip through `stops`, over every order, within the windows."""
    best = np.inf
    for order in permutations(stops):
        t, prev, ok = windows[0][0], 0, True
        for s in order:
            t = max(t + d[prev, s], windows[s][0])
            if t > windows[s][1] + 1e-9:
                ok = False
                break
            t += service[s]
            prev = s
        if ok and t + d[prev, 0] <= windows[0][1] + 1e-9:
            best = min(best, sum(d[a, b] for a, b in zip((0, *order), (*order, 0), strict=True)))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_single_trip_equals_brute_force(seed):
    """Random asymmetric instances of 4-7 stops with windows: the solver's trip is the optimum found by
    trying every order (the stop numbering PyVRP returns is checked by this too)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 8))
    xy = rng.uniform(0, 3000, size=(n + 1, 2))
    d = np.round(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)) * rng.uniform(1.0, 1.4, (n + 1, n + 1)) / 8, 1)
    np.fill_diagonal(d, 0)
    service = np.r_[0, rng.integers(60, 600, n)].astype(float)
    early = rng.uniform(0, 3000, n)
    windows = np.vstack([[0, 14400], np.column_stack([early, early + rng.uniform(1500, 6000, n)])])
    sol = solve_vrptw(d, service, windows, np.r_[0, np.ones(n, int)], n, 1, time_limit_s=3, seed=seed)
    best = brute_force(d, service, windows, list(range(1, n + 1)))
    if not np.isfinite(best):
        assert sol.unserved
        return
    assert sol.unserved == [] and len(sol.routes) == 1
    assert sol.cost == pytest.approx(best, abs=0.05 * (n + 1))


def test_solomon_c101_25_reaches_the_published_optimum():
    """Solomon C101 with 25 customers: optimum 191.3 (Kohl et al. 1999), distances truncated to tenths."""
    a = np.loadtxt(Path(__file__).parent / "data/solomon/C101_25.txt", comments="#")
    xy = a[:, 1:3]
    d = np.floor(10 * np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))) / 10
    sol = solve_vrptw(d, a[:, 6], a[:, 4:6], a[:, 3].astype(int), 200, 25, time_limit_s=10, seed=0)
    assert sol.unserved == [] and sorted(s for r in sol.routes for s in r) == list(range(1, 26))
    assert sol.cost == pytest.approx(191.3, abs=1e-6)
    assert len(sol.routes) == 3


def test_unserved_stops_and_their_reasons():
    d = np.array([[0, 100, 100, 100, np.inf, 100],
                  [100, 0, 50, 50, np.inf, 50],
                  [100, 50, 0, 50, np.inf, 50],
                  [100, 50, 50, 0, np.inf, 50],
                  [np.inf] * 6,
                  [100, 50, 50, 50, np.inf, 0]])
    windows = np.array([[0, 1000], [0, 1000], [0, 1000], [0, 1000], [0, 1000], [0, 50]])
    demand = [0, 1, 1, 1, 1, 1]
    # stop 4 has no road; stop 5 cannot be reached by its window's end (100 s > 50 s)
    sol = solve_vrptw(d, [0, 100, 100, 100, 100, 100], windows, demand, 2, 1, time_limit_s=1)
    assert sol.reasons[4] == UNREACHABLE and sol.reasons[5] == WINDOW
    assert len(sol.routes) == 1 and len(sol.routes[0]) == 2  # capacity 2, one trip: one of 1-3 has no room
    (left,) = [s for s in (1, 2, 3) if s not in sol.routes[0]]
    assert sol.reasons[left] == NO_ROOM
    two = solve_vrptw(d, [0, 100, 100, 100, 100, 100], windows, demand, 2, 2, time_limit_s=1)
    assert sorted(s for r in two.routes for s in r) == [1, 2, 3]
    big = solve_vrptw(d[:2, :2], [0, 10], windows[:2], [0, 5], 2, 1, time_limit_s=1)
    assert big.reasons == {1: CAPACITY} and big.routes == []


@pytest.mark.parametrize("args", [
    (np.zeros((2, 3)), [0, 1], [[0, 1], [0, 1]], [0, 1]),
    (np.zeros((2, 2)), [0, 1], [[0, 1], [2, 1]], [0, 1]),
    (np.array([[0, -1], [1, 0]]), [0, 1], [[0, 1], [0, 1]], [0, 1]),
    (np.zeros((2, 2)), [0, 1], [[0, 1], [0, 1]], [0, 0.5]),
    (np.array([[0, np.nan], [1, 0]]), [0, 1], [[0, 1], [0, 1]], [0, 1]),
])
def test_bad_arrays_are_refused(args):
    with pytest.raises(VRPError):
        solve_vrptw(*args, capacity=1, vehicles=1, time_limit_s=0.1)

"""The p-median core (planning.closures) against brute force, against the same model without
pruning, and against a published instance (OR-Library pmed1: n = 100, p = 5, optimum 5819)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import floyd_warshall

from planning.closures import ModelError, solve_full_model, solve_p_median

PMED1 = Path(__file__).parent / "data" / "orlib" / "pmed1.txt"


def read_pmed(path: Path) -> tuple[np.ndarray, int]:
    lines = path.read_text().split("\n")
    n, edges, p = map(int, lines[0].split())
    w = np.full((n, n), np.inf)
    np.fill_diagonal(w, 0)
    for line in lines[1:1 + edges]:
        i, j, c = map(int, line.split())
        w[i - 1, j - 1] = w[j - 1, i - 1] = c  # a repeated edge: the last cost holds
    return floyd_warshall(w), p


def test_pmed1_published_optimum():
    cost, p = read_pmed(PMED1)
    r = solve_p_median(cost, np.ones(len(cost)), p)
    assert r.objective == 5819 and r.lower_bound == 5819 and r.gap == 0 and r.status == "optimal"
    assert len(r.open) == p
    # the reported assignment is consistent: every vertex at its nearest open site, summing to 5819
    assert (cost[np.arange(100), r.assignment] == cost[:, r.open].min(axis=1)).all()
    assert cost[np.arange(100), r.assignment].sum() == 5819
    # the argument prunes: (m - p + 1) = 96 candidates per point instead of 100
    assert r.pairs == 100 * 96 < r.pairs_total


def brute(cost, demand, p, capacity=None, fixed=()):
    n, m = cost.shape
    best = np.inf
    for sites in itertools.combinations(range(m), p):
        if not set(fixed) <= set(sites):
            continue
        if capacity is None:
            nearest = cost[:, list(sites)].min(axis=1)
            need = demand > 0
            if np.isfinite(nearest[need]).all():
                best = min(best, float((demand[need] * nearest[need]).sum()))
            continue
        for a in itertools.product(sites, repeat=n):
            a = np.array(a)
            c = cost[np.arange(n), a]
            if not np.isfinite(c[demand > 0]).all():
                continue
            if (np.bincount(a, weights=demand, minlength=m) <= np.asarray(capacity) + 1e-9).all():
                best = min(best, float((demand * np.where(demand > 0, c, 0)).sum()))
    return best


@pytest.mark.parametrize("capacitated", [False, True])
def test_small_random_instances_equal_brute_force_and_the_unpruned_model(capacitated):
    rng = np.random.default_rng(16 + capacitated)
    checked = 0
    for _ in range(40 if capacitated else 60):
        n, m = int(rng.integers(3, 7 if capacitated else 10)), int(rng.integers(2, 6 if capacitated else 8))
        p = int(rng.integers(max(1, m - 2), m + 1)) if capacitated else int(rng.integers(1, m + 1))
        cost = rng.integers(1, 60, (n, m)).astype(float)
        cost[rng.random((n, m)) < 0.1] = np.inf
        demand = rng.integers(0, 6, n).astype(float)
        capacity = rng.integers(2, 14, m).astype(float) if capacitated else None
        fixed = tuple(int(f) for f in rng.choice(m, size=int(rng.integers(0, 2)), replace=False))
        expected = brute(cost, demand, p, capacity, fixed)
        r = solve_p_median(cost, demand, p, capacity, fixed)
        full = solve_full_model(cost, demand, p, capacity, fixed)
        if not np.isfinite(expected):
            assert not np.isfinite(r.objective) and r.status == "infeasible"
            continue
        checked += 1
        assert r.status == "optimal" and r.objective == pytest.approx(expected)
        assert r.lower_bound == pytest.approx(expected) and full.objective == pytest.approx(expected)
        assert len(r.open) == p and set(fixed) <= set(r.open.tolist())
        assigned = r.assignment[demand > 0]
        assert set(assigned.tolist()) <= set(r.open.tolist())
        need = demand > 0
        assert (demand[need] * cost[np.flatnonzero(need), r.assignment[need]]).sum() == pytest.approx(expected)
        if capacitated:
            assert (np.bincount(r.assignment[need], weights=demand[need], minlength=m) <= capacity + 1e-9).all()
    assert checked >= 20


def test_pruning_keeps_the_optimum_on_larger_instances():
    """Clustered points where capacity pushes demand past its nearest sites: the pruned and the
    certified model agree with the full model (every finite pair) on value, and prune pairs."""
    rng = np.random.default_rng(7)
    for capacitated in (False, True):
        n, m, p = 60, 12, 8
        xy, sites = rng.random((n, 2)), rng.random((m, 2))
        cost = np.hypot(*(xy[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)) * 1000
        demand = rng.integers(1, 20, n).astype(float)
        capacity = np.full(m, demand.sum() / p * 1.15) if capacitated else None
        r = solve_p_median(cost, demand, p, capacity)
        full = solve_full_model(cost, demand, p, capacity)
        assert r.status == full.status == "optimal"
        assert r.objective == pytest.approx(full.objective, rel=1e-9)
        assert r.pairs < r.pairs_total


@pytest.mark.parametrize("bad", [
    dict(cost=np.ones((3, 2)), demand=np.ones(2), p=1), dict(cost=np.ones((3, 2)), demand=np.ones(3), p=3),
    dict(cost=-np.ones((3, 2)), demand=np.ones(3), p=1), dict(cost=np.full((3, 2), np.nan), demand=np.ones(3), p=1),
    dict(cost=np.ones((3, 2)), demand=np.ones(3), p=1, fixed_open=(0, 1)),
    dict(cost=np.ones((3, 2)), demand=np.ones(3), p=1, capacity=[1.0]),
    dict(cost=np.ones((3, 2)), demand=np.ones(3), p=1, fixed_open=(5,)),
])
def test_bad_instances_are_refused(bad):
    with pytest.raises(ModelError):
        solve_p_median(**bad)


def test_infeasible_capacity_is_reported():
    r = solve_p_median(np.ones((3, 2)), np.full(3, 5.0), 1, capacity=[6.0, 6.0])
    assert r.status == "infeasible" and (r.assignment == -1).all() and not np.isfinite(r.objective)

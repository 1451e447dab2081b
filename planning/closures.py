"""The closure solver's core: the (capacitated) p-median problem as a MILP solved by HiGHS.

Plain functions over numpy arrays, free of Django, so that any published instance runs through it
(tests/test_closures.py runs OR-Library's pmed1 and brute force on small random instances).

    solve_p_median(cost, demand, p, capacity=None, fixed_open=(), time_limit_s=60)

`cost` is an n×m array (demand points × candidate sites; `inf` where a point may not go to a site),
`demand` has length n, `capacity` length m (None: uncapacitated), `p` is how many sites stay open
and `fixed_open` the sites that must. The objective is Σ demand[i]·cost[i, assignment[i]]. Each
demand point goes to exactly one site (single sourcing: a village group belongs to one school's
catchment per stage). The model, with y_j = 1 when site j is open and x_ij = 1 when point i goes
to site j:

    min Σ d_i c_ij x_ij   s.t.   Σ_j x_ij = 1 (each i),   x_ij <= y_j (each pair),   Σ_j y_j = p,
                                 Σ_i d_i x_ij <= C_j y_j (each j, capacitated only),   y_j = 1 (fixed).

y is binary; x is binary when capacitated and continuous in [0, 1] otherwise (given y, sending each
point to its nearest open site is optimal, so the LP in x is integral; a split between equally near
sites is resolved to the nearest by index afterwards at no change in cost). HiGHS is asked for a
relative gap of 0; `lower_bound` is its dual bound (equal to `objective` when proven optimal).

Candidate pruning — pairs (i, j) left out of the model only where no optimal solution needs them:

1. Uncapacitated: point i is served by its nearest open site. At most m - p sites are closed, so
   among i's m - p + 1 nearest sites at least one is open: i's site is among them. And a fixed-open
   site f is always open, so no site costlier than c_if is ever needed for i (a tie with f is
   served as well by f). The pruned model therefore has the same optimum as the full one, and its
   solver bound is a bound on the full problem. Nothing is checked afterwards; nothing needs to be.
2. Capacitated: capacity may force a point past its nearest open sites, so no rank is safe by
   itself. Pairs are left out only under an LP certificate (reduced-cost fixing):
   a. the LP relaxation of the model over the candidate pairs is solved (HiGHS, with duals α_i of
      the assignment rows and μ_j <= 0 of the capacity rows); each left-out pair's reduced cost
      r_ij = d_i c_ij - α_i - d_i μ_j is priced (its linking row's dual is 0: that row is absent);
      pairs with r_ij < 0 join and the LP is solved again (column generation), until none has.
      The LP value L is then the full model's LP optimum: a lower bound on every solution;
   b. over the candidates, first the splittable model (x continuous, y binary: a relaxation, whose
      solver bound therefore bounds the single-source model too) is solved and its solution rounded
      (each point to its largest share) and repaired (points moved off over-full sites, cheapest
      move first) into a single-source solution; then the single-source MILP in the time left. The
      better of the two is U, an integer solution of the full model;
   c. every feasible solution x of the full model costs at least L + Σ r_ij x_ij (LP duality with
      the bounds as rows), so one that uses a left-out pair (i, j) costs at least L + r_ij. Pairs
      with L + r_ij < U might improve on U: they join and (b) runs again. When none is left, U is
      the full optimum (when (b) was solved to optimality), and the reported lower bound is
      min(the better of the two models' bounds over the candidates, L + min r over the pairs still
      left out), and the result is proven optimal when it meets U.
   The starting candidates are each point's m - p + 1 nearest sites (as in 1).

Returned: `open` (site indices, ascending), `assignment` (site per demand point; -1 when the
problem is infeasible, or for a point without demand that can reach no open site), `objective`,
`lower_bound`, and what it took (`gap`, `status`, `seconds`, `pairs` in the final model,
`pairs_total`, `rounds`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix, csr_matrix, hstack, vstack

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]

OPTIMAL, TIME_LIMIT, INFEASIBLE = "optimal", "time_limit", "infeasible"
_TOL = 1e-6


@dataclass(frozen=True)
class PMedianResult:
    open: Ints
    assignment: Ints
    objective: float
    lower_bound: float
    status: str  # OPTIMAL, TIME_LIMIT or INFEASIBLE
    seconds: float
    pairs: int  # assignment variables in the final model
    pairs_total: int  # finite pairs of the full problem
    rounds: int  # MILP solves (capacitated: until the certificate holds)

    @property
    def gap(self) -> float:
        """(objective - lower bound) / objective: 0 when proven optimal."""
        if not np.isfinite(self.objective):
            return float("inf")
        if self.objective <= 0:
            return 0.0 if self.objective - self.lower_bound <= _TOL else float("inf")
        return max(0.0, (self.objective - self.lower_bound) / self.objective)


class ModelError(ValueError):
    pass


def _check(cost: Floats, demand: Floats, p: int, capacity: Floats | None, fixed: Ints) -> None:
    n, m = cost.shape
    if demand.shape != (n,):
        raise ModelError(f"demand has {demand.shape} values; cost has {n} rows")
    if np.isnan(cost).any() or (cost < 0).any():
        raise ModelError("costs must be >= 0 (inf: not allowed); no NaN")
    if not np.isfinite(demand).all() or (demand < 0).any():
        raise ModelError("demands must be finite and >= 0")
    if not 1 <= p <= m:
        raise ModelError(f"p must lie in 1..{m}")
    if capacity is not None and (capacity.shape != (m,) or np.isnan(capacity).any() or (capacity < 0).any()):
        raise ModelError("capacity needs one value >= 0 per site")
    if len(fixed) and (fixed.min() < 0 or fixed.max() >= m):
        raise ModelError("fixed_open names a site that does not exist")
    if len(np.unique(fixed)) > p:
        raise ModelError("more sites are fixed open than p")


def _rank_candidates(cost: Floats, p: int, fixed: Ints) -> NDArray[np.bool_]:
    """Argument 1 of the module docstring: each row's m - p + 1 nearest finite sites, none costlier
    than its nearest fixed-open site."""
    n, m = cost.shape
    order = np.argsort(cost, axis=1, kind="stable")
    keep = np.zeros((n, m), dtype=bool)
    k = min(m, m - p + 1)
    rows = np.arange(n)[:, None]
    keep[rows, order[:, :k]] = True
    keep &= np.isfinite(cost)
    if len(fixed):
        cap = cost[:, fixed].min(axis=1)
        keep &= cost <= cap[:, None]
        nearest_fixed = fixed[np.argmin(cost[:, fixed], axis=1)]
        keep[np.arange(n), nearest_fixed] |= np.isfinite(cap)
    return keep


@dataclass
class _Model:
    """The MILP/LP over a set of candidate pairs (rows i, cols j)."""

    cost: Floats
    demand: Floats
    p: int
    capacity: Floats | None
    fixed: Ints
    pi: Ints  # pair's point
    pj: Ints  # pair's site

    @property
    def m(self) -> int:
        return int(self.cost.shape[1])

    @property
    def n(self) -> int:
        return int(self.cost.shape[0])

    def arrays(self) -> tuple[Floats, list[LinearConstraint], Bounds, csr_matrix, Floats, Floats]:
        n, m, e = self.n, self.m, len(self.pi)
        c = np.concatenate([np.zeros(m), self.demand[self.pi] * self.cost[self.pi, self.pj]])
        ar = np.arange(e)
        assign = hstack([csr_matrix((n, m)), coo_matrix((np.ones(e), (self.pi, ar)), shape=(n, e))])
        link = hstack([coo_matrix((-np.ones(e), (ar, self.pj)), shape=(e, m)),
                       coo_matrix((np.ones(e), (ar, ar)), shape=(e, e))])
        card = hstack([csr_matrix(np.ones((1, m))), csr_matrix((1, e))])
        blocks = [assign, link, card]
        lower = [np.ones(n), np.full(e, -np.inf), np.array([self.p])]
        upper = [np.ones(n), np.zeros(e), np.array([self.p])]
        if self.capacity is not None:
            cap = hstack([coo_matrix((-self.capacity, (np.arange(m), np.arange(m))), shape=(m, m)),
                          coo_matrix((self.demand[self.pi], (self.pj, ar)), shape=(m, e))])
            blocks.append(cap)
            lower.append(np.full(m, -np.inf))
            upper.append(np.zeros(m))
        a = vstack(blocks).tocsr()
        lo, hi = np.concatenate(lower), np.concatenate(upper)
        ylo = np.zeros(m)
        ylo[self.fixed] = 1.0
        bounds = Bounds(np.concatenate([ylo, np.zeros(e)]), np.ones(m + e))
        return c, [LinearConstraint(a, lo, hi)], bounds, a, lo, hi

    def solve_milp(self, time_limit_s: float, integral_x: bool | None = None) -> tuple[str, Floats | None, float]:
        """y binary; x binary when capacitated (single sourcing) unless integral_x says otherwise."""
        c, constraints, bounds, *_ = self.arrays()
        whole = self.capacity is not None if integral_x is None else integral_x
        integrality = np.concatenate([np.ones(self.m), np.full(len(self.pi), 1.0 if whole else 0.0)])
        res = milp(c, integrality=integrality, bounds=bounds, constraints=constraints,
                   options={"time_limit": max(time_limit_s, 0.5), "mip_rel_gap": 0.0, "presolve": True})
        if res.x is None:
            return (INFEASIBLE if res.status == 2 else TIME_LIMIT), None, -np.inf
        dual = float(res.mip_dual_bound) if res.mip_dual_bound is not None else -np.inf
        if res.status == 0:
            dual = max(dual, float(res.fun) - _TOL * max(1.0, abs(float(res.fun))))
        return (OPTIMAL if res.status == 0 else TIME_LIMIT), np.asarray(res.x), dual

    def solve_lp(self) -> tuple[float, Floats, Floats] | None:
        """The LP relaxation: its value, the assignment rows' duals α and the capacity rows' μ."""
        c, _constraints, bounds, a, lo, hi = self.arrays()
        n, e, m = self.n, len(self.pi), self.m
        eq = lo == hi
        # every inequality row here is of the form "<= hi" (lo is -inf)
        res = linprog(c, A_ub=a[~eq], b_ub=hi[~eq], A_eq=a[eq], b_eq=hi[eq],
                      bounds=np.column_stack([bounds.lb, bounds.ub]), method="highs")
        if res.status != 0:
            return None
        eq_duals = np.asarray(res.eqlin.marginals)  # assignment rows (n), then the cardinality row
        ub_duals = np.asarray(res.ineqlin.marginals)  # linking rows (e), then capacity rows (m)
        alpha = eq_duals[:n]
        mu = ub_duals[e:e + m] if self.capacity is not None else np.zeros(m)
        return float(res.fun), alpha, mu


def _pairs(keep: NDArray[np.bool_]) -> tuple[Ints, Ints]:
    pi, pj = np.nonzero(keep)
    return pi.astype(np.intp), pj.astype(np.intp)


def solve_p_median(cost: Floats, demand: Floats, p: int, capacity: Floats | Sequence[float] | None = None,
                   fixed_open: Sequence[int] | Ints = (), time_limit_s: float = 60) -> PMedianResult:
    """Open p sites and assign every demand point to one of them at least total weighted cost
    (see the module docstring for the model, the pruning and what is returned)."""
    started = time.perf_counter()
    cost = np.asarray(cost, dtype=np.float64)
    demand = np.asarray(demand, dtype=np.float64).reshape(-1)
    cap = None if capacity is None else np.asarray(capacity, dtype=np.float64).reshape(-1)
    fixed = np.unique(np.asarray(fixed_open, dtype=np.intp).reshape(-1))
    if cost.ndim != 2:
        raise ModelError("cost must be a 2-D array (demand points × sites)")
    _check(cost, demand, p, cap, fixed)
    n, m = cost.shape
    total_pairs = int(np.isfinite(cost).sum())
    active = np.flatnonzero(demand > 0)  # points without demand cost nothing: placed afterwards
    sub_cost, sub_demand = cost[active], demand[active]
    if (~np.isfinite(sub_cost)).all(axis=1).any():
        return _infeasible(n, started, 0, total_pairs)
    keep = _rank_candidates(sub_cost, p, fixed)
    deadline = started + time_limit_s
    if cap is None:
        model = _Model(sub_cost, sub_demand, p, None, fixed, *_pairs(keep))
        status, x, dual = model.solve_milp(deadline - time.perf_counter())
        if x is None:
            return _infeasible(n, started, len(model.pi), total_pairs, status)
        y = _open_sites(x[:m], p, fixed)
        assignment = _nearest_open(cost, y)
        objective = _objective(cost, demand, assignment)
        lower = objective if status == OPTIMAL else min(dual, objective)
        return PMedianResult(y, assignment, objective, lower, status, time.perf_counter() - started,
                             len(model.pi), total_pairs, 1)
    return _capacitated(cost, demand, cap, p, fixed, active, keep, started, deadline, total_pairs)


def _capacitated(cost: Floats, demand: Floats, cap: Floats, p: int, fixed: Ints, active: Ints,
                 keep: NDArray[np.bool_], started: float, deadline: float, total_pairs: int) -> PMedianResult:
    n, m = cost.shape
    sub_cost, sub_demand = cost[active], demand[active]
    finite = np.isfinite(sub_cost)
    # (a) column generation on the LP relaxation until no left-out pair prices out
    while True:
        model = _Model(sub_cost, sub_demand, p, cap, fixed, *_pairs(keep))
        lp = model.solve_lp()
        if lp is None:  # the candidates cannot hold the demand: widen them (all finite pairs at worst)
            if keep.sum() == finite.sum():
                return _infeasible(n, started, len(model.pi), total_pairs)
            keep = _widen(sub_cost, keep)
            continue
        bound, alpha, mu = lp
        with np.errstate(invalid="ignore"):
            reduced = sub_demand[:, None] * (sub_cost - mu[None, :]) - alpha[:, None]
        reduced[~finite | keep] = np.inf
        entering = reduced < -_TOL * max(1.0, abs(bound))
        if not entering.any():
            break
        keep |= entering
    rounds = 0
    while True:
        rounds += 1
        model = _Model(sub_cost, sub_demand, p, cap, fixed, *_pairs(keep))
        # (b) first the splittable model (x continuous: a relaxation, so its bound holds, and quick
        # to solve with only y binary), rounded and repaired into a single-source incumbent; then
        # the single-source model itself in the time left
        s_status, xs, s_dual = model.solve_milp((deadline - time.perf_counter()) / 2, integral_x=False)
        if xs is None and s_status == INFEASIBLE:
            if keep.sum() < finite.sum():
                keep = _widen(sub_cost, keep)  # the left-out pairs may make it feasible
                continue
            return _infeasible(n, started, len(model.pi), total_pairs)
        tries: list[Ints] = []
        if xs is not None:
            repaired = _round_and_repair(model, xs)
            if repaired is not None:
                tries.append(repaired)
        status, x, dual = model.solve_milp(deadline - time.perf_counter(), integral_x=True)
        if x is not None:
            e = x[m:] > 0.5
            sub = np.full(len(active), -1, dtype=np.intp)
            sub[model.pi[e]] = model.pj[e]
            tries.append(sub)
        if not tries:
            if status == INFEASIBLE and keep.sum() < finite.sum():
                keep = _widen(sub_cost, keep)  # single sourcing may need the left-out pairs
                continue
            return _infeasible(n, started, len(model.pi), total_pairs, status)
        best_sub = min(tries, key=lambda a: _objective(sub_cost, sub_demand, a))
        y = np.unique(np.concatenate([best_sub, fixed])).astype(np.intp)
        if len(y) < p:  # sites opened without demand: any, to make up p
            spare = np.setdiff1d(np.arange(m), y)[:p - len(y)]
            y = np.sort(np.concatenate([y, spare])).astype(np.intp)
        assignment = np.full(n, -1, dtype=np.intp)
        assignment[active] = best_sub
        others = np.setdiff1d(np.arange(n), active)
        if len(others):
            assignment[others] = _nearest_open(cost[others], y)
        upper = _objective(cost, demand, assignment)
        restricted = max(s_dual, upper if status == OPTIMAL else dual)  # a bound over the candidate pairs
        # (c) may a left-out pair improve on the incumbent?
        left = reduced.copy()
        left[keep] = np.inf
        could = bound + left < upper - _TOL * max(1.0, abs(upper))
        if could.any() and time.perf_counter() < deadline:
            keep |= could
            continue
        rest = float(left.min()) if np.isfinite(left).any() else np.inf
        lower = min(restricted, bound + rest, upper)
        proven = upper - lower <= _TOL * max(1.0, abs(upper))
        return PMedianResult(y, assignment, upper, upper if proven else lower, OPTIMAL if proven else TIME_LIMIT,
                             time.perf_counter() - started, len(model.pi), total_pairs, rounds)


def _round_and_repair(model: _Model, x: Floats) -> Ints | None:
    """A single-source assignment from a splittable solution: each point to the open site with its
    largest share, then points moved off over-full sites — cheapest move first — to open sites with
    room. None when no such repair exists (the single-source model decides then)."""
    m = model.m
    y = x[:m] > 0.5
    share = x[m:]
    order = np.lexsort((-share, model.pi))
    first = np.r_[True, model.pi[order][1:] != model.pi[order][:-1]]
    pick = order[first]
    assign = np.full(model.n, -1, dtype=np.intp)
    assign[model.pi[pick]] = model.pj[pick]
    if (assign < 0).any() or model.capacity is None:
        return None
    cap = model.capacity
    d, c = model.demand, model.cost
    load = np.bincount(assign, weights=d, minlength=m)
    open_sites = np.flatnonzero(y)
    for _ in range(len(assign)):
        over = np.flatnonzero(load > cap + 1e-9)
        if not len(over):
            return assign
        j = int(over[0])
        pts = np.flatnonzero(assign == j)
        room = cap[open_sites][None, :] - load[open_sites][None, :] >= d[pts][:, None] - 1e-9
        extra = np.where(room & (open_sites[None, :] != j), c[np.ix_(pts, open_sites)] - c[pts, j][:, None], np.inf)
        if not np.isfinite(extra).any():
            return None
        k, s = np.unravel_index(np.argmin(extra), extra.shape)
        i, t = int(pts[k]), int(open_sites[s])
        assign[i] = t
        load[j] -= d[i]
        load[t] += d[i]
    return None


def solve_full_model(cost: Floats, demand: Floats, p: int, capacity: Floats | Sequence[float] | None = None,
                     fixed_open: Sequence[int] | Ints = (), time_limit_s: float = 60) -> PMedianResult:
    """The same model over every finite pair, nothing pruned: the reference the pruning is tested
    against (tests/test_closures.py), and the benchmark's baseline."""
    started = time.perf_counter()
    cost = np.asarray(cost, dtype=np.float64)
    demand = np.asarray(demand, dtype=np.float64).reshape(-1)
    cap = None if capacity is None else np.asarray(capacity, dtype=np.float64).reshape(-1)
    fixed = np.unique(np.asarray(fixed_open, dtype=np.intp).reshape(-1))
    _check(cost, demand, p, cap, fixed)
    n, m = cost.shape
    active = np.flatnonzero(demand > 0)  # as in solve_p_median: points without demand cost nothing
    model = _Model(cost[active], demand[active], p, cap, fixed, *_pairs(np.isfinite(cost[active])))
    status, x, dual = model.solve_milp(time_limit_s)
    if x is None:
        return _infeasible(n, started, len(model.pi), len(model.pi), status)
    y = _open_sites(x[:m], p, fixed)
    assignment = _nearest_open(cost, y)
    if cap is not None:
        e = x[m:] > 0.5
        assignment[active[model.pi[e]]] = model.pj[e]
    objective = _objective(cost, demand, assignment)
    lower = objective if status == OPTIMAL else min(dual, objective)
    return PMedianResult(y, assignment, objective, lower, status, time.perf_counter() - started,
                         len(model.pi), len(model.pi), 1)


def _widen(cost: Floats, keep: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Twice as many nearest sites per point (finite ones only)."""
    k = int(keep.sum(axis=1).max())
    order = np.argsort(cost, axis=1, kind="stable")
    wider = keep.copy()
    wider[np.arange(len(cost))[:, None], order[:, :min(cost.shape[1], 2 * k)]] = True
    return wider & np.isfinite(cost)


def _open_sites(y: Floats, p: int, fixed: Ints) -> Ints:
    chosen = np.flatnonzero(y > 0.5)
    if len(chosen) != p:  # numerical noise: take the p largest, fixed ones first
        score = y.copy()
        score[fixed] = 2.0
        chosen = np.sort(np.argsort(-score, kind="stable")[:p])
    return chosen.astype(np.intp)


def _nearest_open(cost: Floats, open_sites: Ints) -> Ints:
    sub = cost[:, open_sites]
    best = np.argmin(sub, axis=1)
    out: Ints = np.asarray(open_sites[best], dtype=np.intp)
    out[~np.isfinite(sub[np.arange(len(sub)), best])] = -1
    return out


def _objective(cost: Floats, demand: Floats, assignment: Ints) -> float:
    """Σ demand·cost over the points with demand (a point without demand costs nothing, wherever it
    goes, and may have nowhere to go: -1)."""
    need = demand > 0
    if (assignment[need] < 0).any():
        return float("inf")
    rows = np.flatnonzero(need)
    return float((demand[rows] * cost[rows, assignment[rows]]).sum())


def _infeasible(n: int, started: float, pairs: int, total: int, status: str = INFEASIBLE) -> PMedianResult:
    return PMedianResult(np.empty(0, dtype=np.intp), np.full(n, -1, dtype=np.intp), float("inf"), float("inf")
                         if status == INFEASIBLE else -float("inf"), status, time.perf_counter() - started,
                         pairs, total, 0)

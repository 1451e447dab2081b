"""The vehicle-routing core: a VRP with time windows over a travel-time matrix, free of Django.

    solve_vrptw(duration, service, windows, demand, capacity, vehicles, time_limit_s=10, seed=0)

- `duration`: (n+1)×(n+1) travel times, the depot (a school) at index 0, `inf` where there is no way;
- `service`, `demand`: length n+1, 0 at the depot;
- `windows`: (n+1)×2 earliest / latest *start of service*; row 0 is the depot's opening and closing
  (every trip leaves at or after the opening and is back by the closing);
- `vehicles`: how many trips may run (each with `capacity`).

Two optional keyword arguments (their defaults are the plain problem above):

- `vehicle_windows`: (vehicles)×2, each vehicle's own earliest departure and latest return (within
  the depot's row 0). With them, vehicles are distinct: a school's half-days of a week on one time
  axis (seconds from Monday 00:00), each half-day a vehicle;
- `stop_windows`: per stop (length n+1, entry 0 unused), None or a list of (earliest, latest) start
  of service replacing that stop's row of `windows`: the stop is served once, in whichever of its
  windows — a child available on Monday, Wednesday and Friday mornings has three windows, and which
  of them (so which half-day, which vehicle) is chosen together with the order, in one solve.
  PyVRP takes them as a mutually exclusive client group (one client per window, the group required).

It returns a `VRPSolution`: `routes` (stop indices in visiting order, depot left out), `cost` (the sum
of `duration` over the arcs driven — what is minimised; waiting and service are not counted),
`unserved` (stops no trip can take, with `reasons`), each stop's planned start of service, and
`vehicles` (the vehicle, an index into `vehicle_windows`, that drives each route).

The solver is PyVRP (Wouters et al., "PyVRP: a high-performance VRP solver package", INFORMS Journal
on Computing, 2024; hybrid genetic search / iterated local search), which works on integers: every
time is multiplied by SCALE (10: tenths of the input unit — tenths of a second for the engine's
seconds, and exactly the one-decimal convention of the published Solomon optima) and rounded. So
the solver judges a trip at that resolution: each rounded leg, visit and window may be off by half a
step, and a trip it finds may run late by up to that much per leg and visit (`rounding`, 0.05 s each
for the engine's seconds) — the check of its trips allows exactly that, no more.
PyVRP 0.14's `route.schedule()` numbers a client by its place among the clients (0-based), not by its
location: stop i of ours is client i-1 there. Because a mistake there still gives the right cost with
the wrong stops, every returned order is checked here, independently of PyVRP, for its windows, its
load and its cost (`check_route`), and a solution that fails the check is an error, never a plan.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

SCALE = 10  # integer units per input unit (PyVRP needs integers)
BIG = 10**12  # an arc that cannot be driven, in scaled units: far beyond any real trip
# iterations without a better solution, then stop (measured: 8 stops 0.1 s, Solomon C101.25 0.6 s, optimum kept)
NO_IMPROVEMENT = 2_000

# Why a stop is left out (the route pages and sheets translate these)
UNREACHABLE = "unreachable"  # no road from the school to the stop and back
WINDOW = "window"  # the stop's window cannot be met even by a trip serving it alone
CAPACITY = "capacity"  # the stop alone needs more than a trip takes
NO_ROOM = "no_room"  # each fits alone, but not all fit in the trips available


class VRPError(ValueError):
    """The arrays do not describe a routing problem (shapes, signs, windows)."""


@dataclass(frozen=True)
class VRPSolution:
    routes: list[list[int]]
    cost: float
    unserved: list[int] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)
    starts: list[list[float]] = field(default_factory=list)  # planned start of service, per stop
    departures: list[float] = field(default_factory=list)  # leaving the depot, per route
    returns: list[float] = field(default_factory=list)  # back at the depot, per route
    vehicles: list[int] = field(default_factory=list)  # the vehicle driving each route


@dataclass(frozen=True)
class Problem:
    duration: NDArray[np.float64]
    service: NDArray[np.float64]
    windows: NDArray[np.float64]
    demand: NDArray[np.int64]
    capacity: int
    vehicles: int
    # each vehicle's (earliest departure, latest return), the depot's window applied; None: all alike
    vehicle_windows: NDArray[np.float64] | None = None
    # per stop, its windows (k×2, sorted by opening); entry 0 is the depot's
    stop_windows: tuple[NDArray[np.float64], ...] = ()

    @property
    def n(self) -> int:
        return len(self.service) - 1

    def depot_window(self, vehicle: int | None) -> tuple[float, float]:
        if vehicle is None or self.vehicle_windows is None:
            return float(self.windows[0, 0]), float(self.windows[0, 1])
        return float(self.vehicle_windows[vehicle, 0]), float(self.vehicle_windows[vehicle, 1])

    def fleet(self) -> list[int | None]:
        """The vehicles to try a stop on: each one when they differ, else any (None)."""
        return list(range(self.vehicles)) if self.vehicle_windows is not None else [None]

    def windows_of(self, stop: int) -> NDArray[np.float64]:
        return self.stop_windows[stop] if self.stop_windows else self.windows[stop:stop + 1]


def problem(duration: ArrayLike, service: ArrayLike, windows: ArrayLike, demand: ArrayLike,
            capacity: int, vehicles: int, vehicle_windows: ArrayLike | None = None,
            stop_windows: Sequence[ArrayLike | None] | None = None) -> Problem:
    """Check the arrays and return them as one problem (VRPError says what is wrong)."""
    d = np.asarray(duration, dtype=np.float64)
    s = np.asarray(service, dtype=np.float64).reshape(-1)
    w = np.asarray(windows, dtype=np.float64)
    q = np.asarray(demand)
    size = len(s)
    if size < 1:
        raise VRPError("no depot: service must have n+1 entries")
    if d.shape != (size, size):
        raise VRPError(f"duration must be {size}×{size}, not {'×'.join(map(str, d.shape))}")
    if w.shape != (size, 2):
        raise VRPError(f"windows must be {size}×2")
    if q.shape != (size,) or not np.all(np.isfinite(q.astype(np.float64))) or np.any(q != np.round(q)):
        raise VRPError(f"demand must be {size} whole numbers")
    if np.isnan(d).any() or (d < 0).any():
        raise VRPError("durations must be non-negative (inf: no way)")
    if not (np.isfinite(s).all() and (s >= 0).all() and np.isfinite(w).all()):
        raise VRPError("service times and windows must be finite, service non-negative")
    if (w[:, 0] > w[:, 1]).any():
        raise VRPError("a window closes before it opens")
    if (q < 0).any() or q[0] != 0 or s[0] != 0:
        raise VRPError("demand must be non-negative, and service and demand 0 at the depot")
    if int(capacity) < 0 or int(vehicles) < 0:
        raise VRPError("capacity and vehicles must be non-negative")
    vw = None
    if vehicle_windows is not None:
        vw = np.asarray(vehicle_windows, dtype=np.float64)
        if vw.shape != (int(vehicles), 2) or not np.isfinite(vw).all() or (vw[:, 0] > vw[:, 1]).any():
            raise VRPError(f"vehicle_windows must be {int(vehicles)}×2 finite (earliest, latest) pairs")
        vw = np.column_stack([np.maximum(vw[:, 0], w[0, 0]), np.minimum(vw[:, 1], w[0, 1])])
        if (vw[:, 0] > vw[:, 1]).any():
            raise VRPError("a vehicle's window lies outside the depot's (row 0 of windows)")
    sw: tuple[NDArray[np.float64], ...] = ()
    if stop_windows is not None:
        if len(stop_windows) != size:
            raise VRPError(f"stop_windows must have {size} entries (entry 0: the depot, unused)")
        rows = [w[0:1]]
        for i, given in enumerate(list(stop_windows)[1:], 1):
            if given is None:
                rows.append(w[i:i + 1])
                continue
            a = np.asarray(given, dtype=np.float64).reshape(-1, 2)
            if len(a) == 0 or not np.isfinite(a).all() or (a[:, 0] > a[:, 1]).any():
                raise VRPError(f"stop {i}: its windows must be one or more finite (earliest, latest) pairs")
            rows.append(a[np.argsort(a[:, 0], kind="stable")])
        sw = tuple(rows)
    return Problem(d, s, w, q.astype(np.int64), int(capacity), int(vehicles), vw, sw)


def _earliest(windows: NDArray[np.float64], t: float, tolerance: float = 1e-9) -> float | None:
    """The earliest start of service at or after `t` within one of the windows (None: none left)."""
    best = None
    for early, late in windows:
        if t <= late + tolerance:
            start = max(t, float(early))
            best = start if best is None else min(best, start)
    return best


def rounding(route: list[int]) -> float:
    """How late the solver's integer times may let a trip run: half a step for each leg, visit and
    window of the route."""
    return (3 * len(route) + 2) * 0.5 / SCALE


def schedule(p: Problem, route: list[int], depart: float | None = None,
             vehicle: int | None = None, tolerance: float = 1e-9) -> tuple[list[float], float, float] | None:
    """Earliest start of service at each stop of a route (in the first of its windows still open),
    leaving the depot at `depart` (default: as late as possible without waiting at the first stop,
    never before the vehicle's opening); the departure and the return. None when a window is missed,
    a way is missing, or the trip is back after the vehicle's closing."""
    open_, close = p.depot_window(vehicle)
    if not route:
        return [], open_, open_
    if depart is None:
        first = _earliest(p.windows_of(route[0]), open_ + p.duration[0, route[0]], tolerance)
        if first is None or not np.isfinite(first):
            return None
        depart = max(open_, first - p.duration[0, route[0]])
    t, prev, starts = depart, 0, []
    for stop in route:
        arrive = t + p.duration[prev, stop]
        start = _earliest(p.windows_of(stop), arrive, tolerance) if np.isfinite(arrive) else None
        if start is None:
            return None
        t = start
        starts.append(float(t))
        t += p.service[stop]
        prev = stop
    back = t + p.duration[prev, 0]
    if not (np.isfinite(back) and back <= close + tolerance):
        return None
    return starts, float(depart), float(back)


def route_cost(p: Problem, route: list[int]) -> float:
    """Sum of `duration` over the arcs of depot → stops → depot."""
    legs = [0, *route, 0]
    return float(sum(p.duration[a, b] for a, b in zip(legs[:-1], legs[1:], strict=True)))


def check_route(p: Problem, route: list[int], vehicle: int | None = None, tolerance: float = 1e-9) -> str | None:
    """Why this order is not a feasible trip of this vehicle (None: it is) — independent of the solver;
    `tolerance`: how late a stop or the return may be (the solver's `rounding` for its trips)."""
    if len(set(route)) != len(route) or any(not 1 <= s <= p.n for s in route):
        return f"stops {route} are not distinct stops 1..{p.n}"
    if int(p.demand[route].sum()) > p.capacity:
        return f"load {int(p.demand[route].sum())} exceeds capacity {p.capacity}"
    if route and schedule(p, route, depart=p.depot_window(vehicle)[0], vehicle=vehicle, tolerance=tolerance) is None:
        return f"order {route} misses a window or returns after the depot closes"
    return None


def _alone(p: Problem, stop: int) -> str | None:
    """Why a stop cannot be served even by a trip of its own (None: it can)."""
    if not (np.isfinite(p.duration[0, stop]) and np.isfinite(p.duration[stop, 0])):
        return UNREACHABLE
    if p.demand[stop] > p.capacity:
        return CAPACITY
    if all(schedule(p, [stop], depart=p.depot_window(v)[0], vehicle=v) is None for v in p.fleet()):
        return WINDOW
    return None


def _scaled(x: NDArray[np.float64]) -> NDArray[np.int64]:
    out = np.where(np.isfinite(x), np.round(x * SCALE), BIG)
    return np.minimum(out, BIG).astype(np.int64)


def _solve_pyvrp(p: Problem, stops: list[int], optional: bool, time_limit_s: float,
                 seed: int) -> tuple[list[list[int]], list[int], bool]:
    """Routes over `stops` (our indices) from PyVRP, the vehicle of each, and whether PyVRP calls
    them feasible."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

    d = _scaled(p.duration)
    w = _scaled(p.windows)
    s = _scaled(p.service)
    m = Model()
    places = [0, *stops]
    locations = [m.add_location(0, 0) for _ in places]
    depot = m.add_depot(locations[0], tw_early=int(w[0, 0]), tw_late=int(w[0, 1]))
    # A prize larger than any trip's cost: leaving a stop out never pays while it can be served.
    prize = int(min(BIG, 2 * d[np.ix_(places, places)][d[np.ix_(places, places)] < BIG].sum() + 1))
    clients: list[int] = []  # PyVRP's clients in the order added (its client index) → our stop
    for loc, stop in zip(locations[1:], stops, strict=True):
        own = _scaled(p.windows_of(stop))
        if len(own) == 1:
            m.add_client(loc, delivery=[int(p.demand[stop])], service_duration=int(s[stop]),
                         tw_early=int(own[0, 0]), tw_late=int(own[0, 1]),
                         prize=prize if optional else 0, required=not optional)
            clients.append(stop)
            continue
        # one client per window, exactly one of them served (at most one when optional)
        group = m.add_client_group(required=not optional)
        for early, late in own:
            m.add_client(loc, delivery=[int(p.demand[stop])], service_duration=int(s[stop]),
                         tw_early=int(early), tw_late=int(late), prize=prize if optional else 0,
                         required=False, group=group)
            clients.append(stop)
    if p.vehicle_windows is None:
        m.add_vehicle_type(num_available=max(p.vehicles, 1), capacity=[p.capacity], start_depot=depot,
                           end_depot=depot, tw_early=int(w[0, 0]), tw_late=int(w[0, 1]))
    else:
        for early, late in _scaled(p.vehicle_windows):
            m.add_vehicle_type(num_available=1, capacity=[p.capacity], start_depot=depot, end_depot=depot,
                               tw_early=int(early), tw_late=int(late))
    for (i, a), (j, b) in product(enumerate(places), repeat=2):
        if i != j:
            m.add_edge(locations[i], locations[j], distance=int(d[a, b]), duration=int(d[a, b]))
    stop_rule = MultipleCriteria([MaxRuntime(max(time_limit_s, 0.01)), NoImprovement(NO_IMPROVEMENT)])
    with warnings.catch_warnings():  # "penalty at its maximum" on instances with no feasible answer: handled below
        warnings.simplefilter("ignore")
        result = m.solve(stop_rule, seed=seed, display=False, collect_stats=False)
    best = result.best
    routes, used = [], []
    for k, route in enumerate(best.routes()):
        # client activity idx is the 0-based place among clients (checked by check_route)
        routes.append([clients[a.idx] for a in route.schedule() if a.is_client()])
        used.append(int(route.vehicle_type()) if p.vehicle_windows is not None else k)
    return routes, used, bool(best.is_feasible())


def solve_vrptw(duration: ArrayLike, service: ArrayLike, windows: ArrayLike, demand: ArrayLike,
                capacity: int, vehicles: int, time_limit_s: float = 10, seed: int = 0, *,
                vehicle_windows: ArrayLike | None = None,
                stop_windows: Sequence[ArrayLike | None] | None = None) -> VRPSolution:
    """Trips from the depot (index 0) serving the stops 1..n within their windows, at least total
    travel time; see the module's docstring."""
    p = problem(duration, service, windows, demand, capacity, vehicles, vehicle_windows, stop_windows)
    reasons: dict[int, str] = {}
    for stop in range(1, p.n + 1):
        why = _alone(p, stop)
        if why:
            reasons[stop] = why
    stops = [i for i in range(1, p.n + 1) if i not in reasons]
    routes: list[list[int]] = []
    used: list[int] = []
    if stops and p.vehicles > 0:
        routes, used, feasible = _solve_pyvrp(p, stops, optional=False, time_limit_s=time_limit_s, seed=seed)
        if not feasible:  # not all fit: serve as many as possible (prizes), the rest have no room
            routes, used, feasible = _solve_pyvrp(p, stops, optional=True, time_limit_s=time_limit_s, seed=seed)
        if not feasible:
            raise VRPError("the solver found no feasible set of trips")
    kept = [(r, v) for r, v in zip(routes, used, strict=True) if r]
    routes, used = [r for r, _v in kept], [v for _r, v in kept]
    if p.vehicle_windows is None:
        used = list(range(len(routes)))
    elif len(set(used)) != len(used):
        raise VRPError("the solver gave one vehicle two trips")
    for r, v in zip(routes, used, strict=True):
        why = check_route(p, r, v if p.vehicle_windows is not None else None, tolerance=rounding(r))
        if why:
            raise VRPError(f"the solver returned an infeasible trip: {why}")
    if len(routes) > max(p.vehicles, 0):
        raise VRPError(f"the solver used {len(routes)} trips, {p.vehicles} available")
    served = {s for r in routes for s in r}
    if len(served) != sum(len(r) for r in routes):
        raise VRPError("the solver visited a stop twice")
    for stop in stops:
        if stop not in served:
            reasons[stop] = NO_ROOM
    vehicle_of = [v if p.vehicle_windows is not None else None for v in used]
    plans = [schedule(p, r, vehicle=v, tolerance=rounding(r))
             or schedule(p, r, depart=p.depot_window(v)[0], vehicle=v, tolerance=rounding(r))
             for r, v in zip(routes, vehicle_of, strict=True)]
    return VRPSolution(
        routes=routes, cost=sum(route_cost(p, r) for r in routes),
        unserved=sorted(reasons), reasons=dict(sorted(reasons.items())),
        starts=[pl[0] for pl in plans if pl], departures=[pl[1] for pl in plans if pl],
        returns=[pl[2] for pl in plans if pl], vehicles=used)


def as_dict(solution: VRPSolution) -> dict[str, Any]:
    return {"routes": solution.routes, "cost": solution.cost, "unserved": solution.unserved,
            "reasons": {str(k): v for k, v in solution.reasons.items()}, "vehicles": solution.vehicles}

"""The travel-time engine's core: plain functions over numpy arrays and scipy.sparse, free of Django.

A `Graph` is one mode's network: nodes 0..n-1 (the road vertices), and for every road piece (edge)
its travel time forwards (`fwd`, source → target) and backwards (`bwd`), `inf` where the mode may not
travel that way (one-way streets for vehicles). Points — homes, schools — are `snap`ped to the nearest
point of an edge the mode may use, in metres of a projected CRS; a point farther than the access cap
is off the network (`Snapped.edge == -1`), never silently snapped.

A trip = the access leg (a straight line at walking speed from the point to the network), the
network part from the snapped point along the roads, and the access leg at the far end. Partial
edges are travelled at the edge's own time, pro rata. Searches add points as virtual nodes joined to
their edge's two ends, so every query is one scipy.sparse.csgraph.dijkstra call:

- `nearest_facility`: one multi-source search (``min_only=True``) on the reversed graph from all
  facilities at once — the time from every node *to* its nearest facility — then each origin takes
  the better of its edge's two ends (or a facility on its own edge);
- `times_to_each`: the time from each origin to a facility named per origin (one search per
  distinct facility), which `times_to` (many origins, one facility) is a case of;
- `od_matrix`: times between a few hundred points, both ways;
- `trip_path`: the line of one trip along the roads, from the predecessors.

Road distances come with the times: the length of the fastest path (not the shortest one), summed
over the search tree by pointer jumping (vectorised, log(depth) passes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

KEY = np.int64(1) << np.int64(32)  # arc key = row * KEY + col (fewer than 4e9 nodes)
# A piece of road cut off from the rest with fewer vertices than this (or than the largest piece,
# whichever is smaller) is snapped to only when no other road is within the access cap — OSRM's
# "tiny components" rule: a home beside a stray unconnected track would otherwise reach nothing.
SMALL_COMPONENT = 50
# Points are snapped to pieces of road at most this long: a spatial index of long straight roads has
# huge boxes, and every query would measure its distance to most of them.
SNAP_PIECE_M = 200.0
OD_CHUNK = 64  # origins per dijkstra call in matrix queries (bounds memory: chunk × nodes floats)

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


@dataclass(frozen=True)
class Edges:
    """The road pieces, mode-independent: row i of every array is edge i."""

    ids: NDArray[np.int64]  # database ids (gridmap_roadedge.id)
    source: Ints  # node index of the first vertex
    target: Ints
    length_m: Floats
    lines: NDArray[np.object_]  # shapely LineStrings in a metric CRS, drawn source → target
    node_ids: NDArray[np.int64]  # database id (gridmap_roadvertex.id) of each node index
    joinable: NDArray[np.bool_] | None = None  # a point may join the network here (None: everywhere)

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @cached_property
    def pieces(self) -> Pieces:
        """Every edge cut into straight pieces of at most SNAP_PIECE_M metres (for snapping)."""
        if not len(self.lines):
            empty = np.empty(0)
            return Pieces(np.empty(0, dtype=np.intp), empty, np.empty(0, dtype=object), empty)
        dense = shapely.segmentize(self.lines, SNAP_PIECE_M)
        coords, line = shapely.get_coordinates(dense, return_index=True)
        same = line[1:] == line[:-1]
        a, b, owner = coords[:-1][same], coords[1:][same], line[1:][same]
        length = np.hypot(*(b - a).T)
        ends = np.cumsum(length)
        first = np.r_[True, owner[1:] != owner[:-1]]
        base = np.maximum.accumulate(np.where(first, ends - length, 0.0))  # where each edge's run starts
        start = ends - length - base
        total = np.bincount(owner, weights=length, minlength=len(self.lines)).astype(np.float64)
        return Pieces(owner.astype(np.intp), start, shapely.linestrings(np.stack([a, b], axis=1)), total)


@dataclass(frozen=True)
class Pieces:
    edge: Ints  # the edge each piece belongs to
    start_m: Floats  # where along its edge the piece starts (metric CRS metres)
    lines: NDArray[np.object_]  # two-point LineStrings
    edge_length_m: Floats  # each edge's length in the metric CRS (to turn metres into a fraction)


@dataclass(frozen=True)
class Arcs:
    """Directed arcs sorted by (row, col), one per pair (the fastest of parallel edges)."""

    row: Ints
    col: Ints
    time: Floats
    length: Floats
    edge: Ints  # edge index, -1 for an arc to or from a virtual node

    @property
    def keys(self) -> NDArray[np.int64]:
        return self.row.astype(np.int64) * KEY + self.col

    def matrix(self, size: int) -> csr_matrix:
        indptr = np.searchsorted(self.row, np.arange(size + 1)).astype(np.intp)
        return csr_matrix((self.time, self.col, indptr), shape=(size, size))


def make_arcs(row: Ints, col: Ints, time: Floats, length: Floats, edge: Ints) -> Arcs:
    """Sort and keep the fastest arc of each (row, col) pair; drop arcs that cannot be travelled."""
    ok = np.isfinite(time) & (row != col)
    row, col, time, length, edge = row[ok], col[ok], time[ok], length[ok], edge[ok]
    order = np.lexsort((time, col, row))
    row, col, time, length, edge = row[order], col[order], time[order], length[order], edge[order]
    first = np.ones(len(row), dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (col[1:] != col[:-1])
    return Arcs(row[first], col[first], time[first], length[first], edge[first])


def join_arcs(base: Arcs, extra: Arcs) -> Arcs:
    """Base arcs plus extra ones (virtual nodes); cheap when every extra arc leaves a virtual node."""
    if len(extra.row) == 0:
        return base
    if extra.row.min() > (base.row.max() if len(base.row) else -1):
        extra = make_arcs(extra.row, extra.col, extra.time, extra.length, extra.edge)
        return Arcs(*(np.concatenate([getattr(base, f), getattr(extra, f)])
                      for f in ("row", "col", "time", "length", "edge")))
    return make_arcs(*(np.concatenate([getattr(base, f), getattr(extra, f)])
                       for f in ("row", "col", "time", "length", "edge")))


@dataclass
class Graph:
    """One mode's routable network."""

    edges: Edges
    fwd: Floats  # seconds, source → target; inf: not this way (or not at all)
    bwd: Floats  # seconds, target → source
    walk_mps: float  # speed of the access legs
    access_max_m: float  # farther than this from every usable edge: off the network
    key: str = ""  # names the network version and mode; points snapped on it carry it
    forward: Arcs = field(init=False)
    reverse: Arcs = field(init=False)
    usable: Ints = field(init=False)  # edges the mode may travel and points may join (snap targets)
    tree: shapely.STRtree = field(init=False)  # of the usable edges' pieces (Edges.pieces)
    tree_pieces: Ints = field(init=False)
    main: Ints = field(init=False)  # usable edges outside tiny pieces (SMALL_COMPONENT): snapped to first
    main_tree: shapely.STRtree = field(init=False)
    main_pieces: Ints = field(init=False)

    def __post_init__(self) -> None:
        e = self.edges
        idx = np.arange(len(e.ids), dtype=np.intp)
        both = np.concatenate
        self.forward = make_arcs(both([e.source, e.target]), both([e.target, e.source]),
                                 both([self.fwd, self.bwd]), both([e.length_m, e.length_m]), both([idx, idx]))
        self.reverse = make_arcs(self.forward.col, self.forward.row, self.forward.time,
                                 self.forward.length, self.forward.edge)
        travelled = np.isfinite(self.fwd) | np.isfinite(self.bwd)
        self.usable = idx[travelled & (e.joinable if e.joinable is not None else True)]
        if self.n and len(self.usable):
            # strongly connected: from the main network a point must be able to leave and come back
            _count, label = connected_components(self.forward.matrix(self.n), directed=True, connection="strong")
            size = np.bincount(label)
            ends = np.minimum(size[label[e.source[self.usable]]], size[label[e.target[self.usable]]])
            self.main = self.usable[ends >= min(SMALL_COMPONENT, int(size.max()))]
        else:
            self.main = self.usable
        pieces = e.pieces
        self.tree_pieces = np.flatnonzero(np.isin(pieces.edge, self.usable))
        self.tree = shapely.STRtree(pieces.lines[self.tree_pieces])
        self.main_pieces = np.flatnonzero(np.isin(pieces.edge, self.main))
        self.main_tree = shapely.STRtree(pieces.lines[self.main_pieces])

    @property
    def n(self) -> int:
        return self.edges.n_nodes


def edge_times(cost: Floats, reverse_cost: Floats) -> tuple[Floats, Floats]:
    """pgRouting's convention (a negative cost: no travel that way) as inf."""
    fwd = np.where(cost < 0, np.inf, cost).astype(np.float64)
    bwd = np.where(reverse_cost < 0, np.inf, reverse_cost).astype(np.float64)
    return fwd, bwd


@dataclass(frozen=True)
class Snapped:
    """Points placed on the network: edge index (-1: off the network), position along it (0 at its
    source, 1 at its target), and the straight-line access distance in metres."""

    edge: Ints
    frac: Floats
    access_m: Floats
    xy: Floats  # the points themselves (metric CRS), for drawing the access legs
    key: str = ""  # the Graph.key they were snapped on: points of another graph are refused

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def on(self) -> NDArray[np.bool_]:
        return self.edge >= 0

    def take(self, index: Ints | Sequence[int]) -> Snapped:
        i = np.asarray(index, dtype=np.intp)
        return Snapped(self.edge[i], self.frac[i], self.access_m[i], self.xy[i], self.key)


def snap(graph: Graph, xy: Floats) -> Snapped:
    """Each point (metric x, y) to the nearest point of an edge the mode may use, within the cap —
    on the connected network if any of it is that near, else on a stray piece (SMALL_COMPONENT)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    edge = np.full(n, -1, dtype=np.intp)
    frac = np.zeros(n)
    access = np.full(n, np.inf)
    todo = np.asarray(np.isfinite(xy).all(axis=1), dtype=bool)
    pieces = graph.edges.pieces
    for candidates, tree in ((graph.main_pieces, graph.main_tree), (graph.tree_pieces, graph.tree)):
        if not (n and len(candidates) and bool(todo.any())):
            continue
        which = np.flatnonzero(todo)
        points = shapely.points(xy[which])
        # a hair over the cap so that a point exactly at the cap is found; the cap is applied below
        hit, tree_index = tree.query_nearest(points, max_distance=graph.access_max_m + 1e-6, all_matches=False)
        piece = candidates[tree_index]
        lines = pieces.lines[piece]
        dist = shapely.distance(points[hit], lines)
        keep = dist <= graph.access_max_m
        at, piece = which[hit[keep]], piece[keep]
        found = pieces.edge[piece]
        along = pieces.start_m[piece] + shapely.line_locate_point(lines[keep], points[hit[keep]])
        total = pieces.edge_length_m[found]
        edge[at] = found
        access[at] = dist[keep]
        frac[at] = np.clip(np.divide(along, total, out=np.zeros_like(along), where=total > 0), 0, 1)
        todo[at] = False
    return Snapped(edge, frac, access, xy, graph.key)


def check(graph: Graph, *points: Snapped) -> None:
    """Points snapped on another graph (another mode, an older network) would index wrong edges."""
    for p in points:
        if p.key != graph.key:
            raise ValueError(f"points snapped on graph {p.key!r} used on graph {graph.key!r}: snap them again")


def _part(frac: Floats, seconds: Floats) -> Floats:
    """Time to travel `frac` of an edge that takes `seconds` whole; nothing to travel costs 0 even
    where the direction is barred (inf)."""
    with np.errstate(invalid="ignore"):
        return np.where(frac <= 0, 0.0, frac * seconds)


def _leave(graph: Graph, p: Snapped) -> tuple[Floats, Floats]:
    """Seconds from each snapped point to its edge's source and to its target (access leg included)."""
    e = np.where(p.on, p.edge, 0)
    acc = p.access_m / graph.walk_mps
    to_s = np.where(p.on, acc + _part(p.frac, graph.bwd[e]), np.inf)
    to_t = np.where(p.on, acc + _part(1 - p.frac, graph.fwd[e]), np.inf)
    return to_s, to_t


def _arrive(graph: Graph, p: Snapped) -> tuple[Floats, Floats]:
    """Seconds from its edge's source, and from its target, to each snapped point (access included)."""
    e = np.where(p.on, p.edge, 0)
    acc = p.access_m / graph.walk_mps
    from_s = np.where(p.on, acc + _part(p.frac, graph.fwd[e]), np.inf)
    from_t = np.where(p.on, acc + _part(1 - p.frac, graph.bwd[e]), np.inf)
    return from_s, from_t


def _partial_length(graph: Graph, p: Snapped) -> tuple[Floats, Floats]:
    """Metres from each point to its edge's source and to its target (access leg included)."""
    e = np.where(p.on, p.edge, 0)
    length = graph.edges.length_m[e]
    return p.access_m + p.frac * length, p.access_m + (1 - p.frac) * length


def _direct(graph: Graph, a: Snapped, b: Snapped) -> tuple[Floats, Floats]:
    """Seconds and metres from a[i] to b[i] along their common edge (inf where they do not share one)."""
    same = a.on & b.on & (a.edge == b.edge)
    e = np.where(same, a.edge, 0)
    d = b.frac - a.frac
    along = np.where(d >= 0, _part(d, graph.fwd[e]), _part(-d, graph.bwd[e]))
    seconds = np.where(same, along + (a.access_m + b.access_m) / graph.walk_mps, np.inf)
    metres = np.where(same, np.abs(d) * graph.edges.length_m[e] + a.access_m + b.access_m, np.nan)
    return seconds, metres


def _virtual_arcs(graph: Graph, p: Snapped, first_node: int, *, outgoing: bool, reverse: bool) -> Arcs:
    """Arcs joining virtual node first_node + i to point i's edge ends.

    outgoing: the point is where trips start (node → edge ends), else where they end (edge ends →
    node). reverse: written for the reversed graph (arcs turned round, times kept).
    """
    idx = np.flatnonzero(p.on)
    sub = p.take(idx)
    e = sub.edge
    node = first_node + idx
    time_s, time_t = _leave(graph, sub) if outgoing else _arrive(graph, sub)
    len_s, len_t = _partial_length(graph, sub)
    ends = np.concatenate([graph.edges.source[e], graph.edges.target[e]])
    virtual = np.concatenate([node, node])
    row, col = (virtual, ends) if outgoing != reverse else (ends, virtual)
    return make_arcs(row.astype(np.intp), col.astype(np.intp), np.concatenate([time_s, time_t]),
                     np.concatenate([len_s, len_t]), np.full(2 * len(idx), -1, dtype=np.intp))


def _path_lengths(arcs: Arcs, pred: NDArray[np.int32], size: int) -> Floats:
    """Metres from every node to the root of its branch of a dijkstra search tree (pointer jumping)."""
    parent = np.where(pred < 0, -1, pred).astype(np.intp)
    length = np.zeros(size)
    has = np.flatnonzero(parent >= 0)
    if len(has):
        pos = np.searchsorted(arcs.keys, parent[has].astype(np.int64) * KEY + has)
        length[has] = arcs.length[pos]
    while True:
        m = np.flatnonzero(parent >= 0)
        if not len(m):
            return length
        up = parent[m]
        new_length, new_parent = length.copy(), parent.copy()
        new_length[m] = length[m] + length[up]
        new_parent[m] = parent[up]
        length, parent = new_length, new_parent


@dataclass(frozen=True)
class Result:
    """Per origin: seconds and road metres of the trip (inf / nan: off the network or unreachable),
    and the facility it goes to (index into the facilities given; -1: none)."""

    time_s: Floats
    distance_m: Floats
    facility: Ints
    off_network: NDArray[np.bool_]  # the origin is farther than the access cap from any road

    @property
    def unreachable(self) -> NDArray[np.bool_]:
        return ~self.off_network & ~np.isfinite(self.time_s)


def nearest_facility(graph: Graph, origins: Snapped, facilities: Snapped) -> Result:
    """For every origin, the facility reached fastest, in one multi-source search."""
    check(graph, origins, facilities)
    n, k = graph.n, len(facilities)
    m = len(origins)
    time = np.full(m, np.inf)
    dist = np.full(m, np.nan)
    which = np.full(m, -1, dtype=np.intp)
    if k == 0 or not facilities.on.any() or m == 0:
        return Result(time, dist, which, ~origins.on)
    arcs = join_arcs(graph.reverse, _virtual_arcs(graph, facilities, n, outgoing=False, reverse=True))
    sources = n + np.flatnonzero(facilities.on)
    d, pred, src = dijkstra(arcs.matrix(n + k), directed=True, indices=sources, min_only=True,
                            return_predecessors=True)
    lengths = _path_lengths(arcs, pred, n + k)
    _combine(graph, origins, d, lengths, np.where(src < 0, -1, src - n), time, dist, which)
    _same_edge(graph, origins, facilities, np.arange(k), time, dist, which)
    return Result(time, dist, which, ~origins.on)


def _combine(graph: Graph, origins: Snapped, d: Floats, lengths: Floats, reached_from: Ints,
             time: Floats, dist: Floats, which: Ints, only: Ints | None = None) -> None:
    """Each origin's trip through the better end of its edge, given node → facility times `d`."""
    index = np.flatnonzero(origins.on) if only is None else only[origins.on[only]]
    if not len(index):
        return
    o = origins.take(index)
    s, t = graph.edges.source[o.edge], graph.edges.target[o.edge]
    to_s, to_t = _leave(graph, o)
    len_s, len_t = _partial_length(graph, o)
    via_s, via_t = to_s + d[s], to_t + d[t]
    use_t = via_t < via_s
    best = np.where(use_t, via_t, via_s)
    node = np.where(use_t, t, s)
    better = best < time[index]
    time[index] = np.where(better, best, time[index])
    reached = np.isfinite(best)
    dist[index] = np.where(better & reached, np.where(use_t, len_t, len_s) + lengths[node], dist[index])
    which[index] = np.where(better & reached, reached_from[node], which[index])


def _same_edge(graph: Graph, origins: Snapped, facilities: Snapped, candidates: Ints,
               time: Floats, dist: Floats, which: Ints, assigned: Ints | None = None) -> None:
    """A facility on an origin's own edge may be reached without visiting either end."""
    on_edge = np.flatnonzero(origins.on)
    if not len(on_edge):
        return
    order = on_edge[np.argsort(origins.edge[on_edge], kind="stable")]
    sorted_edges = origins.edge[order]
    for j in candidates:
        if not facilities.on[j]:
            continue
        lo, hi = np.searchsorted(sorted_edges, facilities.edge[j], side="left"), \
            np.searchsorted(sorted_edges, facilities.edge[j], side="right")
        if lo == hi:
            continue
        idx = order[lo:hi]
        if assigned is not None:
            idx = idx[assigned[idx] == j]
        if not len(idx):
            continue
        seconds, metres = _direct(graph, origins.take(idx), facilities.take(np.full(len(idx), j)))
        better = seconds < time[idx]
        time[idx] = np.where(better, seconds, time[idx])
        dist[idx] = np.where(better, metres, dist[idx])
        which[idx] = np.where(better, j, which[idx])


def times_to_each(graph: Graph, origins: Snapped, facilities: Snapped, assigned: Ints) -> Result:
    """Origin i's trip to facility assigned[i] (-1: none), one search per distinct facility."""
    check(graph, origins, facilities)
    n, k = graph.n, len(facilities)
    m = len(origins)
    assigned = np.asarray(assigned, dtype=np.intp)
    time = np.full(m, np.inf)
    dist = np.full(m, np.nan)
    which = np.full(m, -1, dtype=np.intp)
    wanted = [j for j in np.unique(assigned[assigned >= 0]) if facilities.on[j]]
    if not wanted or m == 0:
        return Result(time, dist, which, ~origins.on)
    arcs = join_arcs(graph.reverse, _virtual_arcs(graph, facilities, n, outgoing=False, reverse=True))
    matrix = arcs.matrix(n + k)
    for start in range(0, len(wanted), OD_CHUNK):
        chunk = np.asarray(wanted[start:start + OD_CHUNK], dtype=np.intp)
        d, pred = dijkstra(matrix, directed=True, indices=n + chunk, return_predecessors=True)
        for row, j in enumerate(chunk):
            lengths = _path_lengths(arcs, pred[row], n + k)
            _combine(graph, origins, d[row], lengths, np.full(n + k, j, dtype=np.intp), time, dist, which,
                     only=np.flatnonzero(assigned == j))
    _same_edge(graph, origins, facilities, np.asarray(wanted), time, dist, which, assigned=assigned)
    return Result(time, dist, which, ~origins.on)


def times_to(graph: Graph, origins: Snapped, facility: Snapped) -> Result:
    """Every origin's trip to one facility (`facility` holds one point)."""
    return times_to_each(graph, origins, facility, np.zeros(len(origins), dtype=np.intp))


def od_matrix(graph: Graph, points: Snapped) -> Floats:
    """Seconds from every point to every other (row: from, column: to); inf where there is no way,
    0 on the diagonal. For a few hundred points (one search per row, in chunks)."""
    check(graph, points)
    n, m = graph.n, len(points)
    out = np.full((m, m), np.inf)
    on = np.flatnonzero(points.on)
    if len(on):
        origins = _virtual_arcs(graph, points, n, outgoing=True, reverse=False)
        ends = _virtual_arcs(graph, points, n + m, outgoing=False, reverse=False)
        a = np.repeat(on, len(on))
        b = np.tile(on, len(on))
        seconds, metres = _direct(graph, points.take(a), points.take(b))
        direct = make_arcs(n + a, n + m + b, seconds, np.nan_to_num(metres), np.full(len(a), -1, dtype=np.intp))
        arcs = join_arcs(graph.forward, make_arcs(*(np.concatenate([getattr(x, f) for x in (origins, ends, direct)])
                                                    for f in ("row", "col", "time", "length", "edge"))))
        matrix = arcs.matrix(n + 2 * m)
        for start in range(0, len(on), OD_CHUNK):
            chunk = on[start:start + OD_CHUNK]
            d = dijkstra(matrix, directed=True, indices=n + chunk)
            out[chunk[:, None], on[None, :]] = d[:, n + m + on]
    np.fill_diagonal(out, 0.0)
    return out


@dataclass(frozen=True)
class Trip:
    """One trip: seconds, road metres, its line (metric CRS, home → school, access legs included)
    and the database ids of the edges it uses, in order."""

    time_s: float
    distance_m: float
    coords: Floats
    edge_ids: list[int]


def trip_path(graph: Graph, a: Snapped, b: Snapped) -> Trip | None:
    """The fastest trip from a (one point) to b (one point) as a line along the roads; None when
    either is off the network or b cannot be reached from a."""
    check(graph, a, b)
    if not (a.on[0] and b.on[0]):
        return None
    n = graph.n
    origin, end = n, n + 1
    start_arcs = _virtual_arcs(graph, a, origin, outgoing=True, reverse=False)
    end_arcs = _virtual_arcs(graph, b, end, outgoing=False, reverse=False)
    seconds, metres = _direct(graph, a, b)
    direct = make_arcs(np.array([origin]), np.array([end]), seconds, np.nan_to_num(metres),
                       np.array([-1], dtype=np.intp))
    extra = make_arcs(*(np.concatenate([getattr(x, f) for x in (start_arcs, end_arcs, direct)])
                        for f in ("row", "col", "time", "length", "edge")))
    arcs = join_arcs(graph.forward, extra)
    d, pred = dijkstra(arcs.matrix(n + 2), directed=True, indices=origin, return_predecessors=True)
    if not np.isfinite(d[end]):
        return None
    nodes = [end]
    while nodes[-1] != origin:
        nodes.append(int(pred[nodes[-1]]))
    nodes.reverse()
    lines, edges = graph.edges.lines, graph.edges
    ea, eb = int(a.edge[0]), int(b.edge[0])
    la, lb = float(edges.length_m[ea]), float(edges.length_m[eb])
    pieces: list[Floats] = [a.xy[:1]]
    used: list[int] = []
    if len(nodes) == 2:  # along the one edge both lie on
        pieces.append(_piece(lines[ea], float(a.frac[0]), float(b.frac[0])))
        used.append(int(edges.ids[ea]))
        metres_total = float(metres[0])
    else:
        first = nodes[1]
        pieces.append(_piece(lines[ea], float(a.frac[0]), 0.0 if first == edges.source[ea] else 1.0))
        used.append(int(edges.ids[ea]))
        metres_total = float(a.access_m[0]) + la * (a.frac[0] if first == edges.source[ea] else 1 - a.frac[0])
        keys = arcs.keys
        for u, v in zip(nodes[1:-2], nodes[2:-1], strict=True):
            e = int(arcs.edge[np.searchsorted(keys, np.int64(u) * KEY + v)])
            line = np.asarray(lines[e].coords)
            pieces.append(line if edges.source[e] == u else line[::-1])
            used.append(int(edges.ids[e]))
            metres_total += float(edges.length_m[e])
        last = nodes[-2]
        pieces.append(_piece(lines[eb], 0.0 if last == edges.source[eb] else 1.0, float(b.frac[0])))
        used.append(int(edges.ids[eb]))
        metres_total += float(b.access_m[0]) + lb * (b.frac[0] if last == edges.source[eb] else 1 - b.frac[0])
    pieces.append(b.xy[:1])
    coords = np.concatenate(pieces)
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(np.abs(np.diff(coords, axis=0)) > 1e-9, axis=1)
    dedup: list[int] = [e for i, e in enumerate(used) if i == 0 or used[i - 1] != e]
    return Trip(float(d[end]), metres_total, coords[keep], dedup)


def _piece(line: shapely.LineString, start: float, end: float) -> Floats:
    """The part of a line between two fractions of its length, in travel order (reversed if end < start)."""
    from shapely.ops import substring

    length = line.length
    part = substring(line, start * length, end * length)
    coords = np.asarray(part.coords) if not part.is_empty else np.empty((0, 2))
    if part.geom_type == "Point":
        coords = np.asarray(part.coords)
    return coords[:, :2]

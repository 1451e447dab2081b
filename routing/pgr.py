"""The same queries through pgRouting: the independent check of the engine (tests, benchmark).

pgRouting reads the very edges the engine reads — `routing.sql.edges_sql(mode)`, the same text —
and searches them itself (pgr_dijkstra, pgr_drivingDistance with equicost). Points enter as virtual
vertices, exactly as a trip is defined (routing.graph): a point snapped at fraction f of edge e
(source s → target t) leaves towards s in f·reverse_cost and towards t in (1-f)·cost (no arc where
that direction is barred), and arrives from s in f·cost and from t in (1-f)·reverse_cost; two points
on the same edge are also joined directly; every arc at a point carries its walked access leg.
Only the snapping (which edge, which fraction, how far) is taken from the engine: the network part —
the thing that can go wrong at scale — is pgRouting's own. The arcs are written in SQL here, not
taken from the engine's arrays.

The points go into a temporary table, which pgRouting's queries read from the same session.
"""

from __future__ import annotations

import numpy as np
from django.db import connection, transaction
from numpy.typing import NDArray

from routing.graph import Snapped
from routing.modes import Mode
from routing.modes import mode as get_mode
from routing.sql import edges_sql

BIG = 1e12  # pgr_drivingDistance's distance limit: no limit


def _load_points(table: str, points: Snapped, walk_mps: float) -> None:
    """The points on the network into a temporary table: pid (index), database edge id, fraction,
    access seconds."""
    from routing.network import load_network

    _v, edges = load_network()
    with connection.cursor() as cursor:
        # inside an outer transaction (a test's) an earlier call's table may still be there
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMP TABLE {table} (pid bigint PRIMARY KEY, edge_id bigint, frac float8, "
                       "access_s float8) ON COMMIT DROP")
        with cursor.connection.cursor().copy(f"COPY {table} (pid, edge_id, frac, access_s) FROM STDIN") as copy:
            for i in np.flatnonzero(points.on):
                copy.write_row((int(i), int(edges.ids[points.edge[i]]), float(points.frac[i]),
                                float(points.access_m[i]) / walk_mps))
        cursor.execute(f"ANALYZE {table}")


# Seconds along part of an edge: nothing to travel is free even against a one-way street.
def _part(frac: str, cost: str) -> str:
    return f"(CASE WHEN ({frac}) <= 0 THEN 0 WHEN {cost} < 0 THEN NULL ELSE ({frac}) * {cost} END)"


def _network(mode: Mode, *, reversed_: bool) -> str:
    base = edges_sql(mode)
    if reversed_:  # every arc turned round: searching from the destinations
        return f"SELECT id, target AS source, source AS target, cost, reverse_cost FROM ({base}) b"
    return f"SELECT id, source, target, cost, reverse_cost FROM ({base}) b"


def _leaving(points: str, node0: str, edge0: str, mode: Mode, *, reversed_: bool) -> str:
    """Arcs from each point's virtual vertex to its edge's ends (turned round if reversed_)."""
    frm, to = ("x.end_v", "x.v") if reversed_ else ("x.v", "x.end_v")
    return f"""
        SELECT {edge0} + 2 * p.pid + x.k AS id, {frm} AS source, {to} AS target, x.c AS cost, -1::float8 AS reverse_cost
        FROM {points} p JOIN ({edges_sql(mode)}) e ON e.id = p.edge_id
        CROSS JOIN LATERAL (VALUES
            (0, {node0} + p.pid, e.source, p.access_s + {_part('p.frac', 'e.reverse_cost')}),
            (1, {node0} + p.pid, e.target, p.access_s + {_part('1 - p.frac', 'e.cost')})) x(k, v, end_v, c)
        WHERE x.c IS NOT NULL"""


def _arriving(points: str, node0: str, edge0: str, mode: Mode, *, reversed_: bool) -> str:
    """Arcs from each point's edge ends to its virtual vertex (turned round if reversed_)."""
    frm, to = ("x.v", "x.end_v") if reversed_ else ("x.end_v", "x.v")
    return f"""
        SELECT {edge0} + 2 * p.pid + x.k AS id, {frm} AS source, {to} AS target, x.c AS cost, -1::float8 AS reverse_cost
        FROM {points} p JOIN ({edges_sql(mode)}) e ON e.id = p.edge_id
        CROSS JOIN LATERAL (VALUES
            (0, {node0} + p.pid, e.source, p.access_s + {_part('p.frac', 'e.cost')}),
            (1, {node0} + p.pid, e.target, p.access_s + {_part('1 - p.frac', 'e.reverse_cost')})) x(k, v, end_v, c)
        WHERE x.c IS NOT NULL"""


def _direct(a: str, a0: str, b: str, b0: str, edge0: str, n_b: int, mode: Mode, *, reversed_: bool,
            paired: bool = False) -> str:
    """Arcs between points of a and b that share an edge, along it (paired: only a[i] → b[i])."""
    frm, to = (f"{b0} + q.pid", f"{a0} + p.pid") if reversed_ else (f"{a0} + p.pid", f"{b0} + q.pid")
    along = (f"(CASE WHEN q.frac >= p.frac THEN {_part('q.frac - p.frac', 'e.cost')} "
             f"ELSE {_part('p.frac - q.frac', 'e.reverse_cost')} END)")
    return f"""
        SELECT {edge0} + p.pid * {n_b} + q.pid AS id, {frm} AS source, {to} AS target,
               p.access_s + q.access_s + {along} AS cost, -1::float8 AS reverse_cost
        FROM {a} p JOIN {b} q ON q.edge_id = p.edge_id{" AND q.pid = p.pid" if paired else ""}
        JOIN ({edges_sql(mode)}) e ON e.id = p.edge_id
        WHERE {along} IS NOT NULL"""


def _offsets() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE((SELECT max(id) FROM gridmap_roadvertex), 0) + 1, "
                       "COALESCE((SELECT max(id) FROM gridmap_roadedge), 0) + 1")
        node0, edge0 = cursor.fetchone()
    return int(node0), int(edge0)


def trip_times(origins: Snapped, destinations: Snapped, mode: str | Mode = "walk") -> NDArray[np.float64]:
    """Seconds of the trip from origins[i] to destinations[i], by pgr_dijkstra (inf: no way)."""
    m = get_mode(mode)
    out = np.full(len(origins), np.inf)
    node0, edge0 = _offsets()
    n = len(origins)
    b0 = node0 + n  # destination vertices follow the origin vertices
    e_leave, e_arrive, e_direct = edge0, edge0 + 2 * n, edge0 + 4 * n
    with transaction.atomic():
        _load_points("pgr_from", origins, m.walk_mps)
        _load_points("pgr_to", destinations, m.walk_mps)
        edges = " UNION ALL ".join([
            _network(m, reversed_=False),
            _leaving("pgr_from", str(node0), str(e_leave), m, reversed_=False),
            _arriving("pgr_to", str(b0), str(e_arrive), m, reversed_=False),
            _direct("pgr_from", str(node0), "pgr_to", str(b0), str(e_direct), n, m, reversed_=False, paired=True),
        ])
        pairs = f"SELECT {node0} + p.pid AS source, {b0} + p.pid AS target FROM pgr_from p JOIN pgr_to q USING (pid)"
        with connection.cursor() as cursor:
            cursor.execute("SELECT start_vid - %s, agg_cost FROM pgr_dijkstra(%s, %s, directed := true) "
                           "WHERE edge = -1", [node0, edges, pairs])
            for i, seconds in cursor.fetchall():
                out[int(i)] = seconds
    return out


def nearest_facility(origins: Snapped, facilities: Snapped, mode: str | Mode = "walk", *,
                     equicost: bool = False) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Per origin, seconds to the nearest facility and its index, by pgr_drivingDistance from all
    facilities over the reversed network.

    equicost=False: pgRouting searches from every facility and the minimum per vertex is taken in
    SQL (exact). equicost=True: pgRouting's own one-pass assignment, which in pgRouting 3.4 is not
    always the nearest start (see tests/test_routing_demo.py, which measures how often).
    """
    m = get_mode(mode)
    node0, edge0 = _offsets()
    k = len(facilities)
    o0 = node0 + k  # origin vertices follow the facility vertices
    time = np.full(len(origins), np.inf)
    which = np.full(len(origins), -1, dtype=np.intp)
    with transaction.atomic():
        _load_points("pgr_fac", facilities, m.walk_mps)
        _load_points("pgr_org", origins, m.walk_mps)
        e_arrive, e_leave, e_direct = edge0, edge0 + 2 * k, edge0 + 2 * k + 2 * len(origins)
        edges = " UNION ALL ".join([
            _network(m, reversed_=True),
            _arriving("pgr_fac", str(node0), str(e_arrive), m, reversed_=True),
            _leaving("pgr_org", str(o0), str(e_leave), m, reversed_=True),
            _direct("pgr_org", str(o0), "pgr_fac", str(node0), str(e_direct), k, m, reversed_=True),
        ])
        with connection.cursor() as cursor:
            cursor.execute("SELECT array_agg(%s + pid) FROM pgr_fac", [node0])
            starts = cursor.fetchone()[0] or []
            if not starts:
                return time, which
            cursor.execute(
                "SELECT DISTINCT ON (d.node) d.node - %s, d.agg_cost, d.from_v - %s "
                "FROM pgr_drivingDistance(%s, %s::bigint[], %s, directed := true, equicost := %s) d "
                "WHERE d.node >= %s ORDER BY d.node, d.agg_cost, d.from_v",
                [o0, node0, edges, starts, BIG, equicost, o0])
            for i, seconds, j in cursor.fetchall():
                time[int(i)] = seconds
                which[int(i)] = int(j)
    return time, which


def snap_in_database(lonlat: NDArray[np.float64]) -> int:
    """Snapping done the database way, for the benchmark's pgRouting pipeline: each point's nearest
    joinable edge by PostGIS's index (`<->`), with the fraction along it and the distance in metres.
    (No stray-piece rule: a baseline for time, not a second opinion.) Returns how many points found
    an edge within the access cap."""
    from routing.modes import NO_ACCESS, access_max_m

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pgr_snap")
        cursor.execute("CREATE TEMP TABLE pgr_snap (i bigint, g geometry(Point, 4326)) ON COMMIT DROP")
        with cursor.connection.cursor().copy("COPY pgr_snap (i, g) FROM STDIN") as copy:
            for i, (x, y) in enumerate(lonlat):
                copy.write_row((i, f"SRID=4326;POINT({x} {y})"))
        cursor.execute(
            "SELECT count(*) FROM (SELECT p.i, e.id, ST_LineLocatePoint(e.geom, p.g) AS frac, "
            "ST_Distance(e.geom::geography, p.g::geography) AS metres FROM pgr_snap p CROSS JOIN LATERAL "
            "(SELECT e.id, e.geom FROM gridmap_roadedge e JOIN gridmap_road r ON r.id = e.road_id "
            " WHERE r.highway <> ALL(%s) ORDER BY e.geom <-> p.g LIMIT 1) e) s WHERE s.metres <= %s",
            [list(NO_ACCESS), access_max_m()])
        return int(cursor.fetchone()[0])

"""The routable edges, as SQL: the one place both the engine and pgRouting read them from.

The road importer (importers/roads.py) writes gridmap_roadedge: one row per road piece between two
vertices, its geodesic length, and the car travel times both ways, where -1 means "no travel this
way" (one-way roads; pgRouting's own convention: a negative cost is no edge). A mode's travel time
on an edge is its length at the mode's speed for the road's class; one-way rules bind the modes that
respect them. `edges_sql(mode)` says this once, in SQL: the engine loads its graph by running it,
and the pgRouting check (routing/pgr.py) hands the very same text to pgr_dijkstra and
pgr_drivingDistance — so the two can never drift apart.
"""

from __future__ import annotations

from django.db import connection
from psycopg import sql

from routing.modes import Mode

# Mode-independent: what the engine needs to snap points and draw paths (metres, WKB lines, class).
GEOMETRY_SQL = ("SELECT e.id, e.source_id, e.target_id, e.length_m, ST_AsBinary(e.geom), r.highway "
                "FROM gridmap_roadedge e JOIN gridmap_road r ON r.id = e.road_id ORDER BY e.id")


def edges_sql(mode: Mode) -> str:
    """`id, source, target, cost, reverse_cost` in seconds for `mode`, -1 where it may not travel.

    Classes the mode may not use (speed 0, or unknown with no default) are left out. Speeds are
    literals (psycopg-quoted), so the text is self-contained, as pgRouting's functions want it.
    """
    speeds = [(name, float(mode.speed(name) or 0.0)) for name in sorted(mode.kmh)]
    default = mode.default_kmh if mode.default_kmh and mode.default_kmh > 0 else None
    rows = sql.SQL(", ").join(sql.SQL("({}, {}::float8)").format(sql.Literal(n), sql.Literal(k))
                              for n, k in speeds) if speeds else sql.SQL("(NULL, NULL::float8)")
    query = sql.SQL(
        "SELECT e.id, e.source_id AS source, e.target_id AS target, "
        "CASE WHEN e.cost_s < 0 AND {oneway} THEN -1 ELSE e.length_m * 3.6 / s.kmh END AS cost, "
        "CASE WHEN e.reverse_cost_s < 0 AND {oneway} THEN -1 ELSE e.length_m * 3.6 / s.kmh END AS reverse_cost "
        "FROM gridmap_roadedge e JOIN gridmap_road r ON r.id = e.road_id "
        "LEFT JOIN (VALUES {rows}) v(highway, kmh) ON v.highway = r.highway "
        "CROSS JOIN LATERAL (SELECT COALESCE(v.kmh, {default}::float8) AS kmh) s "
        "WHERE s.kmh > 0 ORDER BY e.id"
    ).format(oneway=sql.Literal(mode.oneway), rows=rows, default=sql.Literal(default))
    connection.ensure_connection()
    return query.as_string(connection.connection)

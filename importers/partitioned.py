"""A copy of the child-level tables partitioned by county code: what a distributed PostgreSQL would
do to them, proven on one server (docs/scaling.md, "Beyond one server").

`partition_province` (the command) builds, beside the app's tables of a scratch province database,
`province_child` and `province_childstatuschange`: the same columns plus `county_code` (the first six
digits of the child's village group), declaratively partitioned BY LIST (county_code), one partition
per county, primary keys (county_code, id). Citus would distribute the same tables by the same column
(`create_distributed_table('…', 'county_code', colocate_with => …)`): a partition here is a shard
group there.

Why a copy and not the app's schema: an installation serves one county (GRIDMAP_COUNTY_CODE; county
logins see the whole database), where a partition key buys nothing — ~100,000 children per county
are served by the indexes — and a composite primary key (county_code, id) would change every foreign
key to a child (Django 5.2 has no foreign keys to composite keys). The copy shows what the
distribution key asks of the queries: a township's queries prune to one partition only when they
carry `county_code = …` as a constant; joined through the area code alone (what the app does today)
the planner must visit every partition. `TOWNSHIP_QUERIES` are the hot child-level queries written
both ways; the tests check that both give the same rows and that the keyed form scans one partition.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.db import connection

from gridmap.models import Area, AreaLevel

CHILD = "province_child"
HISTORY = "province_childstatuschange"
CODE = re.compile(r"^\d{6}$")

# {table} is the child table (province_child or gridmap_child), {history} the status history;
# {key} is "" or the partition key predicates. Parameters: township (9 digits), county (6), on (a date).
TOWNSHIP_QUERIES = {
    # The grid page's counts per cell (gridmap.grid.cells).
    "grid counts": """
        SELECT c.group_id, count(*) AS children,
               count(*) FILTER (WHERE c.status IN ('suspected', 'dropped_out')) AS off_school
        FROM {table} c JOIN gridmap_area g ON g.id = c.group_id
        WHERE g.code LIKE %(township)s || '%%' {key_child}
        GROUP BY c.group_id ORDER BY c.group_id""",
    # Each child's status at the end of a day (gridmap.reports.snapshot: the township report, hotspots).
    "status snapshot": """
        SELECT DISTINCT ON (h.child_id) h.child_id, h.to_status
        FROM {history} h JOIN {table} c ON c.id = h.child_id {join_key}
        JOIN gridmap_area g ON g.id = c.group_id
        WHERE g.code LIKE %(township)s || '%%' AND h.date <= %(on)s {key_child} {key_history}
        ORDER BY h.child_id, h.date DESC, h.recorded_at DESC, h.id DESC""",
}


def query(name: str, partitioned: bool, keyed: bool = True) -> str:
    """One of TOWNSHIP_QUERIES on the app's tables, or on the partitioned copy with or without the key."""
    on_copy = partitioned and keyed
    return TOWNSHIP_QUERIES[name].format(
        table=CHILD if partitioned else "gridmap_child",
        history=HISTORY if partitioned else "gridmap_childstatuschange",
        key_child="AND c.county_code = %(county)s" if on_copy else "",
        key_history="AND h.county_code = %(county)s" if on_copy else "",
        join_key="AND c.county_code = h.county_code" if on_copy else "")


def build(counties: list[str] | None = None) -> dict[str, int]:
    """(Re)build the partitioned copy for these counties (default: every county in the database)."""
    codes = counties if counties is not None else list(
        Area.objects.filter(level=AreaLevel.COUNTY).order_by("code").values_list("code", flat=True))
    bad = [c for c in codes if not CODE.match(c)]
    if bad:
        raise ValueError(f"not county codes: {bad}")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {HISTORY}, {CHILD}")
        cursor.execute(f"CREATE TABLE {CHILD} (LIKE gridmap_child INCLUDING DEFAULTS, "
                       "county_code varchar(6) NOT NULL) PARTITION BY LIST (county_code)")
        cursor.execute(f"CREATE TABLE {HISTORY} (LIKE gridmap_childstatuschange INCLUDING DEFAULTS, "
                       "county_code varchar(6) NOT NULL) PARTITION BY LIST (county_code)")
        for code in codes:  # codes matched \d{6} above: safe in a name and a literal
            cursor.execute(f"CREATE TABLE {CHILD}_{code} PARTITION OF {CHILD} FOR VALUES IN ('{code}')")
            cursor.execute(f"CREATE TABLE {HISTORY}_{code} PARTITION OF {HISTORY} FOR VALUES IN ('{code}')")
        keep = codes or [""]
        cursor.execute(f"INSERT INTO {CHILD} SELECT c.*, left(g.code, 6) FROM gridmap_child c "
                       "JOIN gridmap_area g ON g.id = c.group_id WHERE left(g.code, 6) = ANY(%s)", [keep])
        rows_child = cursor.rowcount
        cursor.execute(f"INSERT INTO {HISTORY} SELECT h.*, c.county_code FROM gridmap_childstatuschange h "
                       f"JOIN {CHILD} c ON c.id = h.child_id")
        rows_history = cursor.rowcount
        # Primary keys must hold the partition key; indexes are created on every partition.
        cursor.execute(f"ALTER TABLE {CHILD} ADD PRIMARY KEY (county_code, id)")
        cursor.execute(f"CREATE INDEX {CHILD}_group ON {CHILD} (group_id)")
        cursor.execute(f"ALTER TABLE {HISTORY} ADD PRIMARY KEY (county_code, id)")
        cursor.execute(f"CREATE INDEX {HISTORY}_child ON {HISTORY} (child_id, date)")
        cursor.execute(f"ANALYZE {CHILD}, {HISTORY}")
    return {"counties": len(codes), "children": rows_child, "history": rows_history}


def run(sql: str, township: str, on: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"township": township, "county": township[:6], "on": on})
        return list(cursor.fetchall())


def explain(sql: str, township: str, on: Any, analyze: bool = False) -> dict[str, Any]:
    """The plan as JSON (EXPLAIN (FORMAT JSON) [ANALYZE])."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({'ANALYZE, ' if analyze else ''}FORMAT JSON) {sql}",
                       {"township": township, "county": township[:6], "on": on})
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]  # type: ignore[no-any-return]


def relations(plan: dict[str, Any]) -> set[str]:
    """Every table a plan reads (its scan nodes' relation names)."""
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return found


def partitions_read(plan: dict[str, Any]) -> set[str]:
    return {r for r in relations(plan) if r.startswith((f"{CHILD}_", f"{HISTORY}_"))}

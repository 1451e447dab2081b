"""generate_province on three tiny counties, and the partition-pruning claim of docs/scaling.md.

Layout, codes and the network are checked against what is computed here independently: shapely for
overlaps (and PostGIS's own areas in m²), the codes' prefixes and lengths written out, networkx for
the network's connectedness; pruning from PostgreSQL's own EXPLAIN.
"""

from __future__ import annotations

from datetime import date

import networkx as nx
import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from gridmap.models import Area, AreaLevel, Child, Road, RoadEdge, School
from importers import partitioned, province

pytestmark = pytest.mark.django_db
TINY = province.ProvinceParams(counties=3, seed=11, townships=2, villages_per_township=3, children=150,
                               as_of=date(2026, 11, 22))


def test_three_counties_side_by_side_with_unique_hierarchical_codes_and_one_network(monkeypatch):
    rebuilds = []
    real = province.rebuild_network
    monkeypatch.setattr(province, "rebuild_network", lambda *a, **k: rebuilds.append(1) or real(*a, **k))
    done = province.write_counties(TINY, alone=False)  # the test database also holds the demo county
    assert [d.code for d in done] == ["980121", "980122", "980123"] and not any(d.skipped for d in done)
    roads, edges = province.write_roads(TINY)
    assert rebuilds == [1]  # the network is built once for the province, not once per county

    counties = list(Area.objects.filter(level=AreaLevel.COUNTY, code__startswith="98").order_by("code"))
    assert [c.code for c in counties] == ["980121", "980122", "980123"]
    # no two counties overlap (shapely on the stored boundaries; PostGIS's geodesic area agrees)
    shapes = [shapely.from_wkb(bytes(c.geom.wkb)) for c in counties]
    for i in range(3):
        for j in range(i + 1, 3):
            assert shapes[i].intersection(shapes[j]).area < 1e-12
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0) "
                       "FROM gridmap_area a JOIN gridmap_area b ON a.code < b.code "
                       "WHERE a.level = 'county' AND b.level = 'county' AND a.code LIKE '98%%' AND b.code LIKE '98%%'")
        assert cursor.fetchone()[0] < 1.0  # m²
    # ... but they are neighbours: laid side by side, not at one spot or far apart
    assert sum(shapes[i].distance(shapes[j]) < 1e-9 for i in range(3) for j in range(i + 1, 3)) >= 2
    assert len({(round(s.centroid.x, 2), round(s.centroid.y, 2)) for s in shapes}) == 3

    # codes: hierarchical (prefix of the parent, 6/9/12/15 digits) and unique
    areas = list(Area.objects.filter(code__startswith="98").values_list("code", "level", "parent__code"))
    lengths = {"county": 6, "township": 9, "village": 12, "group": 15}
    assert len({a[0] for a in areas}) == len(areas)
    for code, level, parent in areas:
        assert len(code) == lengths[level] and code.isdigit()
        assert (parent is None) == (level == "county") and (parent is None or code.startswith(parent))
    schools = list(School.objects.filter(township__code__startswith="98").values_list("code", "township__code"))
    assert len({s for s, _t in schools}) == len(schools) > 6
    assert all(len(s) == 10 and s.startswith("2" + t[:6]) for s, t in schools)
    kids = Child.objects.filter(group__code__startswith="98")
    assert kids.count() == 450 and kids.values("id_hash").distinct().count() == 450

    # the network: every county's roads and the links between county seats, in one piece (networkx)
    ours = RoadEdge.objects.filter(road__source__contains=TINY.signature)
    assert Road.objects.filter(source__contains=TINY.signature).count() == roads
    assert ours.count() == roads  # straight two-point roads: one edge each
    g = nx.Graph(list(ours.values_list("source_id", "target_id")))
    assert nx.is_connected(g)
    assert edges == RoadEdge.objects.count()  # the one rebuild covered every road, the demo's too

    # a restart writes nothing again; another province's arguments are refused
    again = province.write_counties(TINY, alone=False)
    assert all(d.skipped for d in again)
    other = province.ProvinceParams(counties=3, seed=12, townships=2, villages_per_township=3, children=150)
    with pytest.raises(province.ProvinceError):
        province.write_counties(other, alone=False)
    with pytest.raises(province.ProvinceError):  # the test database holds the demo county: not a scratch one
        province.write_counties(TINY)


def test_the_command_never_writes_into_the_apps_database(settings):
    with pytest.raises(CommandError):
        call_command("generate_province", counties=1, database=settings.DATABASES["default"]["NAME"])
    with pytest.raises(CommandError):
        call_command("generate_province", counties=1, database="bad name; drop")


def test_a_townships_queries_read_one_partition_and_give_the_apps_rows():
    params = province.ProvinceParams(counties=2, seed=13, townships=2, villages_per_township=3, children=200,
                                     as_of=date(2026, 11, 22))
    province.write_counties(params, alone=False)
    counties = ["330783", "980121", "980122"]
    built = partitioned.build(counties)
    assert built["children"] == Child.objects.filter(group__code__regex=r"^(330783|98012[12])").count()
    township = "980122101"
    on = date(2026, 11, 22)
    for name in partitioned.TOWNSHIP_QUERIES:
        app = partitioned.run(partitioned.query(name, partitioned=False), township, on)
        keyed = partitioned.run(partitioned.query(name, partitioned=True), township, on)
        assert keyed == app and len(app) > 5
        plan = partitioned.explain(partitioned.query(name, partitioned=True), township, on)
        read = partitioned.partitions_read(plan)
        assert read and all(r.endswith("_980122") for r in read)
        # without the key the planner cannot prune: every county's partition is read
        unkeyed = partitioned.partitions_read(
            partitioned.explain(partitioned.query(name, partitioned=True, keyed=False), township, on))
        assert {r.rsplit("_", 1)[1] for r in unkeyed} == set(counties)

"""The engine on the demo county against independent computations: pgRouting (pgr_dijkstra,
pgr_drivingDistance) on the very same edges, networkx for the coverage counts, PostGIS for the
snapping. Nothing here is compared with what the engine printed before.
"""

from __future__ import annotations

import json
from datetime import date

import networkx as nx
import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from gaps import compute
from gaps.norms import within
from gridmap.models import Area, RoadEdge, School, SchoolStatus
from routing import engine, network, pgr
from routing.modes import mode as get_mode
from routing.sql import edges_sql

pytestmark = pytest.mark.django_db
COUNTY = "330783"


def demo_points():
    from gridmap.models import Child

    homes = np.array([(p.x, p.y) for p in Child.objects.filter(home__isnull=False, group__code__startswith=COUNTY)
                      .order_by("pk").values_list("home", flat=True)])
    schools = list(School.objects.filter(township__code__startswith=COUNTY, status=SchoolStatus.OPEN).order_by("pk"))
    return homes, schools, np.array([(s.location.x, s.location.y) for s in schools])


def test_demo_county_has_its_network():
    assert RoadEdge.objects.count() > 7000  # built at load time from the 3,129 OSM ways
    assert network.version() > 0


def test_generated_county_gets_its_network():
    from django.core.management import call_command

    call_command("generate_county", townships=2, villages_per_township=3, children=200, seed=7, verbosity=0)
    synthetic = RoadEdge.objects.filter(road__source__startswith="synthetic (generate_county seed 7)")
    assert synthetic.count() >= 7  # the village roads and the road between the seats, split at junctions
    cov = compute.compute(Area.objects.get(code="990007"), date.today())
    assert len(cov) > 100
    # its roads join every village to its seat and the seats to each other: one network, so every
    # home near a road reaches a school over it, and the others are reported off the network
    assert np.isfinite(cov.nearest_s).mean() > 0.5
    assert not cov.unreachable.any()
    assert (np.isfinite(cov.nearest_s) | cov.off_network).all()


def test_grid_page_offers_the_layer_without_embedding_it():
    admin = get_user_model().objects.create_superuser("grid-admin", "", "pw-long-enough-1")
    client = Client()
    client.force_login(admin)
    html = client.get("/grid/330783108/").content.decode()
    assert "gmCoverage.attach" in html and "/coverage/330783108/layer.json" in html
    assert "gaps/coverage.js" in html
    i = html.find('"kind": "cell"')
    assert i < 0, html[i - 300:i + 100]
    assert json.dumps("覆盖缺口")[1:-1] in html  # the layer control's names, in Chinese (as folium escapes them)


@pytest.mark.parametrize("mode", ["walk", "bus"])
def test_250_trips_equal_pgr_dijkstra_to_the_second(mode):
    homes, _schools, places = demo_points()
    rng = np.random.default_rng(13)
    h = engine.snap(homes, mode)
    s = engine.snap(places, mode)
    origins = rng.choice(np.flatnonzero(h.on), 250, replace=False)
    targets = rng.choice(np.flatnonzero(s.on), 250)
    a, b = h.take(origins), s.take(targets)
    mine = engine.times_to_each(a, b, np.arange(250), mode).time_s
    theirs = pgr.trip_times(a, b, mode)
    both = np.isfinite(mine) & np.isfinite(theirs)
    assert (np.isfinite(mine) == np.isfinite(theirs)).all()
    assert both.sum() >= 200
    diff = np.abs(mine[both] - theirs[both])
    print(f"{mode}: {both.sum()} trips, max |engine - pgr_dijkstra| = {diff.max():.2e} s")
    assert (np.round(mine[both]) == np.round(theirs[both])).all() and diff.max() < 1e-3


@pytest.mark.parametrize("mode", ["walk", "bus"])
def test_nearest_school_equals_pgr_driving_distance(mode):
    homes, _schools, places = demo_points()
    h, s = engine.snap(homes, mode), engine.snap(places, mode)
    mine = engine.nearest_facility(h, s, mode)
    # exact: pgRouting searches from every school, the minimum per home is taken in SQL
    t_all, j_all = pgr.nearest_facility(h, s, mode, equicost=False)
    ok = np.isfinite(mine.time_s)
    assert (ok == np.isfinite(t_all)).all()
    assert np.abs(mine.time_s[ok] - t_all[ok]).max() < 1e-6
    differ = ok & (mine.facility != j_all)
    if differ.any():  # only ties: pgRouting's school is exactly as near as the engine's
        tie = engine.times_to_each(h.take(np.flatnonzero(differ)), s, j_all[differ], mode).time_s
        assert np.abs(tie - mine.time_s[differ]).max() < 1e-6
    # pgRouting's one-pass equicost: never better than the engine, and the same school wherever it
    # found the true minimum (in pgRouting 3.4 it misses it for a few per cent of homes)
    t_eq, j_eq = pgr.nearest_facility(h, s, mode, equicost=True)
    both = ok & np.isfinite(t_eq)
    assert (t_eq[both] >= mine.time_s[both] - 1e-6).all()
    with np.errstate(invalid="ignore"):  # inf - inf where neither reaches a school
        exact = both & (np.abs(t_eq - mine.time_s) < 1e-6)
    same = (j_eq == mine.facility) | (j_eq == j_all)
    assert same[exact].all()
    print(f"{mode}: {ok.sum()} homes; equicost equal for {exact.sum()}, worse for {(both & ~exact).sum()}")


def test_snapping_agrees_with_postgis():
    homes, _s, _p = demo_points()
    g = network.graph("walk")
    h = engine.snap(homes[::10], "walk")
    on = np.flatnonzero(h.on)
    main_ids = [int(i) for i in g.edges.ids[g.main]]
    with connection.cursor() as cursor:
        for i in on[:150]:
            lon, lat = homes[::10][i]
            cursor.execute(
                "SELECT ST_Distance(e.geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography), "
                "(SELECT min(ST_Distance(m.geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)) "
                " FROM gridmap_roadedge m WHERE m.id = ANY(%s) "
                " AND ST_DWithin(m.geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, 1100)) "
                "FROM gridmap_roadedge e WHERE e.id = %s",
                [lon, lat, lon, lat, main_ids, lon, lat, int(g.edges.ids[h.edge[i]])])
            to_chosen, to_nearest_main = cursor.fetchone()
            assert h.access_m[i] == pytest.approx(to_chosen, abs=1.0, rel=2e-3)
            if to_nearest_main is not None and to_nearest_main <= 1000:
                assert to_chosen <= to_nearest_main + 1.0


def _nx_graph(mode):
    """The mode's edges as networkx reads them from the one edges query, reversed (towards schools)."""
    G = nx.DiGraph()
    with connection.cursor() as cursor:
        cursor.execute(edges_sql(get_mode(mode)))
        for _id, source, target, cost, reverse_cost in cursor.fetchall():
            for u, v, c in ((source, target, cost), (target, source, reverse_cost)):
                if c >= 0 and (not G.has_edge(v, u) or G[v][u]["w"] > c):
                    G.add_edge(v, u, w=c)  # reversed: v ← u
    return G


def _nx_nearest(mode, homes, schools):
    """Seconds from each snapped home to the nearest of the snapped schools, by networkx: the
    schools and homes join the reversed graph as nodes with their partial edges and access legs."""
    G = _nx_graph(mode).copy()
    m = get_mode(mode)
    walk = m.walk_mps
    _v, edges = network.load_network()
    with connection.cursor() as cursor:
        cursor.execute(edges_sql(m))
        cost = {r[0]: (r[3], r[4]) for r in cursor.fetchall()}

    def part(frac, c):
        return 0.0 if frac <= 0 else (None if c < 0 else frac * c)

    sources = []
    for j in np.flatnonzero(schools.on):
        e = int(schools.edge[j])
        eid, s, t = int(edges.ids[e]), int(edges.node_ids[edges.source[e]]), int(edges.node_ids[edges.target[e]])
        fwd, bwd = cost[eid]
        acc = schools.access_m[j] / walk
        node = ("school", int(j))
        for end, c in ((s, part(schools.frac[j], fwd)), (t, part(1 - schools.frac[j], bwd))):
            if c is not None:
                G.add_edge(node, end, w=c + acc)  # reversed arc: from the school back to its edge's end
        sources.append(node)
    for i in np.flatnonzero(homes.on):
        e = int(homes.edge[i])
        eid, s, t = int(edges.ids[e]), int(edges.node_ids[edges.source[e]]), int(edges.node_ids[edges.target[e]])
        fwd, bwd = cost[eid]
        acc = homes.access_m[i] / walk
        for end, c in ((s, part(homes.frac[i], bwd)), (t, part(1 - homes.frac[i], fwd))):
            if c is not None:
                G.add_edge(end, ("home", int(i)), w=c + acc)
        for j in np.flatnonzero(schools.on & (schools.edge == e)):  # along their shared edge
            d = schools.frac[j] - homes.frac[i]
            c = part(d, fwd) if d >= 0 else part(-d, bwd)
            if c is not None:
                G.add_edge(("school", int(j)), ("home", int(i)), w=c + acc + schools.access_m[j] / walk)
    if not sources:
        return np.full(len(homes), np.inf)
    dist = nx.multi_source_dijkstra_path_length(G, sources, weight="w")
    return np.array([dist.get(("home", int(i)), np.inf) for i in range(len(homes))])


def test_coverage_counts_equal_networkx():
    """The layer's per-cell counts for the county, recomputed child by child with networkx."""
    today = date.today()
    county = Area.objects.get(code=COUNTY)
    cov = compute.compute(county, today)
    meets = np.zeros(len(cov), dtype=bool)
    for norm in cov.norms:
        for g in norm.grades:
            kids = np.flatnonzero(cov.grade == g)
            if not len(kids):
                continue
            serving = [s for s in cov.schools.values()
                       if s.local and s.status == "open" and s.first_grade <= g <= s.last_grade]
            homes = engine.snap(cov.lonlat[kids], norm.mode)
            places = engine.snap(np.array([s.lonlat for s in serving]).reshape(-1, 2), norm.mode)
            ok = within(_nx_nearest(norm.mode, homes, places), norm.minutes)
            if norm.boarding:
                boarding = [s for s in serving if s.boarding]
                if boarding:
                    bh = engine.snap(cov.lonlat[kids], norm.boarding_mode)
                    bp = engine.snap(np.array([s.lonlat for s in boarding]), norm.boarding_mode)
                    ok |= within(_nx_nearest(norm.boarding_mode, bh, bp), norm.boarding_minutes)
            meets[kids] = ok
    expected = {}
    for group, gap in zip(cov.group_id, ~meets, strict=True):
        n, k = expected.get(int(group), (0, 0))
        expected[int(group)] = (n + 1, k + int(gap))
    admin = get_user_model().objects.create_superuser("cov-admin", "", "pw-long-enough-1")
    client = Client()
    client.force_login(admin)
    cells = [f["properties"] for f in client.get(f"/coverage/{COUNTY}/layer.json").json()["features"]
             if f["properties"]["kind"] == "cell"]
    by_code = dict(Area.objects.filter(pk__in=expected).values_list("code", "pk"))
    got = {by_code[c["code"]]: (c["n"], c["gap"]) for c in cells if c["code"] in by_code}
    assert got == expected
    assert sum(k for _n, k in expected.values()) == int(cov.gap.sum()) > 0

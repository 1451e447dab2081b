"""Roads into a routable pgRouting network."""


import geopandas as gpd
import numpy as np
import pytest
from django.db import connection
from pyproj import Geod

from gridmap.models import RoadEdge, RoadVertex
from importers.demo.sources import DONGYANG_DIR
from importers.roads import NOT_ROADS, RoadImportParams, _Way, build_network, import_roads

REAL = DONGYANG_DIR
GEOD = Geod(ellps="WGS84")
pytestmark = pytest.mark.django_db


def way(coords, oneway=0, highway="residential"):
    return _Way(highway, "", "", oneway, None, np.array(coords, dtype=float))


def test_dongyang_osm_network_matches_independent_figures():
    source = gpd.read_file(REAL / "osm_highways.geojson")
    routable = source[~source.highway.isin(NOT_ROADS) & (source.geom_type == "LineString")]
    expected_km = sum(GEOD.geometry_length(g) for g in routable.geometry) / 1000
    report = import_roads(RoadImportParams(REAL / "osm_highways.geojson", snap_m=0, commit=True))
    assert report.ok, report.text()
    # PROVENANCE.md measured 22 components "when joined on shared vertices" on this very file.
    assert report.counts["连通片"] == 22
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT component), sum(length_m) / 1000 FROM gridmap_roadvertex "
                       "JOIN gridmap_roadedge e ON e.source_id = gridmap_roadvertex.id")
        pgr_components, edge_km = cursor.fetchone()
    # pgRouting's pgr_connectedComponents, on the stored network, agrees with the report
    assert RoadVertex.objects.values("component").distinct().count() == 22
    assert edge_km == pytest.approx(expected_km, rel=1e-9)
    assert RoadEdge.objects.count() > len(routable)  # ways were split at junctions
    again = import_roads(RoadImportParams(REAL / "osm_highways.geojson", snap_m=0, commit=True))
    assert again.counts["无变化道路"] == len(routable) and again.counts["更新道路"] == 0


def test_split_at_shared_vertices_not_at_crossings():
    a = way([(100.000, 30.000), (100.001, 30.000), (100.002, 30.000)])
    t = way([(100.001, 30.001), (100.001, 30.000)])  # ends on a's middle vertex: a junction
    bridge = way([(100.0015, 29.999), (100.0015, 30.001)])  # crosses a with no shared vertex
    net = build_network([a, t, bridge], snap_m=0)
    assert len(net.edges) == 4  # a split in two, t, bridge
    assert len(net.components()) == 2  # the bridge is not connected


def test_dangling_end_snapped_within_tolerance_only():
    a = way([(100.000, 30.000), (100.001, 30.000), (100.002, 30.000)])
    near = way([(100.001, 30.001), (100.001, 30.00002)])  # ends ~2.2 m short of a's vertex
    assert len(build_network([a, near.__class__(**near.__dict__)], snap_m=0).components()) == 2
    net = build_network([a, near], snap_m=3)
    assert len(net.components()) == 1


def test_one_way_costs_and_routing(tmp_path):
    # A square: the east side is one-way northwards.
    path = tmp_path / "square.geojson"
    frame = gpd.GeoDataFrame(
        {"highway": ["residential", "residential", "residential", "residential"],
         "oneway": [None, "yes", None, None], "name": ["南路", "东路", "北路", "西路"]},
        geometry=gpd.GeoSeries.from_wkt([
            "LINESTRING (101.000 31.000, 101.002 31.000)", "LINESTRING (101.002 31.000, 101.002 31.002)",
            "LINESTRING (101.002 31.002, 101.000 31.002)", "LINESTRING (101.000 31.002, 101.000 31.000)"]),
        crs=4326)
    frame.to_file(path)
    report = import_roads(RoadImportParams(path, commit=True, snap_m=0))
    assert report.ok, report.text()
    east = RoadEdge.objects.get(road__name="东路")
    assert east.reverse_cost_s == -1 and east.cost_s == pytest.approx(east.length_m / (20 / 3.6))

    def vertex(x, y):
        return RoadVertex.objects.get(geom__dwithin=(f"SRID=4326;POINT({x} {y})", 1e-7)).pk

    se, ne = vertex(101.002, 31.000), vertex(101.002, 31.002)
    with connection.cursor() as cursor:
        def cost(a, b):
            cursor.execute("SELECT max(agg_cost) FROM pgr_dijkstra(%s, %s, %s, directed => true)",
                           [RoadEdge.PGR_EDGES_SQL, a, b])
            return cursor.fetchone()[0]
        north, south = cost(se, ne), cost(ne, se)
    assert north == pytest.approx(east.cost_s, rel=1e-9)
    others = RoadEdge.objects.filter(road__name__in=["南路", "北路", "西路"])
    assert south == pytest.approx(sum(e.cost_s for e in others), rel=1e-9)  # round three sides


def test_osm_xml_file(tmp_path):
    osm = tmp_path / "tiny.osm"
    osm.write_text("""<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" lat="29.30" lon="120.30" version="1"/><node id="2" lat="29.301" lon="120.30" version="1"/>
  <node id="3" lat="29.302" lon="120.301" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="测试路"/><tag k="oneway" v="yes"/></way>
</osm>""", encoding="utf-8")
    report = import_roads(RoadImportParams(osm))
    assert report.ok, report.text()
    assert report.counts["道路"] == 1 and report.counts["连通片"] == 1


def test_file_without_road_class(tmp_path):
    path = tmp_path / "lines.geojson"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=gpd.GeoSeries.from_wkt(
        ["LINESTRING (120.3 29.3, 120.31 29.3)"]), crs=4326).to_file(path)
    before = RoadEdge.objects.count()
    report = import_roads(RoadImportParams(path, commit=True))
    assert not report.ok and "找不到道路等级字段" in report.text()
    assert RoadEdge.objects.count() == before


def test_shapefile_with_chinese_class_field(tmp_path):
    path = tmp_path / "roads.shp"
    gpd.GeoDataFrame({"道路等级": ["tertiary", "tertiary"], "name": ["甲路", "乙路"]},
                     geometry=gpd.GeoSeries.from_wkt(["LINESTRING (102 32, 102.01 32)",
                                                      "LINESTRING (102.01 32, 102.01 32.01)"]),
                     crs=4326).to_file(path, encoding="GBK")  # as Chinese GIS software writes them
    report = import_roads(RoadImportParams(path))
    assert report.ok, report.text()
    assert report.counts["道路"] == 2 and report.counts["连通片"] == 1


def test_build_network_if_missing_builds_only_a_missing_network():
    from django.core.management import call_command

    from gridmap.models import Road

    assert Road.objects.exists()
    edges = RoadEdge.objects.count()
    assert edges > 0
    RoadEdge.objects.all().delete()
    call_command("build_network", if_missing=True, verbosity=0)
    assert RoadEdge.objects.count() == edges  # rebuilt, the same network
    first = set(RoadEdge.objects.values_list("pk", flat=True))
    call_command("build_network", if_missing=True, verbosity=0)
    assert set(RoadEdge.objects.values_list("pk", flat=True)) == first  # complete: left alone

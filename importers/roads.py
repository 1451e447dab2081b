"""Import roads and build the routable network for pgRouting.

Ways are split where they share a vertex (an OSM node), not where they merely cross: a bridge over a
road is no junction. Dangling ends within `snap_m` of another way's vertex are joined to it (the
near-misses of digitising). Each piece gets its geodesic length, a speed by road class and travel
times both ways (-1 backwards on one-way roads). The whole network is rebuilt from the Road table in
the same transaction, so re-importing a file gives the same network; pgr_connectedComponents labels
the pieces, and the report names every piece cut off from the main network.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from django.conf import settings
from django.contrib.gis.geos import LineString as GEOSLineString
from django.contrib.gis.geos import Point as GEOSPoint
from django.db import connection, transaction
from numpy.typing import NDArray
from pyproj import Geod, Transformer

from gridmap.models import Road, RoadEdge, RoadVertex
from importers.readers import VectorOptions, check_file, check_text, fail, plain_message, read_vector
from importers.report import ImportError_, ImportReport, ImportSource
from routing.modes import BUS_KMH

# Car / school-bus speeds (km/h) by OSM class for the stored car times (cost_s): one table, cited
# in routing/modes.py, where every mode's speeds live.
SPEED_KMH = {k: v for k, v in BUS_KMH.items() if v} | {c: 5 for c, v in BUS_KMH.items() if not v}
NOT_ROADS = {"construction", "proposed", "abandoned", "platform", "raceway", "bus_stop", "corridor",
             "elevator", "rest_area", "services"}
HIGHWAY_FIELDS = ["highway", "fclass", "class", "道路等级", "等级"]
GEOD = Geod(ellps="WGS84")


@dataclass
class RoadImportParams(ImportSource):
    path: Path
    coords: str = "wgs84"
    srid: int | None = None
    snap_m: float = 3.0
    commit: bool = False


@dataclass
class _Way:
    highway: str
    name: str
    ref: str
    oneway: int  # 1 forward only, -1 backward only, 0 both ways
    osm_id: int | None
    coords: NDArray[np.float64]  # (n, 2) lon/lat


@dataclass
class Network:
    vertices: list[tuple[float, float]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)  # way index, source, target, coords...

    def components(self) -> list[list[int]]:
        """Vertex sets of the connected pieces, largest first (union-find; pgRouting does the same
        in the database, and the tests hold the two to the same answer)."""
        parent = list(range(len(self.vertices)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for e in self.edges:
            a, b = root(e["source"]), root(e["target"])
            if a != b:
                parent[a] = b
        groups: dict[int, list[int]] = {}
        for i in range(len(self.vertices)):
            groups.setdefault(root(i), []).append(i)
        return sorted(groups.values(), key=len, reverse=True)


def _oneway(tags: dict[str, str]) -> int:
    value = (tags.get("oneway") or "").lower()
    if value in {"yes", "true", "1"} or (tags.get("junction") == "roundabout" and value != "no"):
        return 1
    return -1 if value == "-1" else 0


def _other_tags(text: Any) -> dict[str, str]:
    return dict(re.findall(r'"([^"]+)"=>"([^"]*)"', text)) if isinstance(text, str) else {}


def read_ways(params: RoadImportParams, report: ImportReport) -> list[_Way]:
    path = params.path
    if path.name.lower().endswith((".osm", ".osm.pbf", ".pbf")):
        check_file(path, {".osm", ".pbf"})
        try:
            frame = pyogrio.read_dataframe(path, layer="lines")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:  # any GDAL reading error
            raise fail(path.name, f"无法读取 OSM 文件：{plain_message(exc)}", "确认文件完整、格式正确") from exc
        extra = [_other_tags(t) for t in frame.get("other_tags", [None] * len(frame))]
        frame = frame.to_crs(4326) if frame.crs else frame.set_crs(4326)
    else:
        frame = read_vector(path, VectorOptions(srid=params.srid, coords=params.coords), report)
        extra = [{} for _ in range(len(frame))]
    columns = {c.lower(): c for c in frame.columns}
    hw = next((columns[c.lower()] for c in HIGHWAY_FIELDS if c.lower() in columns), None)
    if hw is None:
        raise fail(path.name, f"找不到道路等级字段（试过：{'、'.join(HIGHWAY_FIELDS)}）",
                   "道路须有等级字段（OSM 的 highway）")
    ways, skipped = [], Counter[str]()
    for i, rec in enumerate(frame.itertuples(index=False)):
        tags = {k: str(v) for k, v in rec._asdict().items() if isinstance(v, str)} | extra[i]
        highway = str(getattr(rec, hw) or "")
        geom = rec.geometry
        if not highway or highway in NOT_ROADS:
            skipped[highway or "（无等级）"] += 1
            continue
        if geom is None or geom.is_empty or geom.geom_type not in ("LineString", "MultiLineString"):
            skipped["非线状几何"] += 1
            continue
        osm = tags.get("osm_id") or tags.get("id") or ""
        osm_id = int(osm.split("/")[-1]) if re.fullmatch(r"(way/)?\d+", osm) else None
        if not check_text(report, i + 1, "name", tags.get("name", "")):
            continue
        for part in shapely.get_parts(geom):
            ways.append(_Way(highway, tags.get("name", ""), tags.get("ref", ""), _oneway(tags),
                             osm_id if len(shapely.get_parts(geom)) == 1 else None,
                             np.asarray(part.coords)[:, :2]))
    if skipped:
        report.warn(None, "highway", "", "未纳入路网：" + "，".join(f"{k} {v} 条" for k, v in skipped.items()),
                    "在建、规划道路等不参与路径计算")
    report.counts["道路"] = len(ways)
    return ways


def build_network(ways: list[_Way], snap_m: float) -> Network:
    key = [np.round(w.coords, 9) for w in ways]
    counts: Counter[tuple[float, float]] = Counter()
    for k in key:
        counts.update(map(tuple, k))
        counts.update([tuple(k[0]), tuple(k[-1])])  # ends are always nodes
    _snap_dangling_ends(ways, key, counts, snap_m)
    net = Network()
    index: dict[tuple[float, float], int] = {}

    def vertex(xy: tuple[float, float]) -> int:
        if xy not in index:
            index[xy] = len(net.vertices)
            net.vertices.append(xy)
        return index[xy]

    for wi, (w, k) in enumerate(zip(ways, key, strict=True)):
        cut = [0] + [i for i in range(1, len(k) - 1) if counts[tuple(k[i])] >= 2] + [len(k) - 1]
        for a, b in zip(cut, cut[1:], strict=False):
            piece = w.coords[a:b + 1]
            if len(piece) < 2 or (b - a == 1 and np.array_equal(k[a], k[b])):
                continue
            length = GEOD.line_length(piece[:, 0], piece[:, 1])
            speed = SPEED_KMH.get(w.highway, 20)
            cost = length / (speed / 3.6)
            net.edges.append(dict(way=wi, source=vertex(tuple(k[a])), target=vertex(tuple(k[b])),
                                  coords=piece, length_m=length, speed_kmh=speed,
                                  cost_s=-1.0 if w.oneway == -1 else cost,
                                  reverse_cost_s=-1.0 if w.oneway == 1 else cost))
    return net


def _snap_dangling_ends(ways: list[_Way], key: list[Any], counts: Counter[tuple[float, float]],
                        snap_m: float) -> None:
    """Join an end used by one way only to the nearest vertex of another way within snap_m."""
    if snap_m <= 0 or not ways:
        return
    to_m = Transformer.from_crs(4326, settings.GRIDMAP_METRIC_SRID, always_xy=True)
    owner = np.concatenate([np.full(len(k), i) for i, k in enumerate(key)])
    allxy = np.concatenate(key)
    mx, my = to_m.transform(allxy[:, 0], allxy[:, 1])
    tree = shapely.STRtree(shapely.points(mx, my))
    for wi, k in enumerate(key):
        for end in (0, len(k) - 1):
            if counts[tuple(k[end])] > 2:  # an end counts itself twice; more means it is shared
                continue
            ex, ey = to_m.transform(k[end][0], k[end][1])
            hits = tree.query(shapely.Point(ex, ey).buffer(snap_m))
            hits = [h for h in hits if owner[h] != wi]
            if not hits:
                continue
            best = min(hits, key=lambda h: (mx[h] - ex) ** 2 + (my[h] - ey) ** 2)
            if (mx[best] - ex) ** 2 + (my[best] - ey) ** 2 > snap_m ** 2:
                continue
            old = tuple(k[end])
            k[end] = allxy[best]
            ways[wi].coords[end] = allxy[best]
            counts[old] -= 2
            counts.update([tuple(allxy[best])] * 2)


def import_roads(params: RoadImportParams) -> ImportReport:
    report = ImportReport(params.display_name)
    if not params.scope.everything:
        report.error(None, "", "", "道路网是全县共用的数据，只有县级管理员可以导入", "请交县级管理员导入")
        return report
    try:
        ways = read_ways(params, report)
    except ImportError_ as exc:
        report.problems.append(exc.problem)
        return report
    if not ways:
        report.error(None, "highway", "", "文件中没有可用于路径计算的道路", "确认文件含 highway（道路等级）字段")
        return report
    if params.commit:
        with transaction.atomic():
            _upsert_roads(ways, params.display_name, report)
            net = rebuild_network(params.snap_m, report)
    else:
        net = build_network(ways, params.snap_m)
    _report_components(net, report)
    return report


def rebuild_network(snap_m: float = 3.0, report: ImportReport | None = None) -> Network:
    """Rebuild the routable network from every road in the database — the whole network, not just
    one file's roads; roads under construction carry no traffic. The importer and the demo loaders
    (load_demo, generate_county) both build it here."""
    roads = list(Road.objects.exclude(highway__in=NOT_ROADS).order_by("pk"))
    net = build_network([_Way(r.highway, r.name, r.ref, 1 if r.oneway else 0, r.osm_id,
                              np.asarray(r.geom.coords)) for r in roads], snap_m)
    _write_network(net, roads, report if report is not None else ImportReport("roads"))
    return net


def _upsert_roads(ways: list[_Way], filename: str, report: ImportReport) -> None:
    existing = {r.osm_id: r for r in Road.objects.filter(osm_id__in=[w.osm_id for w in ways if w.osm_id])}
    create, update, unchanged = [], [], 0
    for w in ways:
        geom = GEOSLineString(w.coords.tolist(), srid=4326)
        road = existing.get(w.osm_id) if w.osm_id else None
        values = dict(name=w.name[:200], ref=w.ref[:50], highway=w.highway[:30], oneway=w.oneway != 0)
        if road is None:
            if w.oneway == -1:  # store one-way roads in their direction of travel
                geom = GEOSLineString(w.coords[::-1].tolist(), srid=4326)
            create.append(Road(osm_id=w.osm_id, geom=geom, source=f"导入 {filename}", **values))
        elif all(getattr(road, k) == v for k, v in values.items()) and road.geom.equals_exact(geom, 1e-9):
            unchanged += 1
        else:
            for k, v in values.items():
                setattr(road, k, v)
            road.geom = geom
            update.append(road)
    Road.objects.bulk_create(create, batch_size=2000)
    Road.objects.bulk_update(update, ["name", "ref", "highway", "oneway", "geom"], batch_size=2000)
    report.counts.update({"新增道路": len(create), "更新道路": len(update), "无变化道路": unchanged})


def _write_network(net: Network, roads: list[Road], report: ImportReport) -> None:
    RoadEdge.objects.all().delete()
    RoadVertex.objects.all().delete()
    vertices = RoadVertex.objects.bulk_create(
        (RoadVertex(geom=GEOSPoint(x, y, srid=4326)) for x, y in net.vertices), batch_size=5000)
    RoadEdge.objects.bulk_create(
        (RoadEdge(road=roads[e["way"]], source=vertices[e["source"]], target=vertices[e["target"]],
                  length_m=e["length_m"], speed_kmh=e["speed_kmh"], cost_s=e["cost_s"],
                  reverse_cost_s=e["reverse_cost_s"], geom=GEOSLineString(e["coords"].tolist(), srid=4326))
         for e in net.edges), batch_size=5000)
    with connection.cursor() as cursor:
        # pgRouting's own component labelling, kept on the vertices for the routing features.
        cursor.execute(
            "UPDATE gridmap_roadvertex v SET component = c.component FROM pgr_connectedComponents(%s) c "
            "WHERE v.id = c.node", [RoadEdge.PGR_EDGES_SQL])
    report.counts.update({"路网节点": len(vertices), "路网边": len(net.edges)})
    report.committed = True


def _report_components(net: Network, report: ImportReport) -> None:
    pieces = net.components()
    report.counts["连通片"] = len(pieces)
    if len(pieces) <= 1:
        return
    total = len(net.vertices)
    report.warn(None, "路网", "", f"路网分为 {len(pieces)} 个互不连通的部分，最大部分含 {len(pieces[0]) / total:.1%} 的节点",
                "孤立部分上的住户和学校之间无法计算路径：补画连接道路，或加大 --snap")
    for piece in pieces[1:21]:
        x, y = net.vertices[piece[0]]
        report.warn(None, "路网", f"{len(piece)} 个节点", f"孤立路段，约在 {x:.5f}E, {y:.5f}N",
                    "核对该处道路是否应与主路网相连")

"""What a demo county is generated from: real layers (东阳市) or a synthetic county of any size."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from importers.coords import gcj02_to_wgs84
from importers.demo.projection import LocalMetric

DATA_DIR = Path(__file__).parent / "data"
DONGYANG_DIR = DATA_DIR / "dongyang_330783"

TIANDITU = "天地图 via 1chenhang/dongyangCIM (no licence stated upstream)"
OSM = "© OpenStreetMap contributors (ODbL 1.0)"
NBS = "NBS 2016 division codes via Vonng/adcode (CC BY 4.0)"


@dataclass
class TownshipSource:
    code: str  # 9 digits
    name: str
    geom: BaseGeometry  # WGS84
    seat: Point | None  # WGS84
    source: str


@dataclass
class VillageSource:
    code: str  # 12 digits
    name: str
    township_code: str
    urban_rural_code: str
    seat: Point | None  # WGS84, where the list gives one


@dataclass
class RoadSource:
    geom: LineString  # WGS84
    highway: str
    name: str = ""
    ref: str = ""
    oneway: bool = False
    osm_id: int | None = None


@dataclass
class CountySource:
    code: str  # 6 digits
    name: str
    geom: BaseGeometry
    source: str
    townships: list[TownshipSource]
    villages: list[VillageSource]
    roads: list[RoadSource]
    roads_source: str
    villages_source: str = ""
    features: list[tuple[str, str, BaseGeometry, str]] = field(default_factory=list)
    # (kind, name, geometry, source): rivers and landmarks drawn for orientation
    school_code_prefix: str = ""  # 10-digit school codes: this prefix and a serial; "" = "21" + code[:4]


def _multi(geom: BaseGeometry) -> MultiPolygon:
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def dongyang_source() -> CountySource:
    county = gpd.read_file(DONGYANG_DIR / "county_boundary.geojson")
    towns = gpd.read_file(DONGYANG_DIR / "townships.geojson").sort_values("code")
    with open(DONGYANG_DIR / "nbs2016_divisions.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))

    def seat(row: dict[str, str]) -> Point | None:
        if not row["longitude"]:
            return None
        lon, lat = gcj02_to_wgs84(float(row["longitude"]), float(row["latitude"]))  # Amap: GCJ-02
        return Point(float(lon), float(lat))

    town_rows = {r["code"]: r for r in rows if r["level"] == "town"}
    townships = [
        TownshipSource(code=t.code[:9], name=t.Name, geom=_multi(t.geometry),
                       seat=seat(town_rows[t.code]), source=TIANDITU)
        for t in towns.itertuples()
    ]
    villages = [
        VillageSource(code=r["code"], name=r["name"], township_code=r["parent"][:9],
                      urban_rural_code=r["ur_code"], seat=seat(r))
        for r in rows if r["level"] == "village"
    ]
    roads_gdf = gpd.read_file(DONGYANG_DIR / "osm_highways.geojson")
    roads = []
    for r in roads_gdf.itertuples():
        if not isinstance(r.geometry, LineString):
            continue  # closed areas tagged highway (squares): not part of the network
        osm_id = int(str(r.id).split("/")[-1])
        roads.append(RoadSource(
            geom=r.geometry, highway=str(r.highway), name=_text(getattr(r, "name", "")),
            ref=_text(getattr(r, "ref", "")), oneway=_text(getattr(r, "oneway", "")) in {"yes", "1"},
            osm_id=osm_id,
        ))
    river = gpd.read_file(DONGYANG_DIR / "river_polygon.geojson").geometry.iloc[0]
    return CountySource(
        code="330783", name="东阳市", geom=_multi(county.geometry.iloc[0]), source=TIANDITU,
        townships=townships, villages=villages, roads=roads, roads_source=OSM, villages_source=NBS,
        features=[("river", "东阳江", river, "1chenhang/dongyangCIM (origin unknown)")],
    )


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def synthetic_source(townships: int, seed: int, villages_per_township: int = 20) -> CountySource:
    """A made-up county (code 99xxxx) of `townships` townships, for benchmarks and scale tests.

    About 100 km² per township around (119.5E, 28.5N); roads join the village seats to their
    township seat and the seats to each other, so households have roads to cluster along.
    """
    from importers.demo.projection import LocalMetric

    rng = np.random.default_rng(seed)
    metric = LocalMetric(119.5)
    radius = np.sqrt(townships * 100e6 / np.pi)
    angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    wobble = 1 + 0.12 * np.sin(3 * angles + rng.uniform(0, 6)) + rng.normal(0, 0.03, len(angles))
    x0, y0 = metric.forward_xy(119.5, 28.5)
    county_m = Polygon(np.column_stack([x0 + radius * wobble * np.cos(angles),
                                        y0 + radius * wobble * np.sin(angles)]))
    return synthetic_county(county_m, metric, rng, code=f"99{seed % 10000:04d}", name=f"合成县{seed}",
                            townships=townships, villages_per_township=villages_per_township,
                            source=f"synthetic (generate_county seed {seed})")


def synthetic_county(county_m: Polygon, metric: LocalMetric, rng: np.random.Generator, *, code: str, name: str,
                     townships: int, villages_per_township: int, source: str,
                     school_code_prefix: str = "") -> CountySource:
    """A made-up county filling `county_m` (metres of `metric`): `townships` townships partition it,
    each with about `villages_per_township` villages whose seats are joined to the township seat by
    road, and the township seats are joined in a chain (generate_county, generate_province)."""
    from importers.demo.partition import partition, sample_inside

    town_cells, town_seeds = partition(county_m, townships, rng)
    towns, villages, roads = [], [], []
    seat_points = []
    for i, (cell, seed_xy) in enumerate(zip(town_cells, town_seeds, strict=True), start=1):
        tcode = f"{code}{100 + i:03d}"
        seat_m = Point(seed_xy) if cell.contains(Point(seed_xy)) else cell.point_on_surface()
        seat_points.append(seat_m)
        towns.append(TownshipSource(tcode, f"第{i}镇", _multi(metric.inverse(cell)),
                                    metric.inverse(seat_m), source))
        n_villages = max(3, int(rng.normal(villages_per_township, villages_per_township / 5)))
        vseats = sample_inside(cell, n_villages, rng)
        for j, xy in enumerate(vseats, start=1):
            ur = "121" if j <= 2 else "220"
            villages.append(VillageSource(f"{tcode}{j:03d}", f"{i}镇{j}村", tcode, ur, None))
            roads.append(RoadSource(metric.inverse(LineString([seat_m.coords[0], tuple(xy)])),
                                    "tertiary" if j % 3 else "unclassified"))
    for a, b in zip(seat_points, seat_points[1:], strict=False):
        roads.append(RoadSource(metric.inverse(LineString([a.coords[0], b.coords[0]])), "secondary"))
    return CountySource(code=code, name=name, geom=_multi(metric.inverse(county_m)),
                        source=source, townships=towns, villages=villages, roads=roads,
                        roads_source=source, villages_source=source, school_code_prefix=school_code_prefix)

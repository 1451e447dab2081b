"""A generated province: N synthetic counties side by side, written county by county (generate_province).

Layout. The province is a square of ~100 km² per township around (119.5E, 28.5N), cut into `counties`
compact cells (the same relaxed Voronoi partition that makes townships and villages,
importers.demo.partition): the counties tile the province, so no two overlap and neighbours share
their boundary. Each county is then made exactly as `generate_county` makes one
(importers.demo.sources.synthetic_county, importers.demo.build.build_county), inside its own cell.

Codes. Province 98 (no real province has it; generate_county's counties are 99xxxx), ten counties
per prefecture: county i is 98PPCC with PP = i // 10 + 1 and CC = 21 + i % 10; townships, villages
and groups extend their county's code as everywhere (9, 12, 15 digits); schools are "2" + county
code + a 3-digit serial, so codes are unique across the province and hierarchical.

Streaming. One county is generated, written (COPY for households, children and histories; one
transaction per county: a county is there whole or not at all) and dropped from memory before the
next, so memory is one county's whatever N is. A run that stops (Ctrl-C, a crash) is restarted
with the same arguments and goes on with the first county not written.

Road network. `importers.roads.rebuild_network` rebuilds the routable network from every road in
the database; called once per county it would rebuild the province's network N times from a
growing road table (O(N²)). The counties' roads are written without it, and the network is built
**once**, after the last county and the roads joining neighbouring county seats — one rebuild, one
bump of the routing network version (routing/models.py), which is what every process's in-memory
graph keys on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import shapely
from django.db import connection, transaction
from shapely.geometry import LineString, Polygon

from gridmap.models import Area, AreaLevel, Road
from importers.demo.build import build_county
from importers.demo.load import _geos, county_exists, load_dataset
from importers.demo.partition import partition
from importers.demo.projection import LocalMetric
from importers.demo.sources import CountySource, synthetic_county
from importers.roads import rebuild_network

PROVINCE_CODE = "98"
COUNTIES_PER_PREFECTURE = 10
CENTRE = (119.5, 28.5)
TOWNSHIP_KM2 = 100.0
# Tables a county adds most rows to: their planner statistics are refreshed as the province grows
# (the loader's own look-ups must keep using their indexes).
GROWING_TABLES = ["gridmap_area", "gridmap_household", "gridmap_child", "gridmap_childstatuschange",
                  "gridmap_absence", "gridmap_person", "gridmap_responsibility", "gridmap_school",
                  "gridmap_schoolclass", "gridmap_catchmentassignment"]


class ProvinceError(Exception):
    """The database holds something this run must not write over (said in Chinese for the command)."""


@dataclass(frozen=True)
class ProvinceParams:
    counties: int
    seed: int
    townships: int = 19  # per county (东阳: 18)
    villages_per_township: int = 20
    children: int = 100_000  # per county: ~10 million for 100 counties
    as_of: date | None = None

    @property
    def signature(self) -> str:
        """Written into every county's `source`: a restart must use the same arguments."""
        return (f"generate_province seed {self.seed}: {self.counties} counties × {self.townships} townships × "
                f"{self.villages_per_township} villages, {self.children} children each")


def county_code(index: int) -> str:
    prefecture, county = divmod(index, COUNTIES_PER_PREFECTURE)
    if prefecture >= 99:
        raise ValueError("at most 990 counties")
    return f"{PROVINCE_CODE}{prefecture + 1:02d}{21 + county:02d}"


@dataclass(frozen=True)
class CountyPlan:
    index: int
    code: str
    name: str
    cell_m: Polygon  # metres of the province's metric
    seed: int


@dataclass
class ProvincePlan:
    params: ProvinceParams
    metric: LocalMetric
    counties: list[CountyPlan]
    neighbours: list[tuple[int, int]]  # pairs of counties sharing a stretch of boundary

    def source(self, county: CountyPlan) -> CountySource:
        p = self.params
        return synthetic_county(county.cell_m, self.metric, np.random.default_rng(county.seed),
                                code=county.code, name=county.name, townships=p.townships,
                                villages_per_township=p.villages_per_township,
                                source=f"synthetic province ({p.signature})",
                                school_code_prefix=f"2{county.code}")


def plan(params: ProvinceParams) -> ProvincePlan:
    """Where each county lies and its code (deterministic in the parameters)."""
    if params.counties < 1:
        raise ValueError("counties must be at least 1")
    rng = np.random.default_rng(params.seed)
    metric = LocalMetric(CENTRE[0])
    side = math.sqrt(params.counties * params.townships * TOWNSHIP_KM2 * 1e6)
    x0, y0 = metric.forward_xy(*CENTRE)
    province = shapely.box(x0 - side / 2, y0 - side / 2, x0 + side / 2, y0 + side / 2)
    cells, seeds = partition(province, params.counties, rng)
    # Codes run in rows from the north-west, as a map is read.
    row = side / max(1, round(math.sqrt(params.counties)))
    order = sorted(range(len(cells)), key=lambda i: (-math.floor((seeds[i][1] - y0 + side / 2) / row), seeds[i][0]))
    counties = []
    for k, i in enumerate(order):
        code = county_code(k)
        prefecture, number = divmod(k, COUNTIES_PER_PREFECTURE)
        counties.append(CountyPlan(k, code, f"合成{prefecture + 1}市{number + 1}县", cells[i],
                                   params.seed * 1000 + k))
    tree = shapely.STRtree([c.cell_m for c in counties])
    pairs = tree.query([c.cell_m.buffer(1.0) for c in counties], predicate="intersects")
    neighbours = sorted({(int(a), int(b)) for a, b in zip(*pairs, strict=True) if a < b
                         and counties[a].cell_m.intersection(counties[b].cell_m.buffer(1.0)).length > 100})
    return ProvincePlan(params, metric, counties, neighbours)


@dataclass
class CountyDone:
    index: int
    code: str
    children: int
    seconds: float
    skipped: bool  # written by an earlier run


Progress = Callable[[CountyDone, int], None]


def check_database(p: ProvincePlan, alone: bool = True) -> None:
    """Refuse a database that holds another province's counties (another seed or size), or with
    `alone`, any county not of this province (the app's own): the province is generated into a
    scratch database of its own."""
    expected = {c.code for c in p.counties}
    for code, source in Area.objects.filter(level=AreaLevel.COUNTY).values_list("code", "source"):
        ours = code in expected and source == f"synthetic province ({p.params.signature})"
        if not ours and (alone or code.startswith(PROVINCE_CODE)):
            raise ProvinceError(f"数据库中已有县 {code}（{source}），不是本次要生成的省：请换一个空的数据库，"
                                f"或用 --replace 清空后重建")


def write_counties(params: ProvinceParams, part: tuple[int, int] = (0, 1),
                   progress: Progress | None = None, alone: bool = True) -> list[CountyDone]:
    """Write every county of this part (index ≡ k mod n: `part=(k, n)`, so that n processes share
    the province) not written yet, each in its own transaction, without their roads."""
    p = plan(params)
    check_database(p, alone)
    as_of = params.as_of or date.today()
    k, n = part
    done: list[CountyDone] = []
    written = 0
    for county in p.counties[k::n]:
        started = time.perf_counter()
        if county_exists(county.code):
            done.append(CountyDone(county.index, county.code, 0, 0.0, True))
        else:
            dataset = build_county(p.source(county), county.seed, params.children, as_of)
            with transaction.atomic():  # the county's own transaction (load_dataset's is a savepoint in it)
                with connection.cursor() as cursor:
                    # a stopped run is run again: a crash losing the last commit costs one county,
                    # not consistency; not waiting for each flush saves time
                    cursor.execute("SET LOCAL synchronous_commit TO off")
                load_dataset(dataset, roads=False)
            done.append(CountyDone(county.index, county.code, len(dataset.children),
                                   time.perf_counter() - started, False))
            del dataset
            written += 1
            if written & (written - 1) == 0:  # after 1, 2, 4, 8… counties: fresh statistics
                analyze(GROWING_TABLES)
        if progress:
            progress(done[-1], len(p.counties))
    return done


@transaction.atomic
def write_roads(params: ProvinceParams, network: bool = True) -> tuple[int, int]:
    """Every county's roads and the roads joining neighbouring county seats, replaced whole (so a
    restart writes them again), then the routable network built once from them: one transaction,
    one new network version. Returns (roads, network edges)."""
    p = plan(params)
    sources = [p.source(c) for c in p.counties]
    county_source, link_source = f"synthetic province ({params.signature})", f"synthetic province links ({params.signature})"
    Road.objects.filter(source__in=[county_source, link_source]).delete()
    roads = [Road(highway=r.highway, name=r.name, ref=r.ref, oneway=r.oneway, geom=_geos(r.geom), source=county_source)
             for src in sources for r in src.roads]
    # Each county's own roads meet at its first township's seat: the links start and end there.
    seats = [src.townships[0].seat for src in sources]
    roads += [Road(highway="primary", name=f"{p.counties[a].name}—{p.counties[b].name}公路", source=link_source,
                   geom=_geos(LineString([seats[a].coords[0], seats[b].coords[0]])))  # type: ignore[union-attr]
              for a, b in p.neighbours]
    Road.objects.bulk_create(roads, batch_size=5000)
    edges = len(rebuild_network().edges) if network else 0
    return len(roads), edges


def analyze(tables: list[str] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if tables is None else f"ANALYZE {', '.join(tables)}")

"""The last 12 months of an area's hotspots, so that an official sees whether a hotspot is new or
persistent: one analysis per month (hotspots.data, each month's Gi* cached like the map's), twelve
small maps in one SVG (matplotlib, no pyplot), and per group that was hot or cold in any month a strip
of its twelve classes with the months it was hot and how many months in a row up to the last one.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from math import cos, radians
from typing import Any

import shapely
from django.contrib.gis.db.models.functions import AsWKB
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from gridmap.charts import cjk_font
from gridmap.models import Area, AreaLevel
from gridmap.models.areas import CODE_LENGTH
from gridmap.models.functions import SimplifyPreserveTopology
from hotspots import data

MONTHS = 12
COLUMNS = 4


@dataclass
class Strip:
    code: str
    name: str
    village: str
    levels: list[int | None]  # per month, oldest first: ±1..±3 (hot +, cold −), 0, None untested/no data
    hot_months: int
    hot_run: int  # months hot in a row up to and including the last month
    ticks: list[tuple[str, str]]  # per month: class key and colour

    @property
    def classes(self) -> list[str]:
        return ["none" if lv is None else data.CLUSTER_NAMES[lv] for lv in self.levels]


@dataclass
class Timeline:
    months: list[str]
    analyses: list[data.Analysis]
    strips: list[Strip]
    svg: str


def build(user: Any, root: Area, month: str, filters: data.Filters, months: int = MONTHS,
          colors: dict[str, str] | None = None) -> Timeline:
    keys = data.previous_months(month, months)
    analyses = [data.analysis_for(user, root, m, filters) for m in keys]
    colors = colors or {}
    strips = _strips(analyses, colors)
    return Timeline(keys, analyses, strips, small_multiples(user, root, keys, analyses, colors))


def _strips(analyses: list[data.Analysis], colors: dict[str, str]) -> list[Strip]:
    first = analyses[-1]
    out = []
    for i, cell in enumerate(first.cells):
        levels: list[int | None] = []
        for a in analyses:
            c = a.cells[i]
            levels.append(None if a.inputs.no_data or c.cluster in ("island", "untested")
                          else int(a.clusters.level[i]))
        if not any(lv for lv in levels):
            continue
        run = 0
        for lv in reversed(levels):
            if not lv or lv <= 0:
                break
            run += 1
        keys = ["none" if lv is None else data.CLUSTER_NAMES[lv] for lv in levels]
        out.append(Strip(cell.code, cell.name, cell.village, levels, sum(1 for lv in levels if lv and lv > 0), run,
                         [(k, colors.get(k, "#ffffff")) for k in keys]))
    return sorted(out, key=lambda s: (-s.hot_run, -s.hot_months, s.code))


def _parts(wkb: bytes, scale_x: float) -> Iterable[list[tuple[float, float]]]:
    geom = shapely.from_wkb(wkb)
    for poly in getattr(geom, "geoms", [geom]):
        yield [(x * scale_x, y) for x, y in poly.exterior.coords]


def small_multiples(user: Any, root: Area, months: list[str], analyses: list[data.Analysis],
                    colors: dict[str, str]) -> str:
    """Twelve small maps: the area and its townships (or villages) in outline, significant groups filled."""
    xmin, ymin, xmax, ymax = root.geom.extent
    tolerance = max(xmax - xmin, ymax - ymin) / 300  # about a pixel of a 2.3-inch panel on screen
    cells = data.cell_queryset(user, root).annotate(
        _g=AsWKB(SimplifyPreserveTopology("geom", tolerance))).values_list("code", "_g")
    scale_x = cos(radians(root.geom.centroid.y))  # equirectangular at the area's latitude
    shapes = {code: list(_parts(bytes(g), scale_x)) for code, g in cells}
    outlines: list[list[tuple[float, float]]] = []
    below = {AreaLevel.COUNTY: AreaLevel.TOWNSHIP, AreaLevel.TOWNSHIP: AreaLevel.VILLAGE}.get(AreaLevel(root.level))
    if below is not None:
        units = Area.objects.filter(level=below, code__in={c[:CODE_LENGTH[below]] for c in shapes})
        for (g,) in units.annotate(_g=AsWKB(SimplifyPreserveTopology("geom", tolerance))).values_list("_g"):
            outlines += _parts(bytes(g), scale_x)
    all_parts = [p for parts in shapes.values() for p in parts]
    xs = [x for p in all_parts for x, _y in p] or [0.0]
    ys = [y for p in all_parts for _x, y in p] or [0.0]
    rows = (len(months) + COLUMNS - 1) // COLUMNS
    aspect = (max(ys) - min(ys) or 1) / (max(xs) - min(xs) or 1)
    panel_w = 2.3
    fig = Figure(figsize=(COLUMNS * panel_w, rows * (panel_w * aspect + 0.35)), dpi=72)
    family = cjk_font()
    for k, (month, analysis) in enumerate(zip(months, analyses, strict=True)):
        ax = fig.add_subplot(rows, COLUMNS, k + 1)
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.set_xlim(min(xs), max(xs))
        ax.set_ylim(min(ys), max(ys))
        # Townships (villages) as the background, not every group: twelve panels stay light.
        ax.add_collection(PolyCollection(outlines or all_parts, facecolors="#f4f4f4", edgecolors="#9a9a9a",
                                         linewidths=0.4))
        fills, fill_colors = [], []
        for cell in analysis.cells:
            if cell.cluster.startswith(("hot", "cold")):
                for part in shapes.get(cell.code, []):
                    fills.append(part)
                    fill_colors.append(colors.get(cell.cluster, "#000000"))
        if fills:
            # Raster inside the SVG (text and outlines stay vector): a county's month can fill
            # hundreds of groups, and twelve panels of vector paths weighed ~3 MB.
            ax.add_collection(PolyCollection(fills, facecolors=fill_colors, edgecolors="none", rasterized=True))
        c = analysis.clusters
        caption = ("无台账数据" if analysis.inputs.no_data else "各小组无差异，未检验" if c.reason
                   else f"热点 {c.hot} · 冷点 {c.cold}")
        ax.set_title(f"{month}\n{caption}", fontsize=8, family=family, pad=2)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.01, wspace=0.04, hspace=0.25)
    out = io.StringIO()
    fig.savefig(out, format="svg", dpi=150, metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg"):]

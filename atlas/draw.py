"""Drawing a sheet's map, its locator inset, the legend and the atlas's index map as vector SVG
(matplotlib without pyplot). Text stays text (svg.fonttype "none"), set in WenQuanYi Micro Hei, so
the PDF's words can be searched and copied. One set of symbols (SYMBOLS) for every sheet.

The map axes fill a figure exactly the size of the sheet's map frame in millimetres and show exactly
the sheet's extent, so 1 mm on paper is `scale / 1000` metres everywhere on the map; the scale bar
is drawn in ground metres inside the same axes."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import matplotlib
import shapely
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Polygon, Rectangle
from matplotlib.path import Path

from atlas.content import MapData
from atlas.plan import SheetSpec
from gridmap.charts import cjk_font
from gridmap.numerals import short_group_name

MM = 1 / 25.4  # inches per millimetre
SYMBOLS: dict[str, dict[str, Any]] = {
    "cell": {"edgecolor": "#c0392b", "linewidth": 2.0, "facecolor": "#fff4d6"},
    "group": {"color": "#9a9a9a", "linewidth": 0.5},
    "village": {"color": "#555555", "linewidth": 1.0},
    "township": {"color": "#333333", "linewidth": 1.3, "linestyle": (0, (5, 2))},
    "river": {"color": "#6fa8dc", "linewidth": 2.2},
    "household": {"marker": "o", "markersize": 2.6, "color": "#111111"},
}
ROAD_WIDTHS = {"motorway": 2.6, "trunk": 2.4, "primary": 2.0, "secondary": 1.7, "tertiary": 1.4}
ROAD_MINOR_WIDTH = 0.8
SCHOOL_MARKERS = {"teaching_point": "^", "village_primary": "o", "full_primary": "o", "central_primary": "o",
                  "junior_middle": "s", "nine_year": "D"}
# Household numbers are written beside their points up to this many and this scale (1:n); beyond, the
# points alone (a catchment's thousand households would be a black blot; the checklist has the numbers).
LABELLED_HOUSEHOLDS, LABELLED_SCALE = 400, 10000
SCALE_BAR_STEPS = [10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000]


@dataclass
class DrawnMap:
    svg: str
    bar_metres: float  # the scale bar's stated length
    bar_label: str
    figure: Figure | None = None  # kept only when asked (tests measure its transform)
    bar_start: tuple[float, float] = (0.0, 0.0)  # data coordinates of the bar's left end


def _svg(fig: Figure) -> str:
    cjk_font()
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg"):]


def _rings(geom: Any) -> list[Any]:
    rings = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            rings.append(list(part.exterior.coords))
            rings += [list(r.coords) for r in part.interiors]
        elif part.geom_type in ("LineString", "LinearRing"):
            rings.append(list(part.coords))
        elif part.geom_type.startswith("Multi") or part.geom_type == "GeometryCollection":
            rings += _rings(part)
    return rings


def _outline(ax: Any, geoms: Iterable[Any], zorder: float, **style: Any) -> None:
    segments = [ring for g in geoms for ring in _rings(g)]
    if segments:
        ax.add_collection(LineCollection(segments, zorder=zorder, **style))


def _fill(ax: Any, geom: Any, zorder: float, **style: Any) -> None:
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon":
            continue
        vertices, codes = [], []
        for ring in [part.exterior, *part.interiors]:
            coords = list(ring.coords)
            vertices += coords
            codes += [Path.MOVETO] + [Path.LINETO] * (len(coords) - 2) + [Path.CLOSEPOLY]
        ax.add_patch(PathPatch(Path(vertices, codes), zorder=zorder, **style))


def _inside(point: Any, extent: tuple[float, float, float, float], pad: float = 0.0) -> bool:
    return bool(extent[0] + pad <= point.x <= extent[2] - pad and extent[1] + pad <= point.y <= extent[3] - pad)


def nice_bar(frame_width_mm: float, metres_per_mm: float) -> float:
    """The longest round length that takes at most a quarter of the frame's width."""
    limit = frame_width_mm * metres_per_mm / 4
    return max([s for s in SCALE_BAR_STEPS if s <= limit] or [SCALE_BAR_STEPS[0]])


def _length_label(metres: float) -> str:
    return f"{metres / 1000:g} 千米" if metres >= 1000 else f"{metres:g} 米"


def sheet_map(spec: SheetSpec, data: MapData, keep_figure: bool = False) -> DrawnMap:
    family = cjk_font()
    w_mm, h_mm = spec.frame_mm
    fig = Figure(figsize=(w_mm * MM, h_mm * MM), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))
    x0, y0, x1, y1 = extent = spec.extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    pt = 0.3528  # mm per typographic point: label offsets in mm → metres via the scale
    m_per_pt = spec.metres_per_mm * pt

    _fill(ax, data.cell, 1, facecolor=SYMBOLS["cell"]["facecolor"], edgecolor="none")
    # roads per class, minor first, so major roads sit on top
    for cls in sorted({c for c, _n, _g in data.roads}, key=lambda c: ROAD_WIDTHS.get(c, 0)):
        geoms = [g for c, _n, g in data.roads if c == cls]
        width = ROAD_WIDTHS.get(cls, ROAD_MINOR_WIDTH)
        _outline(ax, geoms, 3, color="#7a7a7a", linewidths=width + 0.8, capstyle="round")
        _outline(ax, geoms, 3.1, color="#ffffff" if width < 1.2 else "#f6d27a", linewidths=width, capstyle="round")
    for _name, river in data.rivers:  # a river is a line, or (wide rivers) an area
        if river.geom_type in ("Polygon", "MultiPolygon"):
            _fill(ax, river, 2, facecolor="#cfe2f3", edgecolor=SYMBOLS["river"]["color"], linewidth=0.6)
        else:
            _outline(ax, [river], 2, colors=SYMBOLS["river"]["color"], linewidths=SYMBOLS["river"]["linewidth"])
    _outline(ax, [g for _c, _n, g in data.groups], 4, colors=SYMBOLS["group"]["color"],
             linewidths=SYMBOLS["group"]["linewidth"])
    _outline(ax, [g for _c, _n, g in data.villages], 5, colors=SYMBOLS["village"]["color"],
             linewidths=SYMBOLS["village"]["linewidth"])
    _outline(ax, [g for _c, _n, g in data.townships], 6, colors=SYMBOLS["township"]["color"],
             linewidths=SYMBOLS["township"]["linewidth"], linestyles=[SYMBOLS["township"]["linestyle"]])
    _outline(ax, [data.cell], 7, colors=SYMBOLS["cell"]["edgecolor"], linewidths=SYMBOLS["cell"]["linewidth"])

    # labels: neighbouring groups, villages, road names once each, households, schools
    for _code, name, geom in data.groups:
        p = geom.representative_point()
        if _inside(p, extent, 8 * m_per_pt) and not data.cell.contains(p):
            ax.text(p.x, p.y, short_group_name(name), fontsize=6, color="#777777", ha="center", va="center",
                    family=family, zorder=8)
    for _code, name, geom in data.villages:
        p = geom.intersection(shapely.box(*extent)).representative_point()
        if not p.is_empty and _inside(p, extent, 10 * m_per_pt):
            ax.text(p.x, p.y + 9 * m_per_pt, name, fontsize=8, color="#444444", ha="center", va="center",
                    family=family, zorder=8)
    _road_names(ax, data, extent, family)
    if data.households:
        xs, ys = [p.x for _n, p in data.households], [p.y for _n, p in data.households]
        ax.plot(xs, ys, linestyle="none", zorder=10, **SYMBOLS["household"])
    if len(data.households) <= LABELLED_HOUSEHOLDS and spec.scale <= LABELLED_SCALE:
        for number, point in data.households:
            ax.text(point.x + 2.2 * m_per_pt, point.y + 1.6 * m_per_pt, number, fontsize=5.5, color="#000000",
                    family=family, zorder=11)
    for _code, name, kind, point, highlighted in data.schools:
        ax.plot([point.x], [point.y], marker=SCHOOL_MARKERS.get(kind, "o"), markersize=6 if highlighted else 5,
                markerfacecolor="#1f6fb2", markeredgecolor="#c0392b" if highlighted else "#ffffff",
                markeredgewidth=1.4 if highlighted else 0.6, linestyle="none", zorder=12)
        if _inside(point, extent):
            ax.text(point.x, point.y - 7 * m_per_pt, name, fontsize=6.5, color="#1f4e79", ha="center", va="top",
                    family=family, zorder=12,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.4, "alpha": 0.75})

    _north_arrow(ax, family)
    bar = nice_bar(w_mm, spec.metres_per_mm)
    start = _scale_bar(ax, spec, bar, family)
    svg = _svg(fig)
    return DrawnMap(svg, bar, _length_label(bar), fig if keep_figure else None, start)


def _road_names(ax: Any, data: MapData, extent: tuple[float, float, float, float], family: list[str]) -> None:
    frame = shapely.box(*extent).buffer(-(extent[2] - extent[0]) * 0.03)
    longest: dict[str, Any] = {}
    for _cls, name, geom in data.roads:
        if not name:
            continue
        part = geom.intersection(frame)
        if not part.is_empty and part.length > longest.get(name, shapely.LineString()).length:
            longest[name] = part
    for name, part in longest.items():
        line = max(shapely.get_parts(part), key=lambda g: g.length) if part.geom_type.startswith("Multi") else part
        if line.geom_type != "LineString" or line.length < (extent[2] - extent[0]) * 0.08:
            continue
        a, b = line.interpolate(0.45, normalized=True), line.interpolate(0.55, normalized=True)
        angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
        mid = line.interpolate(0.5, normalized=True)
        ax.text(mid.x, mid.y, name, fontsize=6, color="#5a3e00", rotation=angle, rotation_mode="anchor",
                ha="center", va="center", family=family, zorder=9,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.3, "alpha": 0.7})


def _north_arrow(ax: Any, family: list[str]) -> None:
    x, y = 0.955, 0.905
    t = ax.transAxes
    ax.add_patch(Polygon([(x, y + 0.055), (x - 0.018, y), (x, y + 0.012)], closed=True, transform=t,
                         facecolor="#000000", edgecolor="#000000", linewidth=0.6, zorder=20))
    ax.add_patch(Polygon([(x, y + 0.055), (x + 0.018, y), (x, y + 0.012)], closed=True, transform=t,
                         facecolor="#ffffff", edgecolor="#000000", linewidth=0.6, zorder=20))
    ax.text(x, y + 0.062, "北", transform=t, ha="center", va="bottom", fontsize=9, family=family, zorder=20)


def _scale_bar(ax: Any, spec: SheetSpec, metres: float, family: list[str]) -> tuple[float, float]:
    """A bar of `metres` ground metres in two halves, 6 mm from the frame's lower left corner."""
    x0, y0, _x1, _y1 = spec.extent
    mpm = spec.metres_per_mm
    left, base, height = x0 + 6 * mpm, y0 + 7 * mpm, 1.6 * mpm
    ax.add_patch(Rectangle((left - 3 * mpm, base - 5.5 * mpm), metres + 16 * mpm, 13 * mpm, facecolor="white",
                           edgecolor="#888888", linewidth=0.4, alpha=0.9, zorder=19))
    ax.add_patch(Rectangle((left, base), metres / 2, height, facecolor="#000000", edgecolor="#000000",
                           linewidth=0.5, zorder=20))
    ax.add_patch(Rectangle((left + metres / 2, base), metres / 2, height, facecolor="#ffffff",
                           edgecolor="#000000", linewidth=0.5, zorder=20))
    for at, text in ((0, "0"), (metres / 2, f"{metres / 2:g}" if metres < 1000 else f"{metres / 2000:g}"),
                     (metres, _length_label(metres))):
        ax.text(left + at, base - 1.0 * mpm, text, ha="left" if at == metres else "center", va="top", fontsize=6,
                family=family, zorder=21)
    ax.text(left, base + height + 1.2 * mpm, f"比例尺 1:{spec.scale:,}".replace(",", " "), ha="left",
            va="bottom", fontsize=6.5, family=family, zorder=21)
    return left, base


def locator(township: Any, villages: list[tuple[str, Any]], village_code: str, cell: Any,
            size_mm: float = 40.0) -> str:
    """The cell's village within its township: township grey, villages outlined, the village shaded,
    the cell red."""
    fig = Figure(figsize=(size_mm * MM, size_mm * MM), dpi=72)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.96))
    ax.set_aspect("equal")
    ax.set_axis_off()
    _fill(ax, township, 1, facecolor="#eeeeee", edgecolor="none")
    _outline(ax, [g for _c, g in villages], 2, colors="#aaaaaa", linewidths=0.3)
    for code, geom in villages:
        if code == village_code:
            _fill(ax, geom, 3, facecolor="#f5c26b", edgecolor="none")
    _outline(ax, [township], 4, colors="#333333", linewidths=0.6)
    _fill(ax, cell, 5, facecolor="#c0392b", edgecolor="#c0392b", linewidth=0.8)
    x0, y0, x1, y1 = township.bounds
    pad = max(x1 - x0, y1 - y0) * 0.03
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    return _svg(fig)


def index_map(area_geom: Any, sheets: list[tuple[int, Any]], width_mm: float, height_mm: float) -> str:
    """The atlas's area with every sheet's cell outlined and numbered."""
    family = cjk_font()
    fig = Figure(figsize=(width_mm * MM, height_mm * MM), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    _fill(ax, area_geom, 1, facecolor="#f3f3f3", edgecolor="none")
    _outline(ax, [g for _n, g in sheets], 2, colors="#c0392b", linewidths=0.5)
    _outline(ax, [area_geom], 3, colors="#333333", linewidths=1.0)
    size = 7 if len(sheets) < 60 else 5 if len(sheets) < 200 else 3.5
    for number, geom in sheets:
        p = geom.representative_point()
        ax.text(p.x, p.y, str(number), ha="center", va="center", fontsize=size, family=family, zorder=5)
    x0, y0, x1, y1 = shapely.union_all([area_geom, *[g for _n, g in sheets]]).bounds
    # equal metres per mm both ways: widen the tighter direction
    per_mm = max((x1 - x0) / width_mm, (y1 - y0) / height_mm) * 1.03
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax.set_xlim(cx - per_mm * width_mm / 2, cx + per_mm * width_mm / 2)
    ax.set_ylim(cy - per_mm * height_mm / 2, cy + per_mm * height_mm / 2)
    return _svg(fig)


def legend(width_mm: float = 44.0, height_mm: float = 42.0) -> str:
    """The legend, from the same SYMBOLS as the maps."""
    family = cjk_font()
    fig = Figure(figsize=(width_mm * MM, height_mm * MM), dpi=72)
    handles = [
        Patch(facecolor=SYMBOLS["cell"]["facecolor"], edgecolor=SYMBOLS["cell"]["edgecolor"], linewidth=1.5,
              label="本图网格"),
        Line2D([], [], color=SYMBOLS["group"]["color"], linewidth=0.8, label="相邻村民小组"),
        Line2D([], [], color=SYMBOLS["village"]["color"], linewidth=1.0, label="行政村界"),
        Line2D([], [], color=SYMBOLS["township"]["color"], linewidth=1.2, linestyle=(0, (5, 2)), label="乡镇界"),
        Line2D([], [], color="#f6d27a", linewidth=2.2, label="主要道路"),
        Line2D([], [], color="#bbbbbb", linewidth=1.2, label="其他道路"),
        Line2D([], [], color=SYMBOLS["river"]["color"], linewidth=2.0, label="河流"),
        Line2D([], [], linestyle="none", label="农户（户号）", **SYMBOLS["household"]),
        Line2D([], [], linestyle="none", marker="o", markersize=5, markerfacecolor="#1f6fb2",
               markeredgecolor="white", label="小学 / 教学点▲"),
        Line2D([], [], linestyle="none", marker="s", markersize=5, markerfacecolor="#1f6fb2",
               markeredgecolor="white", label="初中 / 九年一贯制◆"),
        Line2D([], [], linestyle="none", marker="o", markersize=6, markerfacecolor="#1f6fb2",
               markeredgecolor="#c0392b", markeredgewidth=1.4, label="包保学校"),
    ]
    fig.legend(handles=handles, loc="upper left", frameon=False, prop={"family": family, "size": 6.5},
               handlelength=2.2, borderaxespad=0.2, labelspacing=0.45)
    return _svg(fig)

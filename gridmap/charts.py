"""Small SVG charts for the county dashboard (matplotlib, no pyplot: safe in a web process).

Text is drawn as paths, so the browser needs no CJK font; the WenQuanYi font of Debian's
fonts-wqy-microhei package is registered for the Chinese labels."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from matplotlib import font_manager
from matplotlib.figure import Figure

from gridmap.reports import TrendPoint

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
OFF_SCHOOL_COLOR, DROPPED_COLOR, RATE_COLOR = "#d9822b", "#b02a37", "#1f6fb2"
_font_ready = False


def cjk_font() -> list[str]:
    global _font_ready
    if not _font_ready and CJK_FONT.exists():
        font_manager.fontManager.addfont(str(CJK_FONT))
        _font_ready = True
    return ["WenQuanYi Micro Hei", "DejaVu Sans"]


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})  # no timestamp: same data, same SVG
    svg = out.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prolog and doctype for inline use


def sparkline(points: Sequence[TrendPoint], width: int = 158, height: int = 40) -> str:
    """Suspected + dropped out (area) and dropped out (line) at each month end; last value marked.

    Drawn as a few SVG elements by hand: 18 of them per dashboard, where matplotlib took ~30 ms each."""
    if not points:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>'
    top = max([p.off_school for p in points] + [1]) * 1.15
    step = (width - 6) / max(len(points) - 1, 1)

    def xy(i: int, value: int) -> str:
        return f"{3 + i * step:.1f},{height - 3 - (height - 6) * value / top:.1f}"

    off = " ".join(xy(i, p.off_school) for i, p in enumerate(points))
    area = f"{3:.1f},{height - 3:.1f} {off} {3 + (len(points) - 1) * step:.1f},{height - 3:.1f}"
    dropped = " ".join(xy(i, p.dropped_out) for i, p in enumerate(points))
    last_x, last_y = xy(len(points) - 1, points[-1].off_school).split(",")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img">'
            f'<polygon points="{area}" fill="{OFF_SCHOOL_COLOR}" fill-opacity="0.35"/>'
            f'<polyline points="{dropped}" fill="none" stroke="{DROPPED_COLOR}" stroke-width="1.4"/>'
            f'<circle cx="{last_x}" cy="{last_y}" r="2" fill="{OFF_SCHOOL_COLOR}"/></svg>')


def county_trend(points: Sequence[TrendPoint], labels: dict[str, str]) -> str:
    """Counts of suspected and dropped-out children (bars) and the dropout rate (line, ‰) by month."""
    family = cjk_font()
    fig = Figure(figsize=(8, 2.6), dpi=72)
    ax = fig.add_axes((0.07, 0.18, 0.84, 0.68))
    months = [p.month[2:] for p in points]  # "26-11"
    x = list(range(len(points)))
    ax.bar([i - 0.2 for i in x], [p.suspected for p in points], width=0.4, color=OFF_SCHOOL_COLOR,
           label=labels["suspected"])
    ax.bar([i + 0.2 for i in x], [p.dropped_out for p in points], width=0.4, color=DROPPED_COLOR,
           label=labels["dropped_out"])
    ax.set_xticks(x, months, fontsize=8, family=family)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    rate = ax.twinx()
    rate.plot(x, [1000 * p.dropped_out / p.school_age if p.school_age else 0 for p in points], color=RATE_COLOR,
              marker="o", markersize=3, linewidth=1.5, label=labels["rate"])
    rate.set_ylim(bottom=0)
    rate.tick_params(axis="y", labelsize=8, colors=RATE_COLOR)
    rate.spines[["top"]].set_visible(False)
    handles = [*ax.get_legend_handles_labels()[0], *rate.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="upper center", ncols=3, frameon=False, prop={"family": family, "size": 9})
    return _svg(fig)

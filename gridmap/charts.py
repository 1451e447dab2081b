"""Small SVG charts for the county dashboard (matplotlib, no pyplot: safe in a web process).

Text is drawn as paths, so the browser needs no CJK font; the WenQuanYi font of Debian's
fonts-wqy-microhei package is registered for the Chinese labels."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib import font_manager
from matplotlib.figure import Figure

from gridmap.published import PublishedPoint
from gridmap.reports import TrendPoint

Point = TrendPoint | PublishedPoint

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


def _runs(values: list[int | None]) -> list[list[tuple[int, int]]]:
    """Consecutive shown points as runs of (index, value): a hidden point (None) breaks the line."""
    runs: list[list[tuple[int, int]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append((i, v))
    return [r for r in runs if r]


def sparkline(points: Sequence[Point], width: int = 158, height: int = 40) -> str:
    """Suspected + dropped out (area) and dropped out (line) at each month end; last value marked.
    A hidden point (None: aggregate-only logins) is not drawn: the area and line break there.

    Drawn as a few SVG elements by hand: 18 of them per dashboard, where matplotlib took ~30 ms each."""
    if not points:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>'
    offs: list[int | None] = [p.off_school for p in points]
    drops: list[int | None] = [p.dropped_out for p in points]
    top = max([v for v in offs if v is not None] + [1]) * 1.15
    step = (width - 6) / max(len(points) - 1, 1)

    def xy(i: int, value: int) -> str:
        return f"{3 + i * step:.1f},{height - 3 - (height - 6) * value / top:.1f}"

    parts = []
    for run in _runs(offs):
        line = " ".join(xy(i, v) for i, v in run)
        parts.append(f'<polygon points="{3 + run[0][0] * step:.1f},{height - 3:.1f} {line} '
                     f'{3 + run[-1][0] * step:.1f},{height - 3:.1f}" fill="{OFF_SCHOOL_COLOR}" fill-opacity="0.35"/>')
    for run in _runs(drops):
        parts.append(f'<polyline points="{" ".join(xy(i, v) for i, v in run)}" fill="none" '
                     f'stroke="{DROPPED_COLOR}" stroke-width="1.4"/>')
    last = offs[-1]
    if last is not None:
        last_x, last_y = xy(len(points) - 1, last).split(",")
        parts.append(f'<circle cx="{last_x}" cy="{last_y}" r="2" fill="{OFF_SCHOOL_COLOR}"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img">{"".join(parts)}</svg>')


def county_trend(points: Sequence[Point], labels: dict[str, str]) -> str:
    """Counts of suspected and dropped-out children (bars) and the dropout rate (line, ‰) by month."""
    family = cjk_font()
    fig = Figure(figsize=(8, 2.6), dpi=72)
    ax = fig.add_axes((0.07, 0.18, 0.84, 0.68))
    months = [p.month[2:] for p in points]  # "26-11"
    x = list(range(len(points)))
    for offset, name, color in [(-0.2, "suspected", OFF_SCHOOL_COLOR), (0.2, "dropped_out", DROPPED_COLOR)]:
        shown = [(i, getattr(p, name)) for i, p in zip(x, points, strict=True) if getattr(p, name) is not None]
        ax.bar([i + offset for i, _v in shown], [v for _i, v in shown], width=0.4, color=color, label=labels[name])
    ax.set_xticks(x, months, fontsize=8, family=family)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    rate = ax.twinx()
    rate.plot(x, [1000 * p.dropped_out / p.school_age if p.school_age and p.dropped_out is not None
                  else (math.nan if p.dropped_out is None or p.school_age is None else 0) for p in points],
              color=RATE_COLOR,
              marker="o", markersize=3, linewidth=1.5, label=labels["rate"])
    rate.set_ylim(bottom=0)
    rate.tick_params(axis="y", labelsize=8, colors=RATE_COLOR)
    rate.spines[["top"]].set_visible(False)
    handles = [*ax.get_legend_handles_labels()[0], *rate.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="upper center", ncols=3, frameon=False, prop={"family": family, "size": 9})
    return _svg(fig)

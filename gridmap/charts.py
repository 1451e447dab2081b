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


def _value(v: int | None) -> float:
    return math.nan if v is None else float(v)  # a hidden figure (aggregate-only logins) is not drawn


def sparkline(points: Sequence[Point], width_in: float = 2.2, height_in: float = 0.55) -> str:
    """Suspected + dropped out (area) and dropped out (line) at each month end; last value marked.
    A point that is hidden (None) leaves a gap."""
    fig = Figure(figsize=(width_in, height_in), dpi=72)
    ax = fig.add_axes((0.01, 0.08, 0.98, 0.84))
    x = list(range(len(points)))
    off = [_value(p.off_school) for p in points]
    dropped = [_value(p.dropped_out) for p in points]
    ax.fill_between(x, off, color=OFF_SCHOOL_COLOR, alpha=0.35, linewidth=0)
    ax.plot(x, dropped, color=DROPPED_COLOR, linewidth=1.4)
    if points and not math.isnan(off[-1]):
        ax.plot([len(points) - 1], [off[-1]], "o", color=OFF_SCHOOL_COLOR, markersize=3)
    ax.set_ylim(0, max([v for v in off if not math.isnan(v)] + [1]) * 1.15)
    ax.set_xlim(-0.3, max(len(points) - 0.7, 0.7))
    ax.axis("off")
    return _svg(fig)


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

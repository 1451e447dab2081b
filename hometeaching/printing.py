"""Printed send-teaching-home papers: the A4 route sheet of a trip (and the map the phone page shows),
and the visit handbook (送教手册) of a child for a term. Maps are matplotlib SVG (text kept as text)
in the engine's metric CRS; pages are WeasyPrint with the embedded WenQuanYi font, as in atlas/.
Children appear by their pinyin initials on maps; the sheets list the guardian to call."""

from __future__ import annotations

import base64
import io
import math
from datetime import date, timedelta
from typing import Any

import matplotlib
import numpy as np
from django.contrib.gis.geos import Polygon
from django.template.loader import render_to_string
from django.utils import timezone
from matplotlib.figure import Figure

from gridmap import visits as weekly
from gridmap.charts import cjk_font
from gridmap.models import HomeTeachingPlan, Road, Term
from hometeaching.routes import Trip, WeekPlan, clock_text, reason_text, trip_lines, week_text
from routing.network import projection

ROAD_STYLE = {"motorway": (1.6, "#d9a0a0"), "trunk": (1.4, "#e0b080"), "primary": (1.2, "#e8c070"),
              "secondary": (1.0, "#e8d890"), "tertiary": (0.8, "#cccccc")}
LEG_COLOUR = "#c0392b"


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def trip_map(plan: WeekPlan, trip: Trip, width_in: float = 7.0, height_in: float = 5.2) -> tuple[str, list[dict[str, Any]]]:
    """The trip drawn along the roads (SVG), and its legs (minutes, km) in order."""
    family = cjk_font()
    lines = trip_lines(plan, trip)
    proj = projection()
    school_xy = proj.metric(np.array([[plan.school.location.x, plan.school.location.y]]))[0]
    stops_xy = proj.metric(np.array([s.lonlat for s in trip.stops]))
    legs: list[dict[str, Any]] = []
    paths: list[np.ndarray | None] = []
    for i, line in enumerate(lines):
        if line is None:
            paths.append(None)
            legs.append({"n": i + 1, "minutes": None, "km": None})
            continue
        paths.append(proj.metric(line.coords))
        legs.append({"n": i + 1, "minutes": round(line.time_s / 60, 1), "km": round(line.distance_m / 1000, 2)})
    every = np.vstack([school_xy[None, :], stops_xy, *[p for p in paths if p is not None]])
    (x0, y0), (x1, y1) = every.min(axis=0), every.max(axis=0)
    pad = max(x1 - x0, y1 - y0) * 0.08 + 150
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    # keep the paper's aspect
    want = width_in / height_in
    if (x1 - x0) / (y1 - y0) < want:
        grow = (y1 - y0) * want - (x1 - x0)
        x0, x1 = x0 - grow / 2, x1 + grow / 2
    else:
        grow = (x1 - x0) / want - (y1 - y0)
        y0, y1 = y0 - grow / 2, y1 + grow / 2
    fig = Figure(figsize=(width_in, height_in))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    corners = proj.lonlat(np.array([[x0, y0], [x1, y1]]))
    box = Polygon.from_bbox((*corners[0], *corners[1]))
    box.srid = 4326
    for geom, highway in Road.objects.filter(geom__intersects=box).values_list("geom", "highway"):
        width, colour = ROAD_STYLE.get(highway, (0.5, "#dddddd"))
        xy = proj.metric(np.asarray(geom.coords))
        ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=width, zorder=1, solid_capstyle="round")
    for path in paths:
        if path is None or len(path) < 2:
            continue
        ax.plot(path[:, 0], path[:, 1], color=LEG_COLOUR, lw=2.2, zorder=3, alpha=0.85, solid_capstyle="round")
        _arrow(ax, path)
    ax.plot(*school_xy, marker="s", ms=11, color="#1f4e9c", zorder=5)
    ax.annotate(plan.school.name, school_xy, xytext=(8, -12), textcoords="offset points", fontsize=8,
                family=family, color="#1f4e9c", zorder=6)
    for n, (xy, stop) in enumerate(zip(stops_xy, trip.stops, strict=True), 1):
        ax.plot(*xy, marker="o", ms=15, color="white", mec=LEG_COLOUR, mew=1.8, zorder=5)
        ax.annotate(str(n), xy, ha="center", va="center", fontsize=8, fontweight="bold", color=LEG_COLOUR, zorder=6)
        ax.annotate(stop.initials, xy, xytext=(9, 6), textcoords="offset points", fontsize=8, family=family, zorder=6)
    _scale_bar(ax, x0, x1, y0, y1, family)
    ax.annotate("N ↑", (0.97, 0.95), xycoords="axes fraction", ha="right", fontsize=9, family=family)
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg"):], legs


def _arrow(ax: Any, path: np.ndarray) -> None:
    """An arrowhead halfway along a leg, pointing the way the trip goes."""
    seg = np.hypot(*np.diff(path, axis=0).T)
    total = seg.sum()
    if total <= 0:
        return
    k = int(np.searchsorted(np.cumsum(seg), total / 2))
    k = min(k, len(seg) - 1)
    a, b = path[k], path[k + 1]
    if np.allclose(a, b):
        return
    mid = (a + b) / 2
    ax.annotate("", xy=mid + (b - a) / np.hypot(*(b - a)) * 1e-3, xytext=mid, zorder=4,
                arrowprops={"arrowstyle": "-|>,head_length=0.8,head_width=0.45", "color": LEG_COLOUR, "lw": 0})


def _scale_bar(ax: Any, x0: float, x1: float, y0: float, y1: float, family: list[str]) -> None:
    span = (x1 - x0) / 5
    nice = 10 ** math.floor(math.log10(span))
    length = max(n * nice for n in (1, 2, 5) if n * nice <= span)
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.05
    ax.plot([bx, bx + length], [by, by], color="black", lw=2, zorder=6)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.annotate(label, (bx + length / 2, by), xytext=(0, 4), textcoords="offset points", ha="center",
                fontsize=7, family=family, zorder=6)


def trip_context(plan: WeekPlan, trip: Trip) -> dict[str, Any]:
    svg, legs = trip_map(plan, trip)
    rows = []
    for i, (stop, start) in enumerate(zip(trip.stops, trip.starts, strict=True)):
        rows.append({"n": i + 1, "stop": stop, "start": clock_text(start), "end": clock_text(start + stop.service_s),
                     "leg": legs[i]})
    known = [leg for leg in legs if leg["minutes"] is not None]
    return {"plan": plan, "trip": trip, "map": data_uri(svg), "map_svg": svg, "rows": rows, "back_leg": legs[-1],
            "depart": clock_text(trip.depart), "back": clock_text(trip.back), "week": week_text(plan.week),
            "total_min": round(sum(leg["minutes"] for leg in known), 1),
            "total_km": round(sum(leg["km"] for leg in known), 2),
            "travel_min": round(trip.travel_s / 60, 1), "printed_on": timezone.localdate()}


def route_sheets_pdf(plan: WeekPlan, trips: list[Trip] | None = None) -> bytes:
    """The A4 route sheets of a week (one page per trip; a cover list of what could not be fitted)."""
    from weasyprint import HTML  # pango loads only when something is printed

    pages = [trip_context(plan, t) for t in (trips if trips is not None else plan.trips)]
    html = render_to_string("hometeaching/route_sheet.html", {
        "pages": pages, "plan": plan, "week": week_text(plan.week),
        "unfit": [(s, reason_text(r)) for s, r in plan.unfit], "printed_on": timezone.localdate()})
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]


def term_bounds(school_year: int, term: str) -> tuple[date, date]:
    """Autumn term: 1 September – 31 January; spring term: 1 February – 31 August (the handbook's span)."""
    if term == Term.AUTUMN:
        return date(school_year, 9, 1), date(school_year + 1, 1, 31)
    return date(school_year + 1, 2, 1), date(school_year + 1, 8, 31)


def handbook_pdf(plan: HomeTeachingPlan, school_year: int, term: str) -> bytes:
    """送教手册: the plan, the term's goals and reviews, every visit with its record, the weeks owed."""
    from weasyprint import HTML

    first, last = term_bounds(school_year, term)
    visits = list(weekly.teacher_counts(plan.visits.filter(date__range=(first, last)))
                  .prefetch_related("teachers").order_by("date", "start_time"))
    weeks = [pw for pw in weekly.plan_weeks(HomeTeachingPlan.objects.filter(pk=plan.pk), first, last)
             if weekly.monday(pw.week) + timedelta(days=6) <= min(last, timezone.localdate())]
    html = render_to_string("hometeaching/handbook.html", {
        "plan": plan, "child": plan.child, "visits": visits, "goals": plan.goals.filter(school_year=school_year, term=term),
        "term_label": f"{school_year}—{school_year + 1}学年{'第一' if term == Term.AUTUMN else '第二'}学期",
        "first": first, "last": last, "weeks_short": [pw for pw in weeks if pw.short],
        "weeks_owed": sum(1 for pw in weeks if pw.visits_due), "printed_on": timezone.localdate(),
        "content_areas": plan_areas(plan)})
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]


def plan_areas(plan: HomeTeachingPlan) -> list[str]:
    from gridmap.models import ContentArea

    labels = dict(ContentArea.choices)
    return [str(labels.get(a.strip(), a.strip())) for a in plan.content_areas.split(",") if a.strip()]

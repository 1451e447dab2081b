"""Exports of the impact report: an Excel workbook (one sheet per table, the summary first) and an
A4/A3 PDF for the study and the public notice (WeasyPrint, the embedded WenQuanYi font, the
before/after maps drawn by matplotlib as SVG with text kept as text).

Everything here reads a planning.report.Report, whose counts are already as the login may read them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon as MplPolygon
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from gridmap.charts import cjk_font
from gridmap.exports import xlsx_row
from planning.report import Report, Stats

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PALETTE = ["#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#d9d9d9",
           "#bc80bd", "#ccebc5", "#ffed6f"]


def response(body: bytes, filename: str, content_type: str) -> HttpResponse:
    r = HttpResponse(body, content_type=content_type)
    r["Content-Disposition"] = content_disposition_header(True, filename)
    return r


def stat_pairs(rep: Report) -> list[tuple[str, Stats | None]]:
    return [(_("travel time before (min)"), rep.time_before), (_("travel time after (min)"), rep.time_after),
            (_("distance before (km)"), rep.dist_before), (_("distance after (km)"), rep.dist_after)]


def _stat_rows(rep: Report) -> list[list[Any]]:
    def row(label: str, s: Stats | None) -> list[Any]:
        return [label, *(s.values() if s else [None] * 5)]
    return [row(_("travel time before (min)"), rep.time_before), row(_("travel time after (min)"), rep.time_after),
            row(_("distance before (km)"), rep.dist_before), row(_("distance after (km)"), rep.dist_after)]


def tables(rep: Report) -> list[tuple[str, list[str], list[list[Any]]]]:
    """Every table of the report as (title, headers, rows): the workbook's sheets and the PDF's tables."""
    t = rep.totals
    out: list[tuple[str, list[str], list[list[Any]]]] = []
    out.append((_("Totals"), [_("figure"), _("value")], [
        [_("schools closed or merged"), t["schools_closed"]], [_("pupils who change school"), t["moved"]],
        [_("of whom no school has a free place"), t["no_place"]],
        [_("of whom off the road network (not measurable)"), t["unreachable"]],
        [_("moved pupils beyond the norm before"), t["beyond_before"]],
        [_("moved pupils beyond the norm after"), t["beyond_after"]],
        [_("moved pupils whose way before is not measurable"), t["unmeasured_before"]],
        [_("newly beyond the norm"), t["newly_beyond"]], [_("new boarding demand"), t["boarding_demand"]],
        [_("receiving schools over capacity"), t["over_capacity_schools"]],
        [_("places beyond capacity at receiving schools"), t["overflow"]],
        [_("new coverage gaps (children)"), t["new_gaps"]], [_("coverage gaps closed (children)"), t["closed_gaps"]],
        [_("moved pupils of a key group"), t["key_moved"]],
        [_("send-teaching-home trips from another school"), t["home_taught_changed"]]]))
    out.append((_("Travel before and after"), [_("moved pupils measured both times"), _("children"), _("mean"),
                                                _("median"), _("90th percentile"), _("maximum")], _stat_rows(rep)))
    out.append((_("Closed schools"), [_("code"), _("school"), _("merged into"), _("pupils"), _("moved"),
                                      _("mean min before"), _("mean min after")],
                [[c["code"], c["name"], c["merge_into"], c["enrolment"], c["moved"], c["time_before"].mean,
                  c["time_after"].mean] for c in rep.closed]))
    out.append((_("Flows"), [_("closing school"), _("receiving school"), _("children")],
                [[f["from"], f["to"], f["children"]] for f in rep.flows]))
    out.append((_("Receiving schools"), [_("code"), _("school"), _("capacity"), _("pupils before"), _("staying"),
                                         _("arriving"), _("after"), _("beyond capacity"), _("boards"),
                                         _("new boarding demand")],
                [[r["code"], r["name"], r["capacity"], r["before"], r["stay"], r["arrivals"], r["after"], r["overflow"],
                  _("yes") if r["boarding"] else _("no"), r["boarding_demand"]] for r in rep.receiving]))
    out.append((_("By grade"), [_("grade"), _("moved"), _("moved, beyond the norm before"),
                                _("moved, beyond the norm after"), _("new boarding demand"),
                                _("county pupils beyond the norm before"), _("county pupils beyond the norm after")],
                [[g["grade"], g["moved"], g["beyond_before"], g["beyond_after"], g["boarding_demand"],
                  g["county_before"], g["county_after"]] for g in rep.grades]))
    out.append((_("Coverage gaps by grade"), [_("grade"), _("gaps before"), _("gaps after"), _("new"), _("closed")],
                [[g["grade"], g["before"], g["after"], g["new"], g["closed"]] for g in rep.gaps_by_grade]))
    out.append((_("Key groups and key grades"), [_("group or grade"), _("moved"), _("beyond the norm after"),
                                                 _("newly beyond")],
                [[k["label"], k["moved"], k["beyond_after"], k["newly_beyond"]] for k in rep.key_groups]
                + [[_("grade %(g)s") % {"g": k["grade"]}, k["moved"], k["beyond_after"], k["newly_beyond"]]
                   for k in rep.key_grades]))
    out.append((_("Village groups"), [_("code"), _("village group"), _("township"), _("moved"), _("mean min before"),
                                      _("mean min after"), _("change (min)"), _("beyond the norm after"),
                                      _("new coverage gaps")],
                [[g["code"], g["name"], g["township"], g["moved"], g["before"], g["after"], g["delta"],
                  g["beyond_after"], g["new_gaps"]] for g in rep.groups]))
    out.append((_("Send-teaching-home trips"), [_("village group"), _("school before"), _("school after"),
                                                _("min before"), _("min after"), _("km before"), _("km after")],
                [[h["group"], h["from"], h["to"], h["minutes_before"], h["minutes_after"], h["km_before"],
                  h["km_after"]] for h in rep.home_taught]))
    return out


def workbook(rep: Report) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _("Summary")[:31]
    ws.append(xlsx_row(ws, [rep.title]))
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(xlsx_row(ws, [rep.summary]))
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[2].height = 90
    ws.column_dimensions["A"].width = 110
    ws.append([])
    ws.append(xlsx_row(ws, [_("Changes")]))
    for c in rep.changes:
        ws.append(xlsx_row(ws, [c]))
    ws.append([])
    ws.append(xlsx_row(ws, [_("Overflow rule") + "：" + rep.rule_text]))
    ws.append(xlsx_row(ws, [_("Data as of") + "：" + rep.as_of]))
    for n in rep.norms:
        ws.append(xlsx_row(ws, [n]))
    ws.append(xlsx_row(ws, [_("Counts of 1-4 children are shown as <5 to logins that see children only in aggregate; "
                              "* and — hide other counts from which one could be recomputed.")]))
    for title, headers, rows in tables(rep):
        sheet = wb.create_sheet(title[:31])
        sheet.append(xlsx_row(sheet, headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for r in rows:
            sheet.append(xlsx_row(sheet, r))
        for i, h in enumerate(headers, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = max(10, min(40, 2 * len(h) + 4))
        sheet.freeze_panes = "A2"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.print_title_rows = "1:1"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def comparison(reports: Sequence[Report]) -> list[list[Any]]:
    """Rows of the side-by-side table: one figure per row, one scenario per column."""
    def val(rep: Report, key: str) -> Any:
        return rep.totals[key]
    keys = [("schools_closed", _("schools closed or merged")), ("moved", _("pupils who change school")),
            ("no_place", _("of whom no school has a free place")), ("unreachable", _("of whom off the road network")),
            ("beyond_after", _("moved pupils beyond the norm after")), ("newly_beyond", _("newly beyond the norm")),
            ("boarding_demand", _("new boarding demand")), ("over_capacity_schools", _("receiving schools over capacity")),
            ("overflow", _("places beyond capacity")), ("new_gaps", _("new coverage gaps (children)")),
            ("key_moved", _("moved pupils of a key group")),
            ("home_taught_changed", _("send-teaching-home trips from another school"))]
    rows: list[list[Any]] = [[label, *[val(r, k) for r in reports]] for k, label in keys]
    rows.append([_("mean travel time before (min)"), *[r.time_before.mean if r.time_before else None for r in reports]])
    rows.append([_("mean travel time after (min)"), *[r.time_after.mean if r.time_after else None for r in reports]])
    rows.append([_("90th percentile after (min)"), *[r.time_after.p90 if r.time_after else None for r in reports]])
    rows.append([_("longest after (min)"), *[r.time_after.max if r.time_after else None for r in reports]])
    return rows


def comparison_workbook(scenarios: Sequence[Any], rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _("Comparison")[:31]
    ws.append(xlsx_row(ws, [_("figure"), *[s.name for s in scenarios]]))
    for r in rows:
        ws.append(xlsx_row(ws, r))
    ws.column_dimensions["A"].width = 40
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- the PDF --------------------------------------------------------------------------------------

def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def delta_colour(delta: float | None) -> str:
    """Change of the mean travel time (minutes) as a colour; the page's map uses the same steps."""
    if delta is None:
        return "#bbbbbb"
    for limit, colour in ((0, "#1a9850"), (5, "#fee08b"), (15, "#fdae61"), (30, "#f46d43")):
        if delta <= limit:
            return colour
    return "#a50026"


def extent(data: dict[str, Any]) -> tuple[float, float, float, float]:
    """Where the scenario acts — its moved cells, closing and receiving schools — with a margin of
    half its size (at least ~5 km); the whole county when nothing moves."""
    focus = [c for f in data["cells"] for ring in _rings(f["geometry"]) for c in ring]
    focus += [f["geometry"]["coordinates"] for f in data["schools"] if f["properties"]["role"] != "other"]
    if not focus:
        focus = [c for f in data["before"] for ring in _rings(f["geometry"]) for c in ring]
    pts = np.array([p[:2] for p in focus]) if focus else np.zeros((1, 2))
    (xmin, ymin), (xmax, ymax) = pts.min(axis=0), pts.max(axis=0)
    pad_x, pad_y = max((xmax - xmin) / 2, 0.05), max((ymax - ymin) / 2, 0.045)
    return xmin - pad_x, ymin - pad_y, xmax + pad_x, ymax + pad_y


def draw_maps(data: dict[str, Any], width_in: float, height_in: float) -> str:
    """Before (left) and after (right): catchments by school, moved cells by the change in travel
    time, flows from closing to receiving schools; one SVG."""
    family = cjk_font()
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": family}):
        fig = Figure(figsize=(width_in, height_in))
        xmin, ymin, xmax, ymax = extent(data)
        aspect = 1 / max(np.cos(np.radians((ymin + ymax) / 2)), 0.1)
        for k, (key, title) in enumerate((("before", _("Before")), ("after", _("After")))):
            ax = fig.add_axes((0.01 + 0.5 * k, 0.02, 0.48, 0.9))
            ax.set_title(title, fontsize=10)
            patches, colours = [], []
            for f in data[key]:
                for ring in _rings(f["geometry"]):
                    patches.append(MplPolygon(np.array(ring)[:, :2], closed=True))
                    colours.append(PALETTE[f["properties"]["colour"] % len(PALETTE)])
            ax.add_collection(PatchCollection(patches, facecolor=colours, edgecolor="#666666", linewidth=0.3,
                                              alpha=0.8))
            if key == "after":
                cells, cc = [], []
                for f in data["cells"]:
                    for ring in _rings(f["geometry"]):
                        cells.append(MplPolygon(np.array(ring)[:, :2], closed=True))
                        cc.append(delta_colour(f["properties"]["delta_min"]))
                ax.add_collection(PatchCollection(cells, facecolor=cc, edgecolor="#333333", linewidth=0.4))
                lines = [np.array(f["geometry"]["coordinates"]) for f in data["flows"]]
                widths = [0.6 + min(4.0, float(f["properties"]["weight"]) / 10) for f in data["flows"]]
                ax.add_collection(LineCollection(lines, colors="#08306b", linewidths=widths))
            for f in data["schools"]:
                p = f["properties"]
                x, y = f["geometry"]["coordinates"]
                state = p["before"] if key == "before" else p["after"]
                if p["role"] == "closing":
                    ax.plot([x], [y], marker="X" if key == "after" else "o", color="#d7191c", markersize=6,
                            markeredgecolor="#000000", markeredgewidth=0.4)
                    ax.annotate(p["name"].removeprefix("东阳市"), (x, y), fontsize=5, xytext=(3, 3),
                                textcoords="offset points", color="#7f0000")
                elif state:
                    big = p["role"] in ("receiving", "opening") and key == "after"
                    ax.plot([x], [y], marker="s" if big else "o", color="#2c7bb6" if big else "#333333",
                            markersize=4 if big else 1.6)
            ax.set_xlim(xmin, xmax)
            ax.set_ylim(ymin, ymax)
            ax.set_aspect(aspect)
            ax.set_xticks([])
            ax.set_yticks([])
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg"):]


def pdf(rep: Report, data: dict[str, Any], paper: str = "A4") -> bytes:
    from weasyprint import HTML  # pango loads only when something is printed

    width_mm = {"A4": 194, "A3": 281}[paper]
    svg = draw_maps(data, width_mm / 25.4, width_mm / 25.4 * 0.55)
    html = render_to_string("planning/report_pdf.html", {
        "rep": rep, "paper": paper, "map_svg": svg, "tables": tables(rep), "printed": timezone.localdate(),
        "legend": [(_("≤0 min"), delta_colour(0)), (_("0–5 min"), delta_colour(5)), (_("5–15 min"), delta_colour(15)),
                   (_("15–30 min"), delta_colour(30)), (_(">30 min"), delta_colour(31))]})
    return bytes(HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf())

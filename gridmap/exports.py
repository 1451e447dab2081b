"""Tables for download: Excel laid out for printing (title, frozen header, widths, A4 landscape,
header repeated on every page) or CSV that Excel opens in Chinese (UTF-8 with BOM).

ID numbers never reach this module unmasked: callers pass `Child.id_masked`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from gridmap.grid import Cell
from gridmap.models import Area

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
THIN = Side(style="thin", color="999999")
# Text that a spreadsheet would run as a formula (CSV/formula injection): a cadre named
# "=HYPERLINK(...)" must stay a name. OWASP's list: = + - @, and tab / carriage return.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_row(values: Sequence[Any]) -> list[Any]:
    """A CSV row with formula-like text made inert by a leading apostrophe (CSV has no types)."""
    return [f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in values]


def xlsx_row(ws: Any, values: Sequence[Any]) -> list[Any]:
    """A row for `ws.append` (normal or write-only sheets) with formula-like text stored as text:
    a string cell with Excel's quote prefix, shown exactly as written and never evaluated."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, str) and value.startswith(FORMULA_START):
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            value = cell
        out.append(value)
    return out


def table_response(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str,
                   filename: str, widths: Sequence[int] | None = None, note: str = "") -> HttpResponse:
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(csv_row(headers))
        writer.writerows(csv_row(row) for row in rows)
        body, content_type = ("\ufeff" + text.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    else:
        body, content_type = workbook_bytes(title, headers, rows, widths, note), XLSX
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, f"{filename}.{fmt}")
    return response


def workbook_bytes(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
                   widths: Sequence[int] | None = None, note: str = "") -> bytes:
    wb = Workbook()
    ws: Any = wb.active
    ws.title = title[:31]
    ws.append(xlsx_row(ws, [title]))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font = Font(size=14, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(xlsx_row(ws, headers))
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
    for row in rows:
        ws.append(xlsx_row(ws, row))
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            cell.border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
    footer = note or _("Exported %(when)s") % {"when": timezone.localtime().strftime("%Y-%m-%d %H:%M")}
    ws.append([])
    ws.append(xlsx_row(ws, [footer]))
    for i, header in enumerate(headers, start=1):
        width = widths[i - 1] if widths else max(8, 2 * len(header) + 2)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


GRID_HEADERS = [
    "乡镇", "行政村", "村民小组", "网格代码", "包保学校", "包村领导", "包村领导电话", "包组干部",
    "包组干部电话", "适龄儿童", "疑似辍学+辍学", "每百人", "重点儿童无包保教师", "责任缺口",
]
GRID_WIDTHS = [10, 14, 14, 18, 22, 10, 14, 10, 14, 10, 12, 8, 14, 30]


def grid_rows(cells: Sequence[Cell]) -> list[list[Any]]:
    rows = []
    for c in cells:
        rate = c.off_school_per_100
        rows.append([
            c.township_name, c.village_name, c.name, c.code, c.school.name if c.school else "",
            c.leader.name if c.leader else "", c.leader.phone if c.leader else "",
            c.cadre.name if c.cadre else "", c.cadre.phone if c.cadre else "",
            c.children, c.off_school, round(rate, 1) if rate is not None else "", c.untaught,
            "；".join(c.gap_labels),
        ])
    return rows


def grid_table(area: Area, cells: Sequence[Cell], fmt: str) -> HttpResponse:
    title = f"{area.name}网格包保责任表"
    return table_response(title, GRID_HEADERS, grid_rows(cells), fmt, f"{title}_{area.code}", GRID_WIDTHS)

"""Tables for download: Excel laid out for printing (title, frozen header, widths, A4 landscape,
header repeated on every page) or CSV that Excel opens in Chinese (UTF-8 with BOM).

Both are streamed: rows are consumed one at a time from an iterator (the callers give one query's
rows, never a model per row), the CSV goes out as it is written, the workbook is written by
openpyxl's write-only mode into a temporary file that is then sent in chunks. Memory stays flat
whatever the size of the county.

Every value of every cell passes through `_cell`, and then `csv_row` / `xlsx_row`, which keep text a
spreadsheet would run as a formula inert (the one place for it). ID numbers never reach this module
unmasked: callers pass `Child.id_masked`.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gridmap.grid import Cell
from gridmap.models import Area

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
THIN = Side(style="thin", color="999999")
CSV_BATCH = 500  # rows per chunk sent
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


def _cell(value: Any) -> Any:
    """The value written to a CSV or workbook cell (every exported value passes here). An empty
    text is no cell at all in a workbook (a fifth of a ledger's cells), and empty in a CSV alike."""
    return None if value == "" else value


def table_response(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str,
                   filename: str, widths: Sequence[int] | None = None, note: str = "") -> HttpResponseBase:
    response: HttpResponseBase
    if fmt == "csv":
        response = StreamingHttpResponse(csv_chunks(headers, rows), content_type="text/csv; charset=utf-8")
    else:
        response = FileResponse(workbook_file(title, headers, rows, widths, note), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, f"{filename}.{fmt}")
    return response


def csv_chunks(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The CSV as UTF-8 with a BOM (so that Excel reads Chinese), a few hundred rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(csv_row([_cell(h) for h in headers]))
    for i, row in enumerate(rows, start=1):
        writer.writerow(csv_row([_cell(v) for v in row]))
        if i % CSV_BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_workbook(out: IO[bytes], title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
                   widths: Sequence[int] | None = None, note: str = "") -> None:
    """A printable workbook, written row by row (openpyxl write-only mode)."""
    wb = Workbook(write_only=True)
    ws: Any = wb.create_sheet(title[:31])
    for i, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths[i - 1] if widths else max(8, 2 * len(header) + 2)
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.print_options.gridLines = True  # data cells carry no border objects: print the grid instead
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.merged_cells.add(f"A1:{get_column_letter(len(headers))}1")
    heading = WriteOnlyCell(ws, value=_cell(title))  # titles and headings are ours, never formula-like
    heading.font, heading.alignment = Font(size=14, bold=True), Alignment(horizontal="center")
    ws.append([heading])
    border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
    head_row = []
    for header in headers:
        cell = WriteOnlyCell(ws, value=_cell(header))
        cell.font, cell.fill, cell.border = Font(bold=True), PatternFill("solid", fgColor="DDEBF7"), border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        head_row.append(cell)
    ws.append(head_row)
    for row in rows:
        ws.append(xlsx_row(ws, [_cell(v) for v in row]))
    footer = note or _("Exported %(when)s") % {"when": timezone.localtime().strftime("%Y-%m-%d %H:%M")}
    ws.append([])
    ws.append(xlsx_row(ws, [_cell(footer)]))
    wb.save(out)


def workbook_file(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
                  widths: Sequence[int] | None = None, note: str = "") -> IO[bytes]:
    """The workbook in a temporary file (removed when closed), positioned at its start."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
    write_workbook(out, title, headers, rows, widths, note)
    out.seek(0)
    return out


def workbook_bytes(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
                   widths: Sequence[int] | None = None, note: str = "") -> bytes:
    out = io.BytesIO()
    write_workbook(out, title, headers, rows, widths, note)
    return out.getvalue()


GRID_HEADERS = [
    "乡镇", "行政村", "村民小组", "网格代码", "包保学校", "包村领导", "包村领导电话", "包组干部",
    "包组干部电话", "适龄儿童", "疑似辍学+辍学", "每百人", "重点儿童无包保教师", "责任缺口",
]
GRID_WIDTHS = [10, 14, 14, 18, 22, 10, 14, 10, 14, 10, 12, 8, 14, 30]


def grid_rows(cells: Sequence[Cell]) -> Iterator[list[Any]]:
    for c in cells:
        rate = c.off_school_per_100
        yield [
            c.township_name, c.village_name, c.name, c.code, c.school.name if c.school else "",
            c.leader.name if c.leader else "", c.leader.phone if c.leader else "",
            c.cadre.name if c.cadre else "", c.cadre.phone if c.cadre else "",
            c.children, c.off_school, round(rate, 1) if rate is not None else "", c.untaught,
            "；".join(c.gap_labels),
        ]


def grid_table(area: Area, cells: Sequence[Cell], fmt: str) -> HttpResponseBase:
    title = f"{area.name}网格包保责任表"
    return table_response(title, GRID_HEADERS, grid_rows(cells), fmt, f"{title}_{area.code}", GRID_WIDTHS)

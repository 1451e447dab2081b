"""Reading what a county brings, checked before anything else happens (GDAL's check_layer idea).

Vector files come out as a GeoDataFrame in EPSG:4326 (GCJ-02/BD-09 offsets removed); tables as
rows keyed by recognised Chinese headers with their spreadsheet row numbers. Anything that makes a
file unreadable raises ImportError_ with a Problem that names the file and says what to do.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from pyproj import CRS

from importers.coords import TO_WGS84, geometry_to_wgs84
from importers.report import ImportError_, ImportReport, Problem

VECTOR_SUFFIXES = {".shp", ".zip", ".gpkg", ".geojson", ".json", ".kml"}
# Magic bytes, to catch a file that is not what its extension says.
_MAGIC = {
    ".shp": (b"\x00\x00\x27\x0a",),
    ".zip": (b"PK\x03\x04",),
    ".gpkg": (b"SQLite format 3\x00",),
    ".xlsx": (b"PK\x03\x04",),
}
CHINA_LON, CHINA_LAT = (73.0, 136.0), (3.0, 54.0)
# DBF language-driver ids that mean a Chinese code page (ESRI's table).
_LDID_ENCODING = {0x4D: "GB18030", 0x7A: "GB18030", 0x4E: "CP949", 0x4F: "BIG5"}


def fail(file: str, message: str, hint: str, field: str = "", value: str = "") -> ImportError_:
    return ImportError_(Problem(file, None, field, value, message, hint))


# --- limits: a small upload must not become a large load -----------------------------------------

@dataclass(frozen=True)
class Limits:
    """Upper bounds on what an import may make the server hold (settings GRIDMAP_UPLOAD_MAX_MB,
    GRIDMAP_UNZIPPED_MAX_MB, GRIDMAP_ZIP_MAX_RATIO, GRIDMAP_IMPORT_MAX_ROWS)."""

    unzipped_bytes: int
    ratio: float
    rows: int

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        return cls(settings.GRIDMAP_UNZIPPED_MAX_MB * 2**20, settings.GRIDMAP_ZIP_MAX_RATIO,
                   settings.GRIDMAP_IMPORT_MAX_ROWS)


def check_archive(path: Path) -> None:
    """Refuse a zip (or .xlsx, which is one) whose members would unpack beyond the limits, judged
    from the sizes its directory declares — before anything is unpacked or parsed. Python's zipfile
    stops reading a member at its declared size, so a lying directory cannot get past this."""
    limits = Limits.from_settings()
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        what = "Excel 文件已损坏，无法打开" if path.suffix.lower() == ".xlsx" else "压缩包已损坏，无法解压"
        raise fail(path.name, what, "重新导出或重新打包后再试") from exc
    total = sum(m.file_size for m in members)
    if total > limits.unzipped_bytes:
        raise fail(path.name, f"解压后共 {total / 2**20:,.0f} MB，超过上限 {limits.unzipped_bytes / 2**20:,.0f} MB",
                   "拆分为几个较小的文件分别导入")
    for m in members:
        if m.file_size > 2**20 and m.file_size > limits.ratio * max(m.compress_size, 1):
            ratio = m.file_size / max(m.compress_size, 1)
            raise fail(path.name, f"压缩包成员 {Path(m.filename).name} 压缩比异常（{ratio:,.0f} 倍）",
                       "文件疑似“压缩炸弹”，已拒绝；请提供正常导出的文件")


def plain_message(exc: BaseException) -> str:
    """An exception's text without the server's directories (a report names the user's file only)."""
    return re.sub(r"(?:/[^/\s'\"]+)+/", "", str(exc))


# Letters that no Chinese place, school or person name contains, but mojibake does: GBK bytes
# read as UTF-8 leave U+FFFD and stray Latin/Greek/Cyrillic/Armenian letters (城关镇 → "�ǹ���",
# 小河村 → "С�Ӵ�"); read as Latin-1 they become "³Ç¹ØÕò". The middle dot (U+00B7) is kept: it
# separates the parts of minority names (买买提·艾力).
_DAMAGED = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00a0-\u00b6\u00b8-\u024f"
                      "\u0370-\u058f\u0590-\u05ff\ue000-\uf8ff]")


def damaged_text(text: str) -> str | None:
    """Why this text looks destroyed by a wrong encoding, or None when it looks sound."""
    found = _DAMAGED.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\ufffd":
        return "含有替换字符“�”，文字在转换编码时已损坏"
    if ord(char) < 0xA0:
        return f"含有控制字符（U+{ord(char):04X}）"
    return f"含有乱码字符“{char}”（U+{ord(char):04X}），疑似编码读错（如 GBK 被当作 UTF-8）"


def check_text(report: ImportReport, row: int | None, field: str, value: str) -> bool:
    """Record an error for destroyed text; True when the text is sound."""
    why = damaged_text(value)
    if why is None:
        return True
    report.error(row, field, value, why,
                 "用正确的编码重新导出（Excel 另存为 UTF-8 CSV 或 .xlsx；Shapefile 附 .cpg 或用 --encoding 指定）")
    return False


def check_file(path: Path, allowed: set[str]) -> None:
    name = path.name
    if not path.exists():
        raise fail(name, "文件不存在", "检查文件路径")
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise fail(name, f"不支持的文件类型 {suffix or '（无扩展名）'}",
                   f"请提供以下格式之一：{'、'.join(sorted(allowed))}")
    if path.stat().st_size == 0:
        raise fail(name, "文件为空（0字节）", "重新导出或重新复制该文件")
    head = path.read_bytes()[:16]
    magic = _MAGIC.get(suffix)
    text_like = suffix in {".geojson", ".json", ".kml", ".csv"}
    if magic and not head.startswith(magic):
        raise fail(name, f"文件内容不是{suffix}格式（与扩展名不符）", "确认文件来源，按实际格式改正扩展名后重试")
    if text_like and suffix != ".csv":
        first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if first not in (b"{", b"<"):
            raise fail(name, f"文件内容不是{suffix}格式（与扩展名不符）", "确认文件来源，按实际格式改正扩展名后重试")


# --- vector files -----------------------------------------------------------------------------

@dataclass
class VectorOptions:
    encoding: str | None = None  # attribute encoding; detected when None
    srid: int | None = None  # CRS to assume when the file declares none
    coords: str = "wgs84"  # lon/lat system of the coordinates: wgs84, cgcs2000, gcj02, bd09


@contextmanager
def _unzipped(path: Path) -> Iterator[Path]:
    """The one dataset inside a .zip (a shapefile with its sidecars, or a GeoPackage...)."""
    check_archive(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise fail(path.name, "压缩包已损坏，无法解压", "重新打包后再试") from exc
    with archive, tempfile.TemporaryDirectory() as tmp:
        members = [m for m in archive.namelist() if not m.endswith("/") and "__MACOSX" not in m]
        datasets = [m for m in members if Path(m).suffix.lower() in VECTOR_SUFFIXES - {".zip"}]
        if len(datasets) != 1:
            raise fail(path.name, f"压缩包内应恰有一个数据文件（.shp/.gpkg/.geojson/.kml），实有{len(datasets)}个",
                       "每个压缩包只放一个图层")
        archive.extractall(tmp, members)
        yield Path(tmp) / datasets[0]


def detect_dbf_encoding(shp: Path) -> tuple[str, str]:
    """(encoding, how it was decided) for a shapefile's attributes."""
    cpg = shp.with_suffix(".cpg")
    if not cpg.exists():
        cpg = shp.with_suffix(".CPG")
    if cpg.exists():
        declared = cpg.read_text(errors="ignore").strip() or "UTF-8"
        return ("GB18030" if declared.upper() in {"GBK", "936", "CP936", "GB2312"} else declared,
                f".cpg 声明为 {declared}")
    dbf = shp.with_suffix(".dbf")
    raw = dbf.read_bytes() if dbf.exists() else b""
    ldid = raw[29] if len(raw) > 29 else 0
    if ldid in _LDID_ENCODING:
        return _LDID_ENCODING[ldid], f"DBF 语言驱动标记 0x{ldid:02X}"
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) > 10 else 0
    records = raw[header_len:]
    try:
        records.decode("utf-8")
        return "UTF-8", "无 .cpg，按内容判断为 UTF-8"
    except UnicodeDecodeError:
        return "GB18030", "无 .cpg，按内容判断为 GBK/GB18030"


def read_vector(path: Path, options: VectorOptions, report: ImportReport) -> gpd.GeoDataFrame:
    check_file(path, VECTOR_SUFFIXES)
    if path.suffix.lower() == ".zip":
        with _unzipped(path) as inner:
            return _read_dataset(inner, path.name, options, report)
    return _read_dataset(path, path.name, options, report)


def _read_dataset(path: Path, name: str, options: VectorOptions,
                  report: ImportReport) -> gpd.GeoDataFrame:
    encoding = options.encoding
    if path.suffix.lower() == ".shp":
        for sidecar in (".dbf", ".shx"):
            if not path.with_suffix(sidecar).exists() and not path.with_suffix(sidecar.upper()).exists():
                raise fail(name, f"缺少配套的 {sidecar} 文件", "Shapefile 须 .shp、.shx、.dbf 三个文件一起提供（可打包为 .zip）")
        if encoding is None:
            encoding, how = detect_dbf_encoding(path)
            if not how.startswith(".cpg"):
                report.warn(None, "", encoding, f"属性表编码：{how}",
                            "如中文乱码，请用 --encoding 指定（GBK 或 UTF-8）")
    try:
        frame = gpd.read_file(path, engine="pyogrio", encoding=encoding)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise fail(name, f"无法读取：{plain_message(exc)}", "确认文件完整、格式正确") from exc
    except UnicodeDecodeError as exc:
        raise fail(name, f"属性表无法按 {encoding} 解码",
                   "用 --encoding 指定正确的编码（GBK 或 UTF-8）；UTF-8 的中文字段名超过10字节时会被截断，"
                   "可改用 GBK 导出或改用 GeoPackage") from exc
    if frame.empty:
        raise fail(name, "文件中没有任何要素", "确认导出的图层不为空")
    frame = _to_wgs84(frame, name, options, report)
    return frame


def _to_wgs84(frame: gpd.GeoDataFrame, name: str, options: VectorOptions,
              report: ImportReport) -> gpd.GeoDataFrame:
    present = frame.geometry.notna() & ~frame.geometry.is_empty
    if not present.any():
        raise fail(name, "所有要素的几何均为空", "确认导出时包含了图形")
    minx, miny, maxx, maxy = frame.geometry[present].total_bounds
    degree_like = minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90
    if frame.crs is None:
        if options.srid:
            frame = frame.set_crs(options.srid)
        elif degree_like:
            frame = frame.set_crs(4490)
            report.warn(None, "", "", "文件未声明坐标系（缺少 .prj），坐标为经纬度，按 CGCS2000（EPSG:4490）读取",
                        "如为投影坐标或其他坐标系，请用 --srid 指定")
        else:
            raise fail(name, f"文件未声明坐标系（缺少 .prj），坐标像投影坐标（如 x={minx:.0f}）",
                       "请用 --srid 指定坐标系，如 CGCS2000 3度带高斯-克吕格 EPSG:4549（中央经线120°）")
    elif options.srid and frame.crs != CRS.from_epsg(options.srid):
        report.warn(None, "", frame.crs.to_string(), f"文件声明了坐标系，已按 --srid {options.srid} 改读",
                    "确认 --srid 确实正确")
        frame = frame.set_crs(options.srid, allow_override=True)
    crs = CRS.from_user_input(frame.crs)
    if crs.is_geographic:
        _check_axis_order(minx, miny, maxx, maxy, name)
    elif degree_like:
        raise fail(name, f"坐标系声明为投影坐标（{crs.name}），但坐标值是经纬度",
                   "坐标系声明有误：去掉错误的 .prj 或用 --srid 4490 指定")
    frame = frame.to_crs(4326)
    if options.coords not in TO_WGS84:
        raise fail(name, f"未知的坐标体系 {options.coords}", "--coords 取 wgs84、cgcs2000、gcj02 或 bd09")
    if options.coords in {"gcj02", "bd09"}:
        frame = frame.set_geometry(gpd.GeoSeries(
            geometry_to_wgs84(frame.geometry.to_numpy(), options.coords), index=frame.index, crs=4326))
        report.warn(None, "", options.coords, f"坐标已由 {options.coords.upper()} 纠偏为 WGS84",
                    "高德/腾讯坐标为 GCJ-02，百度坐标为 BD-09")
    return frame


def _check_axis_order(minx: float, miny: float, maxx: float, maxy: float, name: str) -> None:
    in_china = CHINA_LON[0] <= minx and maxx <= CHINA_LON[1] and CHINA_LAT[0] <= miny and maxy <= CHINA_LAT[1]
    swapped = CHINA_LAT[0] <= minx and maxx <= CHINA_LAT[1] and CHINA_LON[0] <= miny and maxy <= CHINA_LON[1]
    if swapped and not in_china:
        raise fail(name, f"经纬度疑似颠倒（x 在 {minx:.2f}–{maxx:.2f}，像纬度）",
                   "交换经度与纬度后重新导出，或检查字段对应关系")


# --- tables -----------------------------------------------------------------------------------

@dataclass
class TableRow:
    number: int  # row number as the user sees it in Excel (1-based, header rows counted)
    values: dict[str, Any]  # canonical column -> value


def read_table(path: Path, columns: Mapping[str, Sequence[str]], required: Sequence[str],
               report: ImportReport) -> list[TableRow]:
    """Rows of an .xlsx or .csv whose header row names the columns (synonyms allowed).

    The header row is found among the first ten rows (titles above it are common); merged header
    cells are read as if every cell held the merged value; blank rows are skipped.
    """
    check_file(path, {".xlsx", ".csv"})
    limits = Limits.from_settings()
    grid = _xlsx_grid(path, limits.rows) if path.suffix.lower() == ".xlsx" else _csv_grid(path, limits.rows)
    synonyms = {_norm(s): canonical for canonical, names in columns.items() for s in (canonical, *names)}
    best, header_at = -1, 0
    for i, row in enumerate(grid[:10]):
        hits = sum(_norm(c) in synonyms for c in row)
        if hits > best:
            best, header_at = hits, i
    header = grid[header_at] if grid else []
    # A two-row header (a merged group title above the names) leaves names in the lower row.
    mapping: dict[int, str] = {}
    for j, cell in enumerate(header):
        canonical = synonyms.get(_norm(cell))
        if canonical is None and header_at + 1 < len(grid):
            below = grid[header_at + 1][j] if j < len(grid[header_at + 1]) else None
            canonical = synonyms.get(_norm(below))
        if canonical and canonical not in mapping.values():
            mapping[j] = canonical
    data_start = header_at + 1
    if header_at + 1 < len(grid) and any(_norm(c) in synonyms for c in grid[header_at + 1]):
        data_start += 1
    missing = [c for c in required if c not in mapping.values()]
    if missing:
        names = "、".join(f"{c}（或{'/'.join(columns[c][:3])}）" if columns[c] else c for c in missing)
        raise fail(path.name, f"找不到必需的列：{names}", "检查表头名称，或把表头放在前十行内")
    rows = []
    for i, raw in enumerate(grid[data_start:], start=data_start + 1):
        values = {name: (raw[j] if j < len(raw) else None) for j, name in mapping.items()}
        if all(v is None or str(v).strip() == "" for v in values.values()):
            continue  # blank (often trailing) rows
        rows.append(TableRow(i, values))
    if not rows:
        raise fail(path.name, "表中没有数据行", "确认数据在第一个工作表中")
    return rows


def _norm(cell: Any) -> str:
    return "".join(str(cell).split()).replace("（", "(").replace("）", ")") if cell is not None else ""


def _too_many_rows(path: Path, limit: int) -> ImportError_:
    return fail(path.name, f"超过 {limit:,} 行的上限", "拆分为几个文件分别导入（设置 GRIDMAP_IMPORT_MAX_ROWS 可调整上限）")


def _xlsx_grid(path: Path, max_rows: int) -> list[list[Any]]:
    """The first sheet's cells; merged ranges read as if every cell held the top-left value.

    Read-only (streaming) mode keeps a 200,000-row export in bounded memory; it does not expose
    merged cells, so their ranges are read from the sheet's XML (<mergeCell ref="A1:I1"/>), also
    streamed. The workbook's declared sizes are checked first (check_archive).
    """
    check_archive(path)
    grid: list[list[Any]] = []
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        for row in ws.iter_rows(values_only=True):
            if len(grid) >= max_rows:
                wb.close()
                raise _too_many_rows(path, max_rows)
            grid.append(list(row))
        merged = _merged_ranges(path)
        wb.close()
    except ImportError_:
        raise
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise fail(path.name, f"无法打开 Excel 文件（{type(exc).__name__}）", "用 Excel 另存为 .xlsx 后重试") from exc
    for ref in merged:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        if min_row - 1 >= len(grid):
            continue
        value = grid[min_row - 1][min_col - 1] if min_col - 1 < len(grid[min_row - 1]) else None
        for r in range(min_row - 1, min(max_row, len(grid))):
            row = grid[r]
            row.extend([None] * (max_col - len(row)))
            for c in range(min_col - 1, max_col):
                row[c] = value
    return grid


_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _merged_ranges(path: Path) -> list[str]:
    """The merged ranges of the first sheet, read from its XML in 1 MB pieces."""
    with zipfile.ZipFile(path) as archive:
        names = sorted(n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
        if not names:
            return []
        found: list[str] = []
        tail = b""
        with archive.open(names[0]) as xml:
            while chunk := xml.read(2**20):
                text = tail + chunk
                last_end = 0
                for match in _MERGE.finditer(text):
                    found.append(match.group(1).decode())
                    last_end = match.end()
                tail = text[max(last_end, len(text) - 64):]  # a tag cut at the boundary
        return found


def _csv_grid(path: Path, max_rows: int) -> list[list[Any]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise fail(path.name, "CSV 编码无法识别", "另存为 UTF-8 编码的 CSV")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    grid: list[list[Any]] = []
    for row in csv.reader(io.StringIO(text), dialect):
        if len(grid) >= max_rows:
            raise _too_many_rows(path, max_rows)
        grid.append(list(row))
    return grid

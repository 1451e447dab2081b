"""Import boundaries of one level (county, township, village or village group) from a vector file.

Validate everything first; write only with `commit`, in one transaction, upserting by code, so that
re-running the same file changes nothing. Parents are found by code when the file has a parent-code
column, else by location (mapit's find_parents). Spatial checks report in square metres and say where.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gridmap.models import PARENT_LEVEL, Area, AreaLevel
from gridmap.models.areas import CODE_LENGTH
from importers.readers import VectorOptions, check_text, read_vector
from importers.report import OUT_OF_SCOPE, OUT_OF_SCOPE_HINT, ImportError_, ImportReport, ImportSource

CODE_FIELDS = ["代码", "编码", "区划代码", "行政区划代码", "统计用区划代码", "XZQDM", "code", "adcode", "gb"]
NAME_FIELDS = ["名称", "区划名称", "XZQMC", "name"]
PARENT_FIELDS = ["上级代码", "上级编码", "parent_code", "parent"]
LEVEL_NAMES = {"county": "县", "township": "乡镇", "village": "行政村", "group": "村民小组"}


@dataclass
class AreaImportParams(ImportSource):
    path: Path
    level: str
    code_field: str | None = None
    name_field: str | None = None
    parent_field: str | None = None
    vector: VectorOptions = field(default_factory=VectorOptions)
    fix_invalid: bool = False
    commit: bool = False
    # Gaps, overlaps and overhangs smaller than this are digitising noise, not findings.
    tolerance_m2: float = 100.0


@dataclass
class _Candidate:
    row: int
    code: str
    name: str
    geom: BaseGeometry  # shapely, EPSG:4326
    parent: Area | None = None


def normalize_code(raw: Any, level: str) -> str | None:
    """A statistical code for `level`, from what files carry: 12-digit NBS codes padded with zeros
    (330783005000 → 330783005), Tianditu's 156-prefixed keys (156330783), numbers read as floats."""
    if raw is None:
        return None
    text = str(raw).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit():
        return None
    length = CODE_LENGTH[AreaLevel(level)]
    if text.startswith("156") and len(text) - 3 == length:
        text = text[3:]
    if len(text) > length and set(text[length:]) == {"0"}:
        text = text[:length]
    return text if len(text) == length else None


def _pick(frame: gpd.GeoDataFrame, given: str | None, candidates: list[str], what: str,
          report: ImportReport, required: bool = True) -> str | None:
    columns: dict[str, str] = {str(c).lower(): str(c) for c in frame.columns if c != "geometry"}
    if given:
        if given.lower() in columns:
            return columns[given.lower()]
        report.error(None, given, "", f"文件中没有名为「{given}」的字段",
                     f"可用字段：{'、'.join(columns.values())}")
        return None
    for name in candidates:
        if name.lower() in columns:
            return columns[name.lower()]
    if required:
        report.error(None, what, "", f"找不到{what}字段（试过：{'、'.join(candidates)}）",
                     f"用参数指定字段名；可用字段：{'、'.join(columns.values())}")
    return None


def import_areas(params: AreaImportParams) -> ImportReport:
    report = ImportReport(params.display_name)
    level = AreaLevel(params.level)
    try:
        frame = read_vector(params.path, params.vector, report)
    except ImportError_ as exc:
        report.problems.append(exc.problem)
        return report
    code_col = _pick(frame, params.code_field, CODE_FIELDS, "代码", report)
    name_col = _pick(frame, params.name_field, NAME_FIELDS, "名称", report)
    parent_col = _pick(frame, params.parent_field, PARENT_FIELDS, "上级代码", report,
                       required=bool(params.parent_field))
    if code_col is None or name_col is None:
        return report
    candidates = _check_features(frame, level, code_col, name_col, params, report)
    report.counts["读取要素"] = len(frame)
    if level != AreaLevel.COUNTY:
        _find_parents(candidates, level, frame, parent_col, report)
    _spatial_checks(candidates, level, params.tolerance_m2, report)
    if report.ok and params.commit:
        _write(candidates, level, params.display_name, report)
    elif report.ok:
        _count_changes(candidates, level, report)
    return report


def _check_features(frame: gpd.GeoDataFrame, level: AreaLevel, code_col: str, name_col: str,
                    params: AreaImportParams, report: ImportReport) -> list[_Candidate]:
    seen: dict[str, int] = {}
    out = []
    for row, (raw_code, raw_name, geom) in enumerate(
            zip(frame[code_col], frame[name_col], frame.geometry, strict=True), start=1):
        code = normalize_code(raw_code, level)
        name = "" if raw_name is None else str(raw_name).strip()
        ok = True
        if code is None:
            report.error(row, code_col, raw_code, f"不是有效的{LEVEL_NAMES[level]}代码",
                         f"{LEVEL_NAMES[level]}代码应为{CODE_LENGTH[level]}位数字（统计用区划代码）")
            ok = False
        elif code in seen:
            report.error(row, code_col, code, f"代码重复（与第{seen[code]}行相同）", "每个区划只能出现一次，删除或改正重复行")
            ok = False
        else:
            seen[code] = row
        if not name or name.lower() == "nan":
            report.error(row, name_col, raw_name, "名称为空", "填写区划名称")
            ok = False
        elif len(name) > 100:
            report.error(row, name_col, name, f"名称过长（{len(name)}字）", "名称不超过100字")
            ok = False
        elif not check_text(report, row, name_col, name):
            ok = False
        if code is not None and not params.scope.area(code):
            report.error(row, code_col, code, f"该{LEVEL_NAMES[level]}{OUT_OF_SCOPE}", OUT_OF_SCOPE_HINT)
            ok = False
        fixed = _check_geometry(row, geom, params.fix_invalid, report)
        if fixed is None:
            ok = False
        if ok and fixed is not None and code is not None:
            out.append(_Candidate(row, code, name, fixed))
    return out


def _check_geometry(row: int, geom: BaseGeometry | None, fix: bool,
                    report: ImportReport) -> BaseGeometry | None:
    if geom is None or geom.is_empty:
        report.error(row, "几何", "", "几何为空", "补绘该区划的边界，或删除该行")
        return None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        report.error(row, "几何", geom.geom_type, "不是面状几何", "区划边界须为面（Polygon/MultiPolygon）")
        return None
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not fix:
            report.error(row, "几何", reason, "边界几何无效（自相交等）",
                         "在 GIS 软件中修复几何，或加 --fix-invalid 自动修复")
            return None
        geom = _polygonal(shapely.make_valid(geom))
        report.warn(row, "几何", reason, "边界几何无效，已自动修复", "核对修复后的边界")
        if geom.is_empty:
            report.error(row, "几何", reason, "修复后几何为空", "重新绘制该边界")
            return None
    return geom


def _polygonal(geom: BaseGeometry) -> MultiPolygon:
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    nested = [q for p in shapely.get_parts(geom) if isinstance(p, MultiPolygon) for q in p.geoms]
    return MultiPolygon(parts + nested)


def _find_parents(candidates: list[_Candidate], level: AreaLevel, frame: gpd.GeoDataFrame,
                  parent_col: str | None, report: ImportReport) -> None:
    parent_level = PARENT_LEVEL[level]
    if parent_col:
        parent_codes = dict(zip(range(1, len(frame) + 1), frame[parent_col], strict=True))
        wanted = {normalize_code(parent_codes[c.row], parent_level) for c in candidates}
        parents = {a.code: a for a in Area.objects.at_level(parent_level).filter(code__in=wanted)}
        for c in candidates:
            raw = parent_codes[c.row]
            c.parent = parents.get(normalize_code(raw, parent_level) or "")
            if c.parent is None:
                report.error(c.row, parent_col, raw, f"上级{LEVEL_NAMES[parent_level]}代码在库中不存在",
                             f"先导入{LEVEL_NAMES[parent_level]}边界，或改正上级代码")
    else:
        xmin, ymin, xmax, ymax = frame.total_bounds
        bbox = GEOSGeometry(shapely.box(xmin, ymin, xmax, ymax).wkt, srid=4326)
        pool = list(Area.objects.at_level(parent_level).filter(geom__bboverlaps=bbox))
        shapes = [shapely.from_wkb(bytes(a.geom.wkb)) for a in pool]
        tree = shapely.STRtree(shapes)
        for c in candidates:
            hits = tree.query(c.geom.point_on_surface(), predicate="within")
            if len(hits) == 0:
                report.error(c.row, "几何", c.code, f"不在任何已导入的{LEVEL_NAMES[parent_level]}范围内",
                             f"先导入上级{LEVEL_NAMES[parent_level]}边界；若已导入，检查坐标系（--srid/--coords）")
                continue
            c.parent = pool[int(hits[0])]
    for c in candidates:
        if c.parent is not None and not c.code.startswith(c.parent.code):
            report.error(c.row, "代码", c.code, f"代码与所在上级「{c.parent.name}」（{c.parent.code}）不符",
                         "核对代码，或核对边界是否画到了别的上级区划里")


@functools.cache
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def _reproject(geoms: list[BaseGeometry], source: int, target: int) -> list[BaseGeometry]:
    """All geometries in one vectorised pass (one PROJ call for every vertex)."""
    transformer = _transformer(source, target)

    def apply(xy: Any) -> Any:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return list(shapely.transform(np.asarray(geoms, dtype=object), apply)) if geoms else []


def _metric(geoms: list[BaseGeometry]) -> list[BaseGeometry]:
    return _reproject(geoms, 4326, settings.GRIDMAP_METRIC_SRID)


def _inverse(geom: BaseGeometry) -> BaseGeometry:
    return _reproject([geom], settings.GRIDMAP_METRIC_SRID, 4326)[0]


def _where(geom: BaseGeometry) -> str:
    p = geom.representative_point()
    return f"约在 {p.x:.5f}E, {p.y:.5f}N"


def _spatial_checks(candidates: list[_Candidate], level: AreaLevel, tolerance: float,
                    report: ImportReport) -> None:
    """Overhangs out of the parent, overlaps between siblings, gaps inside each parent (in m²)."""
    if not candidates:
        return
    metric = _metric([c.geom for c in candidates])
    unique_parents = list({c.parent.pk: c.parent for c in candidates if c.parent is not None}.values())
    parent_shapes = _metric([shapely.from_wkb(bytes(p.geom.wkb)) for p in unique_parents])
    parents = {p.pk: (p, g) for p, g in zip(unique_parents, parent_shapes, strict=True)}
    for c, geom in zip(candidates, metric, strict=True):
        if c.parent is None:
            continue
        outside = geom.difference(parents[c.parent.pk][1])
        if outside.area > tolerance:
            where = _where(_inverse(outside))
            report.warn(c.row, "几何", c.code, f"超出上级「{c.parent.name}」{outside.area:,.0f} 平方米（{where}）",
                        "核对边界；上下级边界应一致")
    tree = shapely.STRtree(metric)
    for i, j in zip(*tree.query(metric, predicate="intersects"), strict=True):
        if i >= j:
            continue
        overlap = metric[i].intersection(metric[j]).area
        if overlap > tolerance:
            a, b = candidates[i], candidates[j]
            where = _where(_inverse(metric[i].intersection(metric[j])))
            report.warn(a.row, "几何", a.code, f"与第{b.row}行（{b.name}）重叠 {overlap:,.0f} 平方米（{where}）",
                        "同级区划不应重叠，核对两者的公共边界")
    by_parent: dict[int, list[BaseGeometry]] = {}
    for c, geom in zip(candidates, metric, strict=True):
        if c.parent is not None:
            by_parent.setdefault(c.parent.pk, []).append(geom)
    # Siblings already in the database but not in this file also cover their parent: one query.
    others: dict[int, list[BaseGeometry]] = {}
    rows = Area.objects.filter(parent_id__in=list(by_parent)).exclude(
        code__in=[c.code for c in candidates]).values_list("parent_id", "geom")
    for parent_id, geom in rows:
        others.setdefault(parent_id, []).append(shapely.from_wkb(bytes(geom.wkb)))
    for pk, geoms in by_parent.items():
        parent, parent_geom = parents[pk]
        covered = shapely.union_all(geoms + _metric(others.get(pk, [])))
        gap = parent_geom.difference(covered)
        if gap.area > tolerance:
            biggest = max(shapely.get_parts(gap), key=lambda g: g.area)
            report.warn(None, "几何", parent.code,
                        f"「{parent.name}」内有 {gap.area:,.0f} 平方米未被任何{LEVEL_NAMES[level]}覆盖"
                        f"（最大一块 {biggest.area:,.0f} 平方米，{_where(_inverse(biggest))}）",
                        "补全下级区划，或核对边界是否有缝隙")


def _geos(geom: BaseGeometry) -> Any:  # a GEOS MultiPolygon
    multi = geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
    return GEOSGeometry(memoryview(shapely.to_wkb(multi)), srid=4326)


def _plan(candidates: list[_Candidate], level: AreaLevel, report: ImportReport
          ) -> tuple[list[_Candidate], list[tuple[Area, _Candidate]], int]:
    existing = {a.code: a for a in Area.objects.filter(code__in=[c.code for c in candidates])}
    create, update, unchanged = [], [], 0
    for c in candidates:
        area = existing.get(c.code)
        if area is None:
            create.append(c)
        elif area.level != level:
            report.error(c.row, "代码", c.code, f"库中该代码已是{LEVEL_NAMES[area.level]}（{area.name}）",
                         "确认 --level 是否选对")
        elif (area.name == c.name and area.parent_id == (c.parent.pk if c.parent else None)
              and shapely.equals_exact(shapely.from_wkb(bytes(area.geom.wkb)), _as_multi(c.geom), 1e-9)):
            unchanged += 1
        else:
            update.append((area, c))
            if area.name != c.name:
                report.warn(c.row, "名称", f"{area.name} → {c.name}", f"{c.code} 的名称将更改",
                            "确认改名无误（行政区划调整）；否则改正文件中的名称")
    return create, update, unchanged


def _as_multi(geom: BaseGeometry) -> BaseGeometry:
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def _count_changes(candidates: list[_Candidate], level: AreaLevel, report: ImportReport) -> None:
    create, update, unchanged = _plan(candidates, level, report)
    report.counts.update({"将新增": len(create), "将更新": len(update), "无变化": unchanged})


def _write(candidates: list[_Candidate], level: AreaLevel, filename: str, report: ImportReport) -> None:
    with transaction.atomic():
        create, update, unchanged = _plan(candidates, level, report)
        if not report.ok:
            return
        source = f"导入 {filename}"
        Area.objects.bulk_create(
            Area(level=level, code=c.code, name=c.name, parent=c.parent, geom=_geos(c.geom), source=source)
            for c in create)
        for area, c in update:
            area.name, area.parent, area.geom, area.source = c.name, c.parent, _geos(c.geom), source
        Area.objects.bulk_update([a for a, _ in update], ["name", "parent", "geom", "source"], batch_size=500)
        report.counts.update({"新增": len(create), "更新": len(update), "无变化": unchanged})
        report.committed = True

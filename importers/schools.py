"""Import the schools list (Excel/CSV with Chinese headers): validate all rows, then upsert by code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.gis.geos import Point
from django.db import transaction

from gridmap.models import Area, AreaLevel, School, SchoolKind, SchoolStatus
from importers.coords import TO_WGS84
from importers.readers import check_text, read_table
from importers.report import OUT_OF_SCOPE, OUT_OF_SCOPE_HINT, ImportError_, ImportReport, ImportSource

COLUMNS: dict[str, list[str]] = {
    "学校名称": ["名称", "学校", "校名"],
    "学校标识码": ["标识码", "学校代码", "学校编码"],
    "学校类型": ["办学类型", "类型", "学校类别"],
    "经度": ["lon", "lng", "longitude", "X"],
    "纬度": ["lat", "latitude", "Y"],
    "地址": ["学校地址", "详细地址"],
    "学段": ["年级", "开设年级"],
    "核定学位": ["容量", "学位数", "核定学额"],
    "寄宿": ["是否寄宿", "寄宿制"],
    "状态": ["办学状态"],
}
KINDS = {
    "教学点": SchoolKind.TEACHING_POINT, "村小": SchoolKind.VILLAGE_PRIMARY,
    "村级小学": SchoolKind.VILLAGE_PRIMARY, "不完全小学": SchoolKind.VILLAGE_PRIMARY,
    "完小": SchoolKind.FULL_PRIMARY, "完全小学": SchoolKind.FULL_PRIMARY, "小学": SchoolKind.FULL_PRIMARY,
    "中心小学": SchoolKind.CENTRAL_PRIMARY, "中心校": SchoolKind.CENTRAL_PRIMARY,
    "初中": SchoolKind.JUNIOR_MIDDLE, "初级中学": SchoolKind.JUNIOR_MIDDLE,
    "九年一贯制": SchoolKind.NINE_YEAR, "九年一贯制学校": SchoolKind.NINE_YEAR,
}
DEFAULT_GRADES = {
    SchoolKind.TEACHING_POINT: (1, 3), SchoolKind.VILLAGE_PRIMARY: (1, 6),
    SchoolKind.FULL_PRIMARY: (1, 6), SchoolKind.CENTRAL_PRIMARY: (1, 6),
    SchoolKind.JUNIOR_MIDDLE: (7, 9), SchoolKind.NINE_YEAR: (1, 9),
}
STATUSES = {"开办": SchoolStatus.OPEN, "在办": SchoolStatus.OPEN, "正常": SchoolStatus.OPEN,
            "撤并": SchoolStatus.CLOSED, "停办": SchoolStatus.CLOSED, "已撤并": SchoolStatus.CLOSED,
            "规划": SchoolStatus.PLANNED, "筹建": SchoolStatus.PLANNED}
YES = {"是", "寄宿", "y", "yes", "1", "true", "√"}
NO = {"否", "走读", "n", "no", "0", "false", "", "none"}


@dataclass
class SchoolImportParams(ImportSource):
    path: Path
    coords: str = "wgs84"
    commit: bool = False


def parse_grades(text: str) -> tuple[int, int] | None:
    text = text.replace("—", "-").replace("–", "-").replace("～", "-").replace("~", "-")
    if text in {"小学"}:
        return (1, 6)
    if text in {"初中"}:
        return (7, 9)
    if text in {"小学+初中", "小学、初中", "九年一贯"}:
        return (1, 9)
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if len(numbers) == 2 and 1 <= numbers[0] <= numbers[1] <= 9:
        return (numbers[0], numbers[1])
    return None


def import_schools(params: SchoolImportParams) -> ImportReport:
    report = ImportReport(params.display_name)
    try:
        rows = read_table(params.path, COLUMNS, ["学校名称", "学校标识码", "学校类型"], report)
    except ImportError_ as exc:
        report.problems.append(exc.problem)
        return report
    townships = list(Area.objects.at_level(AreaLevel.TOWNSHIP))
    convert = TO_WGS84[params.coords]
    seen: dict[str, int] = {}
    parsed: list[dict[str, Any]] = []
    for row in rows:
        v = row.values
        n = row.number
        text = {k: ("" if v.get(k) is None else str(v.get(k)).strip()) for k in COLUMNS}
        code = text["学校标识码"].removesuffix(".0")
        ok = True
        if not re.fullmatch(r"\d{10}", code):
            report.error(n, "学校标识码", code, "学校标识码应为10位数字", "按全国学校标识码填写")
            ok = False
        elif code in seen:
            report.error(n, "学校标识码", code, f"学校标识码重复（与第{seen[code]}行相同）", "删除或改正重复行")
            ok = False
        else:
            seen[code] = n
        if not text["学校名称"]:
            report.error(n, "学校名称", "", "学校名称为空", "填写学校全称")
            ok = False
        for column in ("学校名称", "地址"):
            ok = check_text(report, n, column, text[column]) and ok
        kind = KINDS.get(text["学校类型"])
        if kind is None:
            report.error(n, "学校类型", text["学校类型"], "无法识别的学校类型",
                         "填写：教学点、村小、完小、中心小学、初中、九年一贯制")
            ok = False
        grades = parse_grades(text["学段"]) if text["学段"] else None
        if text["学段"] and grades is None:
            report.error(n, "学段", text["学段"], "无法识别的学段", "填写如「1-6」「小学」「初中」「1-9」")
            ok = False
        elif grades is None and kind is not None:
            grades = DEFAULT_GRADES[kind]
        capacity = None
        if text["核定学位"]:
            try:
                capacity = int(float(text["核定学位"]))
                if capacity < 0:
                    raise ValueError
            except ValueError:
                report.error(n, "核定学位", text["核定学位"], "核定学位应为非负整数", "填写数字")
                ok = False
        boarding = text["寄宿"].lower()
        if boarding not in YES | NO:
            report.error(n, "寄宿", text["寄宿"], "无法识别", "填「是」或「否」")
            ok = False
        status = STATUSES.get(text["状态"], SchoolStatus.OPEN if not text["状态"] else None)
        if status is None:
            report.error(n, "状态", text["状态"], "无法识别的办学状态", "填写：开办、撤并、规划")
            ok = False
        location, township = _locate(n, text, convert, townships, report)
        if location is None:
            ok = False
        elif township is not None and not params.scope.township(township.code):
            report.error(n, "经度/纬度", township.name, f"学校位于{township.name}，{OUT_OF_SCOPE}", OUT_OF_SCOPE_HINT)
            ok = False
        if ok:
            assert kind is not None and grades is not None and township is not None
            parsed.append(dict(code=code, name=text["学校名称"], kind=kind, first_grade=grades[0],
                               last_grade=grades[1], capacity=capacity, boarding=boarding in YES,
                               status=status, location=location, address=text["地址"],
                               township=township))
    report.counts["读取行"] = len(rows)
    if report.ok:
        _apply(parsed, params, report)
    return report


def _locate(n: int, text: dict[str, str], convert: Any, townships: list[Area],
            report: ImportReport) -> tuple[Point | None, Area | None]:
    if not text["经度"] or not text["纬度"]:
        if text["地址"]:
            report.error(n, "经度/纬度", text["地址"], "只有地址、没有经纬度",
                         "gridmap 不联网做地址解析：请在地图上取点后补填经纬度")
        else:
            report.error(n, "经度/纬度", "", "缺少经纬度", "补填学校位置的经纬度")
        return None, None
    try:
        lon, lat = float(text["经度"]), float(text["纬度"])
    except ValueError:
        report.error(n, "经度/纬度", f"{text['经度']}, {text['纬度']}", "经纬度不是数字", "以十进制度填写，如 120.2345")
        return None, None
    if 3 <= lon <= 54 and 73 <= lat <= 136:
        report.error(n, "经度/纬度", f"{lon}, {lat}", "经纬度疑似填反", "交换经度、纬度两列")
        return None, None
    wlon, wlat = convert(lon, lat)
    point = Point(float(wlon), float(wlat), srid=4326)
    township = next((t for t in townships if t.geom.contains(point)), None)
    if township is None:
        report.error(n, "经度/纬度", f"{lon}, {lat}", "位置不在县域内（不在任何已导入的乡镇范围内）",
                     "核对经纬度及坐标体系（高德/腾讯用 --coords gcj02，百度用 --coords bd09）")
        return None, None
    return point, township


def _apply(parsed: list[dict[str, Any]], params: SchoolImportParams, report: ImportReport) -> None:
    fields = ["name", "kind", "first_grade", "last_grade", "capacity", "boarding", "status",
              "location", "address", "township"]
    with transaction.atomic():
        existing = {s.code: s for s in School.objects.filter(code__in=[p["code"] for p in parsed])}
        create, update, unchanged = [], [], 0
        for p in parsed:
            school = existing.get(p["code"])
            if school is None:
                create.append(School(**p, source=f"导入 {params.display_name}"))
            elif all(_same(getattr(school, f), p[f]) for f in fields):
                unchanged += 1
            else:
                if school.name != p["name"]:
                    report.warn(None, "学校名称", f"{school.name} → {p['name']}", f"学校 {school.code} 的名称将更改",
                                "确认改名无误；否则改正文件中的学校名称")
                for f in fields:
                    setattr(school, f, p[f])
                update.append(school)
        if params.commit:
            School.objects.bulk_create(create)
            School.objects.bulk_update(update, fields)
            report.committed = True
            report.counts.update({"新增": len(create), "更新": len(update), "无变化": unchanged})
        else:
            report.counts.update({"将新增": len(create), "将更新": len(update), "无变化": unchanged})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Point) and isinstance(b, Point):
        return bool(a.equals_exact(b, 1e-9))
    if isinstance(a, Area) and isinstance(b, Area):
        return a.pk == b.pk
    return bool(a == b)

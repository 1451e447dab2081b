"""The hotspot layer of a month as a file: Excel (groups, villages, method) or GeoJSON (the layer's
features at full precision, with the month's figures)."""

from __future__ import annotations

import io
import json
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from gridmap.models import KEY_GROUPS
from hotspots import data
from layers.hotspots import CLUSTER_STYLE, GRADE_LABELS, HotspotLayer, method_note

GROUP_HEADERS = ["网格代码", "行政村", "村民小组", "适龄儿童", "疑似辍学", "辍学", "劝返复学", "疑似+辍学",
                 "每百人", "每百人（平滑）", "率分级", "Gi* z", "p（双侧，置换）", "热点/冷点"]
VILLAGE_HEADERS = ["行政村代码", "行政村", "适龄儿童", "疑似辍学", "辍学", "劝返复学", "疑似+辍学", "每百人",
                   "每百人（平滑）", "率分级"]
RATE_CLASS_NAMES = {"none": "无适龄儿童", "hidden": "<5 不显示", "zero": "0"}


def cluster_label(key: str) -> str:
    return next(str(label) for k, label, _c in CLUSTER_STYLE if k == key)


def _rate_class(key: str, bins: list[float]) -> str:
    if key in RATE_CLASS_NAMES:
        return RATE_CLASS_NAMES[key]
    i = int(key[1:]) - 1
    low = 0 if i == 0 else bins[i - 1]
    return f"{key}（{low:.2f}–{bins[i]:.2f}）"


def describe_filters(filters: data.Filters) -> str:
    parts = []
    if filters.key_group:
        parts.append(str(KEY_GROUPS[filters.key_group]))
    if filters.grade:
        parts.append(next(str(label) for k, label in GRADE_LABELS if k == filters.grade))
    if filters.sex:
        parts.append("男" if filters.sex == "M" else "女")
    return "、".join(parts) or "全部适龄儿童"


def workbook(analysis: data.Analysis) -> bytes:
    wb = Workbook()
    groups: Any = wb.active
    groups.title = "村民小组"
    _table(groups, GROUP_HEADERS, [
        [c.code, c.village, c.name, c.shown["school_age"], c.shown["suspected"], c.shown["dropped_out"],
         c.shown["returned"], c.shown["off_school"], _blank(c.rate), _blank(c.smoothed),
         _rate_class(c.rate_class, analysis.bins), _blank(c.z, 3), _blank(c.p, 5), cluster_label(c.cluster)]
        for c in analysis.cells])
    villages = wb.create_sheet("行政村")
    _table(villages, VILLAGE_HEADERS, [
        [v.code, v.name, v.shown["school_age"], v.shown["suspected"], v.shown["dropped_out"], v.shown["returned"],
         v.shown["off_school"], _blank(v.rate), _blank(v.smoothed), _rate_class(v.rate_class, analysis.village_bins)]
        for v in analysis.villages])
    note = wb.create_sheet("方法说明")
    m, inputs = analysis.meta, analysis.inputs
    lines = [
        ["区域", f"{inputs.root.name}（{inputs.root.code}）"], ["月份（月末台账）", inputs.month],
        ["儿童范围", describe_filters(inputs.filters)], ["方法", method_note(m["permutations"])],
        ["置换次数 / 随机种子", f"{m['permutations']} / {m['seed']}"],
        ["参与检验的小组", m["tested"]], ["无相邻小组（孤岛，未检验）", m["islands"]],
        ["热点 / 冷点（FDR 校正后，90% 及以上）", f"{m['hot']} / {m['cold']}"],
    ]
    for level in ("90", "95", "99"):
        if level in m["fdr_cutoffs"]:
            lines.append([f"{level}% FDR p 临界值", m["fdr_cutoffs"][level]])
            lines.append([f"{level}% 显著：校正后 / 未校正", f"{m['significant_after_fdr'][level]} / "
                                                        f"{m['significant_without_correction'][level]}"])
    if m["reason"]:
        lines.append(["未检验原因", {"no_data": "月末台账无适龄儿童", "constant": "各小组无差异",
                                     "too_few": "可检验的小组少于 3 个"}.get(m["reason"], m["reason"])])
    if m["aggregate_only"]:
        lines.append(["说明", "本账号仅可查看汇总数据：1–4 的数显示为 <5，相应比率和 z、p 值不显示。"])
    for line in lines:
        note.append(line)
    note.column_dimensions["A"].width, note.column_dimensions["B"].width = 34, 100
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _table(ws: Any, headers: list[str], rows: list[list[Any]]) -> None:
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"
    for i, header in enumerate(headers):
        ws.column_dimensions[chr(ord("A") + i)].width = max(9, 2 * len(header) + 2)


def _blank(x: float | None, digits: int = 2) -> float | str:
    return "" if x is None else round(x, digits)


def geojson(analysis: data.Analysis, user: Any) -> bytes:
    layer = HotspotLayer(analysis.inputs.root, user, analysis=analysis)
    layer.simplify, layer.precision = 0.0, 6  # a file keeps the boundaries as stored (6 decimals ≈ 0.1 m)
    return json.dumps(layer.collection(), ensure_ascii=False).encode()

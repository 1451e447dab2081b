"""Import the bureau's student-aid workbook (学生资助发放名册): one row per grant to a child.

Like every importer: the whole file is checked first and a Chinese report names file, row, field,
value, what is wrong and what to do; nothing is written unless asked (--commit), and then in one
transaction. Children are matched by the keyed hash of their ID number — which no report line, log or
problem list shows in clear (the masked form only) — so the workbook must name children already on the
ledger. A row outside the login's scope (ImportSource.scope) is refused by itself in the report.
Grants are upserted by (child, school year, term, kind, date): re-importing the same file changes
nothing; a corrected amount, source or note updates the grant.

Columns (found by their usual names, title rows and merged headers allowed): 身份证号, 姓名, 资助项目,
金额, 发放日期, and optionally 学年 (2026, 2026-2027, 2026—2027学年), 学期 (第一学期/秋季, 第二学期/春季),
资金来源, 备注. Without 学年/学期 the term is the one the grant's date falls in (gridmap.aid.term_of).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gridmap import aid, idnumbers
from gridmap.models import AidKind, AidRecord, Child, Term
from importers.children import _cell, _date, mask_raw
from importers.readers import check_text, read_table
from importers.report import OUT_OF_SCOPE, OUT_OF_SCOPE_HINT, ImportError_, ImportReport, ImportSource

COLUMNS: dict[str, list[str]] = {
    "身份证号": ["身份证号码", "证件号码", "公民身份号码", "学生身份证号"],
    "姓名": ["学生姓名", "受助学生姓名", "儿童姓名"],
    "资助项目": ["资助类型", "资助项目名称", "项目名称", "资助类别"],
    "金额": ["资助金额", "金额(元)", "发放金额", "资助金额(元)", "发放金额(元)"],
    "发放日期": ["资助日期", "发放时间", "日期"],
    "学年": ["学年度"],
    "学期": [],
    "资金来源": ["来源", "经费来源"],
    "备注": [],
}
REQUIRED = ["身份证号", "资助项目", "金额", "发放日期"]
KINDS = {
    "国家助学金": AidKind.NATIONAL_GRANT, "助学金": AidKind.NATIONAL_GRANT,
    "寄宿生生活补助": AidKind.BOARDING, "家庭经济困难寄宿生生活补助": AidKind.BOARDING,
    "生活补助": AidKind.LIVING, "家庭经济困难学生生活补助": AidKind.LIVING, "非寄宿生生活补助": AidKind.LIVING,
    "营养改善计划": AidKind.NUTRITION, "营养餐": AidKind.NUTRITION, "营养膳食补助": AidKind.NUTRITION,
    "免学费": AidKind.FEE_WAIVER, "免教科书": AidKind.FEE_WAIVER, "免学费/免教科书": AidKind.FEE_WAIVER,
    "免费教科书": AidKind.FEE_WAIVER, "两免": AidKind.FEE_WAIVER, "免学杂费": AidKind.FEE_WAIVER,
    "临时救助": AidKind.TEMPORARY, "临时困难补助": AidKind.TEMPORARY,
    "社会资助": AidKind.SOCIAL, "社会捐助": AidKind.SOCIAL,
    "其他": AidKind.OTHER, "其他资助": AidKind.OTHER,
}
TERMS = {"第一学期": Term.AUTUMN, "秋季学期": Term.AUTUMN, "秋季": Term.AUTUMN, "上学期": Term.AUTUMN, "1": Term.AUTUMN,
         "第二学期": Term.SPRING, "春季学期": Term.SPRING, "春季": Term.SPRING, "下学期": Term.SPRING, "2": Term.SPRING}
MAX_AMOUNT = Decimal("100000")
SLACK = timedelta(days=120)  # a grant paid before its term starts or after it ends: looked at, not refused


@dataclass
class AidImportParams(ImportSource):
    path: Path
    commit: bool = False


def parse_school_year(text: str) -> int | None:
    match = re.fullmatch(r"(\d{4})(?:\s*[-—–~至/]\s*(\d{4}))?(?:学年度?)?", text.strip())
    if not match:
        return None
    first = int(match.group(1))
    if match.group(2) and int(match.group(2)) != first + 1:
        return None
    return first if 2000 <= first <= 2100 else None


def import_aid(params: AidImportParams) -> ImportReport:
    report = ImportReport(params.display_name)
    try:
        rows = read_table(params.path, COLUMNS, REQUIRED, report)
    except ImportError_ as exc:
        report.problems.append(exc.problem)
        return report
    key = settings.GRIDMAP_ID_HASH_KEY
    hashes: dict[int, tuple[str, str]] = {}  # row → (hash, masked)
    for row in rows:
        raw = _cell(row.values.get("身份证号"))
        try:
            number = idnumbers.parse(raw)
        except idnumbers.InvalidIDNumber as exc:
            report.error(row.number, "身份证号", mask_raw(raw), f"身份证号无效：{exc.reason}",
                         "核对身份证号（18位，末位校验码按 GB 11643 计算）")
            continue
        hashes[row.number] = (idnumbers.keyed_hash(number, key), idnumbers.mask(number))
    children = {c.id_hash: c for c in Child.objects.filter(id_hash__in=[h for h, _m in hashes.values()])
                .select_related("group")}
    today = timezone.localdate()
    seen: dict[tuple[int, int, str, str, date], int] = {}
    parsed: list[dict[str, Any]] = []
    for row in rows:
        if row.number not in hashes:
            continue
        n, v = row.number, row.values
        text = {k: _cell(v.get(k)) for k in COLUMNS}
        id_hash, masked = hashes[n]
        ok = True
        for column in ("姓名", "资助项目", "资金来源", "备注"):
            ok = check_text(report, n, column, text[column]) and ok
        child = children.get(id_hash)
        if child is None:
            report.error(n, "身份证号", masked, "适龄儿童台账中没有这名儿童",
                         "核对身份证号；新入学或迁入的儿童先导入适龄儿童台账")
            continue
        if not params.scope.area(child.group.code):
            report.error(n, "身份证号", masked, f"该儿童的户籍村组{OUT_OF_SCOPE}", OUT_OF_SCOPE_HINT)
            continue
        if text["姓名"] and ok and text["姓名"] != child.name:
            report.error(n, "姓名", text["姓名"], "姓名与台账中该身份证号的儿童不符", "核对身份证号与姓名是否为同一名儿童")
            ok = False
        kind = KINDS.get(re.sub(r"\s+", "", text["资助项目"]))
        if kind is None:
            report.error(n, "资助项目", text["资助项目"], "无法识别的资助项目",
                         f"填写：{'、'.join(str(k.label) for k in AidKind)}，或{'、'.join(KINDS)}")
            ok = False
        amount = _amount(text["金额"])
        if amount is None:
            report.error(n, "金额", text["金额"], "金额不是有效的数字", "填写元为单位的金额，如 625 或 625.00")
            ok = False
        elif amount < 0 or amount > MAX_AMOUNT:
            report.error(n, "金额", text["金额"], f"金额应在 0 至 {MAX_AMOUNT:,} 元之间", "核对金额（单位：元）")
            ok = False
        elif amount == 0:
            report.warn(n, "金额", text["金额"], "金额为 0", "免学费、免教科书等实物资助可填 0；其他请核对")
        granted = _date(v.get("发放日期")) if text["发放日期"] else None
        if granted is None:
            report.error(n, "发放日期", text["发放日期"], "无法识别的日期", "填写如 2026-10-15 或 2026年10月15日")
            ok = False
        elif granted > today or granted.year < 2000:
            report.error(n, "发放日期", text["发放日期"], "发放日期不能晚于今天或早于2000年", "核对发放日期")
            ok = False
        year, term = _term(report, n, text, granted)
        if year is None or term is None:
            ok = False
        elif granted is not None:
            first, last = aid.term_bounds(year, term)
            if not first - SLACK <= granted <= last + SLACK:
                report.warn(n, "发放日期", text["发放日期"], f"发放日期不在{aid.term_label(year, term)}前后四个月内",
                            "核对学年、学期与发放日期")
        if not ok or kind is None or amount is None or granted is None or year is None or term is None:
            continue
        key_ = (child.pk, year, term, kind, granted)
        if key_ in seen:
            report.error(n, "身份证号", masked, f"与第{seen[key_]}行重复（同一儿童、学期、项目、日期）", "删除重复的行")
            continue
        seen[key_] = n
        parsed.append(dict(child=child, school_year=year, term=term, kind=kind, amount=amount, date=granted,
                           source=text["资金来源"][:100], notes=text["备注"][:200]))
    report.counts["读取行"] = len(rows)
    if report.ok:
        _apply(parsed, params, report)
    return report


def _amount(text: str) -> Decimal | None:
    cleaned = text.replace(",", "").replace("，", "").removesuffix("元").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value.quantize(Decimal("0.01")) if value.is_finite() else None


def _term(report: ImportReport, n: int, text: dict[str, str], granted: date | None) -> tuple[int | None, str | None]:
    """The grant's (school year, term): as written, or — neither written — the term of its date."""
    if not text["学年"] and not text["学期"]:
        return aid.term_of(granted) if granted is not None else (None, None)
    year = parse_school_year(text["学年"]) if text["学年"] else None
    term = TERMS.get(re.sub(r"\s+", "", text["学期"])) if text["学期"] else None
    either = "；或学年、学期都不填，按发放日期确定学期"
    if year is None:
        report.error(n, "学年", text["学年"], "无法识别的学年" if text["学年"] else "填了学期而没有填学年",
                     "填写如 2026 或 2026-2027（学年从9月1日开始）" + either)
    if term is None:
        report.error(n, "学期", text["学期"], "无法识别的学期" if text["学期"] else "填了学年而没有填学期",
                     "填写第一学期（秋季）或第二学期（春季）" + either)
    return (year, str(term)) if year is not None and term is not None else (None, None)


def _apply(parsed: list[dict[str, Any]], params: AidImportParams, report: ImportReport) -> None:
    with transaction.atomic():
        existing = {(a.child_id, a.school_year, a.term, a.kind, a.date): a for a in AidRecord.objects.filter(
            child__in=[p["child"] for p in parsed])}
        create, update, unchanged = [], [], 0
        for p in parsed:
            current = existing.get((p["child"].pk, p["school_year"], p["term"], p["kind"], p["date"]))
            if current is None:
                create.append(AidRecord(imported_from=params.display_name[:200], **p))
                continue
            changed = [f for f in ("amount", "source", "notes") if getattr(current, f) != p[f]]
            if not changed:
                unchanged += 1
                continue
            for f in changed:
                setattr(current, f, p[f])
            update.append(current)
        if not params.commit:
            report.counts.update({"将新增": len(create), "将更新": len(update), "无变化": unchanged})
            return
        AidRecord.objects.bulk_create(create, batch_size=2000)
        AidRecord.objects.bulk_update(update, ["amount", "source", "notes"], batch_size=2000)
        report.counts.update({"新增": len(create), "更新": len(update), "无变化": unchanged})
        report.committed = True

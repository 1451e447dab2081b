"""Import the student-registry export of school-age children (适龄儿童台账).

ID numbers are validated (GB 11643 checksum, birth date, sex digit) and then exist only as the masked
form and the keyed hash: no report line, log or error workbook ever shows one in clear.
Children are matched by the hash, so re-importing the same export changes nothing; a changed status
is recorded in the child's status history with the file's name as the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from gridmap import idnumbers, schooling
from gridmap.models import (
    Area,
    AreaLevel,
    Child,
    ChildStatus,
    ChildStatusChange,
    DisabilityCategory,
    School,
    SchoolClass,
)
from gridmap.numerals import from_chinese
from importers.bulk import copy_rows
from importers.readers import check_text, read_table
from importers.report import OUT_OF_SCOPE, OUT_OF_SCOPE_HINT, ImportError_, ImportReport, ImportSource

KEY_GROUP_COLUMNS = {
    "脱贫户": "kg_poverty_relief", "边缘易致贫户": "kg_at_risk", "突发严重困难户": "kg_sudden_hardship",
    "低保": "kg_min_allowance", "残疾": "kg_disabled", "残疾人子女": "kg_disabled_parents",
    "留守": "kg_left_behind", "随迁": "kg_migrant", "孤儿": "kg_orphan", "困境儿童": "kg_in_difficulty",
}
COLUMNS: dict[str, list[str]] = {
    "身份证号": ["身份证号码", "证件号码", "公民身份号码"],
    "姓名": ["学生姓名", "儿童姓名"],
    "性别": [],
    "出生日期": ["出生年月日"],
    "户籍村组": ["户籍地址", "村组", "户籍所在村组", "村民小组"],
    "学校": ["就读学校", "学校名称"],
    "年级": [],
    "班级": [],
    "就读状态": ["状态", "学籍状态"],
    "残疾类别": [],
    "重点人群": ["重点人群类别"],
    **{name: [name + "儿童"] if name in {"留守", "随迁"} else [] for name in KEY_GROUP_COLUMNS},
}
STATUSES = {
    "在校": ChildStatus.ENROLLED, "在读": ChildStatus.ENROLLED, "正常": ChildStatus.ENROLLED,
    "疑似辍学": ChildStatus.SUSPECTED, "辍学": ChildStatus.DROPPED_OUT,
    "劝返复学": ChildStatus.RETURNED, "复学": ChildStatus.RETURNED,
    "送教上门": ChildStatus.HOME_TAUGHT, "随班就读": ChildStatus.INCLUDED, "休学": ChildStatus.SUSPENDED,
    "转出": ChildStatus.TRANSFERRED_OUT, "转学": ChildStatus.TRANSFERRED_OUT, "毕业": ChildStatus.GRADUATED,
}
IN_CLASS = {ChildStatus.ENROLLED, ChildStatus.SUSPECTED, ChildStatus.RETURNED, ChildStatus.INCLUDED,
            ChildStatus.SUSPENDED}
DISABILITY = {str(c.label): c.value for c in DisabilityCategory} | {
    "视力": "visual", "听力": "hearing", "言语": "speech", "肢体": "physical", "智力": "intellectual",
    "精神": "mental", "多重": "multiple"}
YES = {"是", "√", "y", "yes", "1", "true"}
JUNIOR = {"初一": 7, "初二": 8, "初三": 9, "七年级": 7, "八年级": 8, "九年级": 9}


@dataclass
class ChildImportParams(ImportSource):
    path: Path
    commit: bool = False
    as_of: date | None = None  # the day the export describes (age checks); default today


def mask_raw(raw: str) -> str:
    """What a report may show of an ID number that did not validate."""
    return raw[:6] + "*" * (len(raw) - 10) + raw[-4:] if len(raw) >= 10 else "*" * len(raw)


def parse_grade(text: str) -> int | None:
    text = text.strip()
    if text in JUNIOR:
        return JUNIOR[text]
    match = re.fullmatch(r"(\d|[一二三四五六七八九])(年级)?", text)
    if not match:
        return None
    return from_chinese(match.group(1))


def _group_number(text: str) -> int | None:
    match = re.search(r"第?(\d+|[一二三四五六七八九十]+)(?:村民|居民)?(?:小)?组", text)
    return from_chinese(match.group(1)) if match else None


class _GroupIndex:
    """Finds a village group from what exports write: a 15-digit code, or '某某村第三组'."""

    def __init__(self) -> None:
        self.groups = {a.code: a for a in Area.objects.at_level(AreaLevel.GROUP).only("code", "name")}
        self.villages: dict[str, list[Area]] = {}
        for v in Area.objects.at_level(AreaLevel.VILLAGE).select_related("parent").only(
                "code", "name", "parent__name"):
            for key in {v.name, re.sub(r"(村民委员会|村委会|居民委员会|居委会)$", "", v.name)}:
                self.villages.setdefault(key, []).append(v)
        self.names = sorted(self.villages, key=len, reverse=True)

    def find(self, text: str) -> Area | None:
        text = text.strip()
        if re.fullmatch(r"\d{15}", text):
            return self.groups.get(text)
        number = _group_number(text)
        if number is None:
            return None
        for name in self.names:
            if name and name in text:
                candidates = [v for v in self.villages[name] if v.parent and v.parent.name in text] \
                    or self.villages[name]
                if len(candidates) == 1:
                    return self.groups.get(f"{candidates[0].code}{number:03d}")
                return None
        return None


def import_children(params: ChildImportParams) -> ImportReport:
    report = ImportReport(params.display_name)
    as_of = params.as_of or date.today()
    try:
        rows = read_table(params.path, COLUMNS, ["身份证号", "姓名", "户籍村组"], report)
    except ImportError_ as exc:
        report.problems.append(exc.problem)
        return report
    groups = _GroupIndex()
    all_schools = list(School.objects.all())
    schools = {s.code: s for s in all_schools} | {s.name: s for s in all_schools}
    key = settings.GRIDMAP_ID_HASH_KEY
    seen: dict[str, int] = {}
    parsed: list[dict[str, Any]] = []
    for row in rows:
        n, v = row.number, row.values
        text = {k: _cell(v.get(k)) for k in COLUMNS}
        ok = True
        try:
            number = idnumbers.parse(text["身份证号"])
        except idnumbers.InvalidIDNumber as exc:
            report.error(n, "身份证号", mask_raw(text["身份证号"]), f"身份证号无效：{exc.reason}",
                         "核对身份证号（18位，末位校验码按 GB 11643 计算）")
            continue
        masked, id_hash = idnumbers.mask(number), idnumbers.keyed_hash(number, key)
        if id_hash in seen:
            report.error(n, "身份证号", masked, f"身份证号重复（与第{seen[id_hash]}行相同）", "同一儿童只能出现一次")
            continue
        seen[id_hash] = n
        if not text["姓名"]:
            report.error(n, "姓名", masked, "姓名为空", "填写儿童姓名")
            ok = False
        for column in ("姓名", "户籍村组", "学校"):
            ok = check_text(report, n, column, text[column]) and ok
        if text["出生日期"] and _date(v.get("出生日期")) != number.birth_date:
            report.error(n, "出生日期", text["出生日期"], "出生日期与身份证号不符", "以身份证号为准核对出生日期")
            ok = False
        sex = {"男": "M", "女": "F"}.get(text["性别"], number.sex)
        if text["性别"] and sex != number.sex:
            report.error(n, "性别", text["性别"], "性别与身份证号第17位不符", "核对性别或身份证号")
            ok = False
        if not schooling.is_school_age(number.birth_date, as_of):
            grade_now = schooling.expected_grade(number.birth_date, as_of)
            report.warn(n, "身份证号", masked,
                        f"按8月31日规则，{as_of:%Y年%m月%d日}应读{grade_now}年级，不在义务教育年龄段",
                        "确认是否应列入适龄儿童台账")
        group = groups.find(text["户籍村组"])
        if group is None:
            report.error(n, "户籍村组", text["户籍村组"], "找不到该村民小组",
                         "填15位村民小组代码，或「某某村第三村民小组」；先导入村民小组边界")
            ok = False
        elif not params.scope.area(group.code):
            report.error(n, "户籍村组", text["户籍村组"], f"该村民小组{OUT_OF_SCOPE}", OUT_OF_SCOPE_HINT)
            ok = False
        status = STATUSES.get(text["就读状态"], ChildStatus.ENROLLED if not text["就读状态"] else None)
        if status is None:
            report.error(n, "就读状态", text["就读状态"], "无法识别的就读状态",
                         f"填写：{'、'.join(sorted(set(STATUSES)))}")
            ok = False
        school, grade, class_number = None, None, None
        if text["学校"]:
            school = schools.get(text["学校"].removesuffix(".0"))
            if school is None:
                report.error(n, "学校", text["学校"], "找不到该学校", "填学校全称或10位学校标识码；先导入学校名录")
                ok = False
        if text["年级"]:
            grade = parse_grade(text["年级"])
            if grade is None:
                report.error(n, "年级", text["年级"], "无法识别的年级", "填1—9，或「一年级」「初二」")
                ok = False
            elif school is not None and not school.serves_grade(grade):
                report.error(n, "年级", text["年级"], f"「{school.name}」不开设该年级",
                             f"该校开设{school.first_grade}—{school.last_grade}年级")
                ok = False
        if text["班级"]:
            digits = re.findall(r"\d+", text["班级"])
            class_number = int(digits[0]) if digits else None
            if class_number is None:
                report.error(n, "班级", text["班级"], "无法识别的班级", "填班号，如「3」或「3班」")
                ok = False
        flags = {field: _yes(text[col]) for col, field in KEY_GROUP_COLUMNS.items()}
        for item in re.split(r"[，,、;；\s]+", text["重点人群"]):
            if item in KEY_GROUP_COLUMNS:
                flags[KEY_GROUP_COLUMNS[item]] = True
            elif item:
                report.error(n, "重点人群", item, "无法识别的重点人群类别", f"填写：{'、'.join(KEY_GROUP_COLUMNS)}")
                ok = False
        category = DISABILITY.get(text["残疾类别"].removesuffix("残疾"), "") if text["残疾类别"] else ""
        if text["残疾类别"] and not category:
            report.error(n, "残疾类别", text["残疾类别"], "无法识别的残疾类别", "填写：视力、听力、言语、肢体、智力、精神、多重")
            ok = False
        if category:
            flags["kg_disabled"] = True
        if ok and group is not None and status is not None:
            parsed.append(dict(id_hash=id_hash, id_masked=masked, name=text["姓名"], sex=sex,
                               birth_date=number.birth_date, group=group, status=status,
                               school=school if status in IN_CLASS else None, grade=grade,
                               class_number=class_number, disability_category=category,
                               residence_basis="permit" if flags["kg_migrant"] else "registry",
                               **flags))
    report.counts["读取行"] = len(rows)
    if report.ok:
        _apply(parsed, params, as_of, report)
    return report


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    text = str(value).strip()
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = re.sub(r"[年月/.]", "-", str(value).strip()).rstrip("日")
    try:
        return date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
    except ValueError:
        return None


def _yes(text: str) -> bool:
    return text.lower() in YES


def _apply(parsed: list[dict[str, Any]], params: ChildImportParams, as_of: date,
           report: ImportReport) -> None:
    year = schooling.school_year(as_of)
    source = f"导入 {params.display_name}"
    with transaction.atomic():
        wanted = {(p["school"].pk, p["grade"], p["class_number"]) for p in parsed
                  if p["school"] is not None and p["grade"] and p["class_number"]}
        classes = {(c.school_id, c.grade, c.number): c for c in SchoolClass.objects.filter(
            school_year=year, school_id__in={w[0] for w in wanted})}
        missing = [SchoolClass(school_id=s, school_year=year, grade=g, number=k)
                   for s, g, k in wanted if (s, g, k) not in classes]
        existing = {c.id_hash: c for c in Child.objects.filter(id_hash__in=[p["id_hash"] for p in parsed])}
        fields = ["name", "sex", "birth_date", "group", "status", "school_class", "disability_category",
                  "residence_basis", *KEY_GROUP_COLUMNS.values()]
        if params.commit:
            for c in SchoolClass.objects.bulk_create(missing):
                classes[(c.school_id, c.grade, c.number)] = c
        create, update, history, unchanged = [], [], [], 0
        for p in parsed:
            key = (p["school"].pk, p["grade"], p["class_number"]) if p["school"] else None
            values = {f: p[f] for f in fields if f != "school_class"}
            values["school_class"] = classes.get(key) if key else None
            child = existing.get(p["id_hash"])
            if child is None:
                create.append(Child(id_hash=p["id_hash"], id_masked=p["id_masked"], **values))
                continue
            changed = [f for f in fields if _current(child, f) != _value(values[f])]
            if not changed:
                unchanged += 1
                continue
            if child.status != values["status"]:
                history.append(ChildStatusChange(child=child, date=as_of, from_status=child.status,
                                                 to_status=values["status"], reason=source))
            for f in changed:
                setattr(child, f, values[f])
            update.append(child)
        if not params.commit:
            report.counts.update({"将新增": len(create), "将更新": len(update), "无变化": unchanged})
            return
        _copy_new_children(create, as_of, source)
        Child.objects.bulk_update(update, fields, batch_size=2000)
        ChildStatusChange.objects.bulk_create(history, batch_size=5000)
        report.counts.update({"新增": len(create), "更新": len(update), "无变化": unchanged})
        report.committed = True


def _copy_new_children(children: list[Child], as_of: date, source: str) -> None:
    """New children and their first history row, by COPY (a county export is 10^5 rows)."""
    flags = list(KEY_GROUP_COLUMNS.values())
    copy_rows(
        Child._meta.db_table,
        ["id_hash", "id_masked", "name", "sex", "birth_date", "group_id", "school_class_id", "status",
         "disability_category", "residence_basis", "synthetic", *flags],
        ((c.id_hash, c.id_masked, c.name, c.sex, c.birth_date, c.group_id, c.school_class_id, c.status,
          c.disability_category, c.residence_basis, False, *(getattr(c, f) for f in flags))
         for c in children))
    ids = dict(Child.objects.filter(id_hash__in=[c.id_hash for c in children]).values_list("id_hash", "pk"))
    copy_rows(ChildStatusChange._meta.db_table,
              ["child_id", "date", "from_status", "to_status", "reason", "recorded_at"],
              ((ids[c.id_hash], as_of, "", c.status, source, "now") for c in children))


def _value(v: Any) -> Any:
    return v.pk if hasattr(v, "pk") else v


def _current(child: Child, field: str) -> Any:
    """A field's stored value; foreign keys by id, so that no related row is fetched per child."""
    if field in {"group", "school_class"}:
        return getattr(child, f"{field}_id")
    return getattr(child, field)

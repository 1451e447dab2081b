"""Importing the registry export of children: validated, idempotent, and never an ID in clear."""

from datetime import date

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from gridmap import idnumbers
from gridmap.models import Area, Child, ChildStatusChange, School
from gridmap.numerals import to_chinese
from importers.children import ChildImportParams, import_children

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 11, 22)
HEADER = ["身份证号", "姓名", "性别", "出生日期", "户籍村组", "学校", "年级", "班级", "就读状态", "留守", "重点人群"]


@pytest.fixture
def place():
    group = Area.objects.filter(level="group", code__startswith="330783108").order_by("code")[2]
    school = School.objects.filter(kind="central_primary", township__code="330783108").first()
    return group, school


def sheet(tmp_path, rows, name="children.xlsx"):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    path = tmp_path / name
    wb.save(path)
    return path


def test_export_imports_and_reimport_changes_nothing(tmp_path, place):
    group, school = place
    village_text = f"{group.parent.parent.name}{group.parent.name}第{to_chinese(int(group.code[-3:]))}村民小组"
    a = idnumbers.make("330783", date(2017, 3, 5), 11)  # male, grade 4 in 2026
    b = idnumbers.make("330783", date(2019, 8, 31), 22)  # female, turned 6 on 31 Aug: grade 2
    rows = [[a, "卢小明", "男", "2017-03-05", group.code, school.name, "四年级", "2班", "在校", "是", ""],
            [b, "卢小红", "女", date(2019, 8, 31), village_text, school.code, 2, 1, "在校", "", "低保、困境儿童"]]
    path = sheet(tmp_path, rows)
    report = import_children(ChildImportParams(path, commit=True, as_of=AS_OF))
    assert report.ok, report.text()
    assert report.counts["新增"] == 2
    boy = Child.objects.get(id_hash=idnumbers.keyed_hash(a, settings.GRIDMAP_ID_HASH_KEY))
    assert boy.id_masked == idnumbers.mask(a) and boy.group == group and boy.kg_left_behind
    assert (boy.school_class.school, boy.school_class.grade, boy.school_class.number) == (school, 4, 2)
    girl = Child.objects.get(id_masked=idnumbers.mask(b), group=group)
    assert girl.kg_min_allowance and girl.kg_in_difficulty and girl.sex == "F"
    assert girl.status_history.count() == 1

    again = import_children(ChildImportParams(path, commit=True, as_of=AS_OF))
    assert again.counts["无变化"] == 2 and again.counts["新增"] == 0

    rows[0][8] = "疑似辍学"
    changed = import_children(ChildImportParams(sheet(tmp_path, rows, "v2.xlsx"), commit=True, as_of=AS_OF))
    assert changed.counts["更新"] == 1
    last = ChildStatusChange.objects.filter(child=boy).latest("recorded_at")
    assert (last.from_status, last.to_status, last.reason) == ("enrolled", "suspected", "导入 v2.xlsx")


def test_every_bad_row_reported_nothing_written_no_id_in_clear(tmp_path, place, capsys):
    group, school = place
    good = idnumbers.make("330783", date(2016, 1, 2), 31)
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    clear = [good, bad_check, "33078320160102", idnumbers.make("330783", date(2015, 2, 3), 41),
             idnumbers.make("330783", date(2015, 2, 4), 42), idnumbers.make("330783", date(2014, 6, 1), 51)]
    rows = [
        [good, "甲", "男", "", group.code, school.name, 5, 1, "在校", "", ""],
        [good, "甲二", "男", "", group.code, school.name, 5, 1, "在校", "", ""],  # duplicate ID
        [bad_check, "乙", "男", "", group.code, "", "", "", "", "", ""],  # checksum
        [clear[2], "丙", "", "", group.code, "", "", "", "", "", ""],  # 14 digits
        [clear[3], "丁", "女", "", "不存在村第九组", "", "", "", "", "", ""],  # unknown group; sex
        [clear[4], "戊", "女", "2015-02-05", group.code, "不存在小学", 8, "", "在校", "", ""],
        [clear[5], "己", "男", "", group.code, school.name, 8, 1, "在校", "", "富二代"],  # grade 8 at primary
    ]
    path = sheet(tmp_path, rows)
    before = (Child.objects.count(), ChildStatusChange.objects.count())
    workbook = tmp_path / "errors.xlsx"
    with pytest.raises(CommandError):
        call_command("import_children", str(path), commit=True, errors_xlsx=workbook, as_of=AS_OF)
    out = capsys.readouterr().out
    for needle in ["第3行", "身份证号重复（与第2行相同）", "第4行", "校验位错误", "应为18位，实为14位",
                   "性别与身份证号第17位不符", "找不到该村民小组", "出生日期与身份证号不符", "找不到该学校",
                   "不开设该年级", "无法识别的重点人群类别"]:
        assert needle in out, out
    assert (Child.objects.count(), ChildStatusChange.objects.count()) == before
    sheet_text = " ".join(str(c) for row in load_workbook(workbook).active.iter_rows(values_only=True)
                          for c in row if c is not None)
    for number in clear + [bad_check]:
        assert number not in out and number not in sheet_text
        assert number[6:14] not in sheet_text  # not even the birth date part

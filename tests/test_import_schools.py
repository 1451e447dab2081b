"""Importing the schools list from the kind of workbook a bureau keeps."""

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from openpyxl import Workbook

from gridmap.models import School
from importers.coords import wgs84_to_gcj02
from importers.schools import SchoolImportParams, import_schools

pytestmark = pytest.mark.django_db
HEADER = ["学校名称", "学校标识码", "办学类型", "经度", "纬度", "地址", "学段", "核定学位", "寄宿"]
# 歌山镇 and 三单乡 (real township polygons of the demo county)
GESHAN = (120.3963, 29.2757)
SANDAN = (120.6365, 29.2971)


def digest():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), md5(coalesce(string_agg(code || name || ST_AsText(location)"
                       " || coalesce(capacity, -1)::text, ',' ORDER BY code), '')) FROM gridmap_school")
        return cursor.fetchone()


def workbook(tmp_path, rows, name="schools.xlsx", title=True):
    """A bureau-style sheet: a merged title row, a merged group header over two header rows."""
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append(["东阳市中小学校名录（2026年秋季）"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(["基本信息", None, None, "位置", None, None, "办学规模", None, None])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=3)
    ws.merge_cells(start_row=ws.max_row, start_column=4, end_row=ws.max_row, end_column=6)
    ws.merge_cells(start_row=ws.max_row, start_column=7, end_row=ws.max_row, end_column=9)
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    ws.append([None] * len(HEADER))  # trailing blank rows, as exported
    ws.append([None] * len(HEADER))
    path = tmp_path / name
    wb.save(path)
    return path


def test_bureau_workbook_with_merged_headers_and_gcj02_points(tmp_path):
    glon, glat = wgs84_to_gcj02(*GESHAN)  # coordinates picked on Amap
    path = workbook(tmp_path, [
        ["东阳市歌山测试小学", "2133079901", "完小", float(glon), float(glat), "歌山镇", "1-6", 540, "否"],
        ["东阳市三单测试教学点", "2133079902", "教学点", *wgs84_to_gcj02(*SANDAN), "三单乡", "", "", ""],
    ])
    report = import_schools(SchoolImportParams(path, coords="gcj02", commit=True))
    assert report.ok, report.text()
    assert report.counts == {"读取行": 2, "新增": 2, "更新": 0, "无变化": 0}
    school = School.objects.get(code="2133079901")
    assert school.township.name == "歌山镇"
    assert school.kind == "full_primary" and (school.first_grade, school.last_grade) == (1, 6)
    assert school.location.distance(Point(*GESHAN, srid=4326)) < 1e-6  # GCJ-02 offset removed (to 0.1 m)
    point = School.objects.get(code="2133079902")
    assert (point.first_grade, point.last_grade) == (1, 3)  # default for a teaching point
    again = import_schools(SchoolImportParams(path, coords="gcj02", commit=True))
    assert again.counts["无变化"] == 2


def test_bad_rows_are_all_reported_and_nothing_is_written(tmp_path):
    before = digest()
    path = workbook(tmp_path, [
        ["甲小学", "2133079911", "完小", *GESHAN, "", "1-6", 300, "否"],
        ["乙小学", "2133079911", "完小", *GESHAN, "", "1-6", 300, "否"],  # duplicate code
        ["丙小学", "21330799", "完小", *GESHAN, "", "", "", ""],  # 8-digit code
        ["丁小学", "2133079913", "私塾", *GESHAN, "", "", "", ""],  # unknown kind
        ["戊小学", "2133079914", "完小", None, None, "歌山镇某村88号", "", "", ""],  # address only
        ["己小学", "2133079915", "完小", 119.0, 30.5, "", "", "", ""],  # outside the county
        ["庚小学", "2133079916", "完小", GESHAN[1], GESHAN[0], "", "", "", ""],  # lat/lon swapped
        ["辛小学", "2133079917", "初中", *GESHAN, "", "7-9", "很多", "是"],  # capacity not a number
    ])
    report = import_schools(SchoolImportParams(path, commit=True))
    text = report.text()
    for needle in ["第5行", "学校标识码重复（与第4行相同）", "第6行", "应为10位数字", "无法识别的学校类型",
                   "只有地址、没有经纬度", "不联网", "不在县域内", "经纬度疑似填反", "核定学位应为非负整数"]:
        assert needle in text, text
    assert not report.committed
    assert digest() == before


def test_missing_required_column_and_gbk_csv(tmp_path):
    csv_path = tmp_path / "schools.csv"
    csv_path.write_bytes("学校名称,学校标识码,学校类型,经度,纬度\n歌山测试初中,2133079921,初中,120.3963,29.2757\n"
                         .encode("gb18030"))
    report = import_schools(SchoolImportParams(csv_path))
    assert report.ok, report.text()
    assert report.counts["将新增"] == 1
    no_code = tmp_path / "no_code.csv"
    no_code.write_text("学校名称,学校类型\n甲,完小\n", encoding="utf-8")
    report = import_schools(SchoolImportParams(no_code))
    assert "找不到必需的列：学校标识码" in report.text()

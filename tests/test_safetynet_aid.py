"""Student aid (issue 18): the 应助尽助 check (listed, not listed, never listed), its counts against SQL
written here from the definition, the aid workbook importer under every importer rule, the upload page,
and the grid's cell indicator."""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from openpyxl import Workbook, load_workbook

from gridmap import aid, idnumbers
from gridmap.access import WriteScope
from gridmap.models import KEY_GROUPS, AidRecord, Area, Child, ChildStatusChange, UserRole
from importers.aid import AidImportParams, import_aid
from layers.safetynet import aid_gaps
from safetynet import aidcheck
from tests.test_access import A, B, login

pytestmark = pytest.mark.django_db
ON = date(2026, 11, 22)  # autumn term 2026 (第一学期)
TOWNSHIP = A


def make_child(group, born, seq, name="试甲", **flags):
    """A child of the ledger whose ID number the test knows (the demo keeps none)."""
    number = idnumbers.make("330783", born, seq)
    child = Child.objects.create(id_hash=idnumbers.keyed_hash(number, settings.GRIDMAP_ID_HASH_KEY),
                                 id_masked=idnumbers.mask(number), name=name, sex="M" if seq % 2 else "F",
                                 birth_date=born, group=group, **flags)
    ChildStatusChange.objects.create(child=child, date=date(2026, 9, 1), to_status="enrolled", reason="建档")
    return child, number


@pytest.fixture
def group():
    return Area.objects.filter(level="group", code__startswith=TOWNSHIP).order_by("code")[3]


def listed(child, on=ON):
    result = aidcheck.check(login_user(), on, area=Area.objects.get(code=TOWNSHIP))
    return child.pk in {g.pk for g in result.gaps}


def login_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get_or_create(username="aid-admin", defaults={"is_superuser": True,
                                                                                  "is_staff": True})[0]


def test_eligible_without_aid_is_listed_with_aid_not_ineligible_never(group, settings):
    poor, _n = make_child(group, date(2016, 5, 1), 11, kg_min_allowance=True)
    assert listed(poor)
    AidRecord.objects.create(child=poor, school_year=2025, term="2", kind="living", amount=375, date=date(2026, 4, 1))
    assert listed(poor)  # last term's aid is not this term's
    AidRecord.objects.create(child=poor, school_year=2026, term="1", kind="living", amount=375, date=date(2026, 11, 25))
    assert listed(poor, ON) and not listed(poor, date(2026, 11, 25))  # granted after the day: not yet
    AidRecord.objects.filter(child=poor, school_year=2026).update(date=date(2026, 10, 15))
    assert not listed(poor)
    row = next(g for g in aidcheck.check(login_user(), date(2027, 3, 1), area=Area.objects.get(code=TOWNSHIP)).gaps
               if g.pk == poor.pk)
    assert row.last_aid == "2026-10-15" and row.groups == ["低保"]  # a new term: listed again, last aid shown

    left, _n = make_child(group, date(2015, 2, 2), 13, name="试乙", kg_left_behind=True)
    assert not listed(left)  # 留守 is not an aid-eligible group by default
    settings.GRIDMAP_AID_ELIGIBLE = "left_behind,低保"
    assert listed(left) and not listed(poor)  # the table is a setting
    assert aid.eligible_labels() == [str(KEY_GROUPS["kg_min_allowance"]), str(KEY_GROUPS["kg_left_behind"])]

    out, _n = make_child(group, date(2016, 1, 3), 15, name="试丙", kg_poverty_relief=True)
    from gridmap import ledgers
    ledgers.change_status(out, "transferred_out", date(2026, 10, 1), None, "转学", destination="外县")
    settings.GRIDMAP_AID_ELIGIBLE = aid.DEFAULT_ELIGIBLE
    assert not listed(out)  # off the ledger: followed as a transfer instead
    young, _n = make_child(group, date(2021, 3, 3), 17, name="试丁", kg_orphan=True)
    assert not listed(young)  # not of school age (grade 1 from September 2027)


ELIGIBLE_SQL = """
    SELECT s.child_id, s.school_id,
           EXISTS (SELECT 1 FROM gridmap_aidrecord a WHERE a.child_id = s.child_id AND a.school_year = %s
                   AND a.term = %s AND a.date <= %s) AS aided
    FROM (SELECT DISTINCT ON (h.child_id) h.child_id, h.to_status, c.birth_date, k.school_id
          FROM gridmap_childstatuschange h JOIN gridmap_child c ON c.id = h.child_id
          JOIN gridmap_area g ON g.id = c.group_id LEFT JOIN gridmap_schoolclass k ON k.id = c.school_class_id
          WHERE h.date <= %s AND g.code LIKE %s
            AND (c.kg_poverty_relief OR c.kg_at_risk OR c.kg_sudden_hardship OR c.kg_min_allowance OR c.kg_orphan
                 OR c.kg_disabled)
          ORDER BY h.child_id, h.date DESC, h.recorded_at DESC, h.id DESC) s
    WHERE s.to_status <> 'transferred_out' AND s.birth_date BETWEEN '2011-09-01' AND '2020-08-31'"""


def sql(query, *params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def test_the_check_counts_equal_independent_sql(group):
    make_child(group, date(2014, 4, 4), 61, name="算甲", kg_sudden_hardship=True)  # at least one gap
    township = Area.objects.get(code=TOWNSHIP)
    rows = sql(ELIGIBLE_SQL, 2026, "1", ON, ON, f"{TOWNSHIP}%")
    result = aidcheck.check(login_user(), ON, area=township)
    assert (result.total.eligible, result.total.aided) == (len(rows), sum(a for _c, _s, a in rows)) and rows
    assert {g.pk for g in result.gaps} == {c for c, _s, a in rows if not a}
    assert sum(r.eligible for r in result.rows) == result.total.eligible  # the school rows add up
    assert sum(r.gap for r in result.rows) == result.total.gap > 0
    county = aidcheck.check(login_user(), ON, area=Area.objects.get(code="330783"))
    everywhere = sql(ELIGIBLE_SQL, 2026, "1", ON, ON, "330783%")
    assert county.total.eligible == len(everywhere) and len(county.rows) == 18
    # the grid's cell indicator counts the same children (today's statuses on the day)
    cells = Area.objects.filter(level="group", code__startswith=TOWNSHIP)
    assert sum(aid_gaps(login_user(), cells, ON).values()) == result.total.gap


def test_planners_read_the_protected_figures_and_no_list(client):
    """Planners read the same protected figures as in the monthly report (gridmap.published), never names."""
    from gridmap import published as protected

    planner = login(UserRole.COUNTY_PLANNER)
    page = planner.get(f"/safetynet/aid/{TOWNSHIP}/").content.decode()
    assert "gm-aid-gaps" not in page and 'class="gm-hidden"' in page  # some school row has 0-4: "<5"
    exported = planner.get(f"/safetynet/aid/{TOWNSHIP}/?format=csv").getvalue().decode("utf-8-sig")
    assert "应助人数" in exported and "身份证号" not in exported
    assert planner.get(f"/safetynet/aid/{TOWNSHIP}001/").status_code in (404,)  # no village figures
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    user = get_user_model().objects.filter(gridmap_profile__role=UserRole.COUNTY_PLANNER).last()
    today = timezone.localdate()
    result = aidcheck.check(user, today, area=Area.objects.get(code=TOWNSHIP))
    decision = protected.figures_for(Area.objects.get(code="330783"), f"{today:%Y-%m}")
    assert result.gaps is None and result.rows
    for r in [*result.rows, result.total]:
        assert (r.eligible, r.aided, r.gap) == tuple(decision.get(r.key, m) for m in ("aid_eligible", "aid_aided", "aid_gap"))
    shown = [v for r in result.rows for v in (r.eligible, r.aided, r.gap)]
    assert not [v for v in shown if v in (1, 2, 3, 4)] and "<5" in shown


def workbook(tmp_path, rows, name="资助名册.xlsx", header=("身份证号", "姓名", "资助项目", "金额", "发放日期", "学年", "学期",
                                                       "资金来源", "备注")):
    wb = Workbook()
    ws = wb.active
    ws.append(["东阳市2026学年第一学期学生资助发放名册"])  # a title row above the header
    ws.append(list(header))
    for r in rows:
        ws.append(r)
    path = tmp_path / name
    wb.save(path)
    return path


def test_import_validated_then_written_once_and_rerun_changes_nothing(tmp_path, group):
    a, na = make_child(group, date(2016, 5, 1), 21, name="资甲", kg_min_allowance=True)
    b, nb = make_child(group, date(2013, 7, 9), 23, name="资乙", kg_orphan=True)
    rows = [[na, "资甲", "家庭经济困难学生生活补助", 375, "2026-10-15", "2026-2027", "第一学期", "中央和省级财政", ""],
            [nb, "资乙", "临时救助", "2,000.00", date(2026, 10, 20), "", "", "县级财政", "母亲病故"],
            [nb, "资乙", "寄宿生生活补助", 625, "2026年3月20日", 2025, "春季", "", ""]]
    path = workbook(tmp_path, rows)
    checked = import_aid(AidImportParams(path=path))
    assert checked.ok and checked.counts["将新增"] == 3 and not AidRecord.objects.filter(child__in=[a, b]).exists()
    done = import_aid(AidImportParams(path=path, commit=True))
    assert done.committed and done.counts["新增"] == 3, done.text()
    grant = AidRecord.objects.get(child=b, kind="temporary")
    assert (grant.school_year, grant.term, grant.amount) == (2026, "1", Decimal("2000.00"))  # term from its date
    assert AidRecord.objects.get(child=b, kind="boarding").term == "2"
    assert not listed(a) and not listed(b)
    again = import_aid(AidImportParams(path=path, commit=True))
    assert again.counts == {"读取行": 3, "新增": 0, "更新": 0, "无变化": 3}
    rows[0][3] = 500  # a corrected amount updates the grant
    assert import_aid(AidImportParams(path=workbook(tmp_path, rows, "v2.xlsx"), commit=True)).counts["更新"] == 1
    assert AidRecord.objects.get(child=a).amount == 500


def test_every_bad_row_reported_nothing_written_no_id_in_clear(tmp_path, group, capsys):
    a, na = make_child(group, date(2016, 5, 1), 31, name="错甲", kg_min_allowance=True)
    stranger = idnumbers.make("330783", date(2015, 1, 1), 33)  # valid, on no ledger
    bad = na[:-1] + ("0" if na[-1] != "0" else "1")
    rows = [[na, "错甲", "助学金", 500, "2026-10-15", "", "", "", ""],
            [na, "错甲", "助学金", 500, "2026-10-15", "", "", "", ""],  # duplicate
            [bad, "错甲", "助学金", 500, "2026-10-15", "", "", "", ""],  # checksum
            [stranger, "某某", "助学金", 500, "2026-10-15", "", "", "", ""],  # on no ledger
            [na, "张三", "助学金", 500, "2026-10-15", "", "", "", ""],  # another child's name
            [na, "错甲", "@HYPERLINK(\"http://x\")", "五百", "2026-13-01", "2026", "", "\ufffd财政", ""],
            [na, "错甲", "临时救助", -5, "2027-01-01", "2026", "第三学期", "", ""]]
    path = workbook(tmp_path, rows)
    errors = tmp_path / "问题.xlsx"
    with pytest.raises(CommandError):
        call_command("import_aid", str(path), commit=True, errors_xlsx=errors)
    out = capsys.readouterr().out
    for needle in ["第4行", "与第3行重复", "第5行", "校验位错误", "适龄儿童台账中没有这名儿童",
                   "姓名与台账中该身份证号的儿童不符",
                   "无法识别的资助项目", "金额不是有效的数字", "无法识别的日期", "填了学年而没有填学期", "替换字符",
                   "金额应在 0 至", "发放日期不能晚于今天", "无法识别的学期"]:
        assert needle in out, needle
    assert not AidRecord.objects.filter(child=a).exists()
    cells = [c for row in load_workbook(errors).active.iter_rows() for c in row if c.value is not None]
    text = " ".join(str(c.value) for c in cells)
    for number in (na, stranger, bad):
        assert number not in out and number not in text and number[6:14] not in text
    formula = next(c for c in cells if str(c.value).startswith("@HYPERLINK"))
    assert formula.data_type == "s" and formula.quotePrefix  # kept as text, never run


def test_rows_outside_the_login_scope_are_refused(tmp_path, group):
    ours, n_ours = make_child(group, date(2016, 5, 1), 41, name="域甲", kg_min_allowance=True)
    theirs_group = Area.objects.filter(level="group", code__startswith=B).order_by("code").first()
    theirs, n_theirs = make_child(theirs_group, date(2016, 5, 1), 43, name="域乙", kg_min_allowance=True)
    path = workbook(tmp_path, [[n_ours, "域甲", "临时救助", 1000, "2026-10-15", "", "", "", ""],
                               [n_theirs, "域乙", "临时救助", 1000, "2026-10-15", "", "", "", ""]])
    report = import_aid(AidImportParams(path=path, commit=True, scope=WriteScope((A,))))
    assert not report.ok and "不在您的管理范围内" in report.text() and "第4行" in report.text()
    assert not AidRecord.objects.filter(child__in=[ours, theirs]).exists()  # one transaction: nothing


def test_the_upload_page_takes_the_aid_workbook(client, admin_user, tmp_path, group):
    child, number = make_child(group, date(2016, 5, 1), 51, name="页甲", kg_at_risk=True)
    client.force_login(admin_user)
    content = workbook(tmp_path, [[number, "页甲", "社会资助", 800, "2026-11-02", "", "", "县慈善总会", ""]]).read_bytes()
    page = client.post("/admin/import/", {"kind": "aid", "coords": "wgs84", "level": "township",
                                          "file": SimpleUploadedFile("资助.xlsx", content)}).content.decode()
    assert "将新增 1" in page and number not in page
    token = page.split('name="token" value="')[1].split('"')[0]
    done = client.post("/admin/import/", {"kind": "aid", "coords": "wgs84", "level": "township", "token": token,
                                          "commit": "1"}).content.decode()
    assert "已写入数据库" in done and AidRecord.objects.get(child=child).source == "县慈善总会"

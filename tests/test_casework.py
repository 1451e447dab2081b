"""The casework pages as their users drive them: a school records absences, the township confirms
the dropout and runs the four steps to 销号, prints the written order, files the monthly report;
the county reads its dashboard. Dates are in December 2026 (after the demo's history)."""

import subprocess
from datetime import date

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from gridmap import ledgers, reports
from gridmap.ledgers import Ledger
from gridmap.models import (
    Area,
    AuditEvent,
    Case,
    Child,
    ChildStatus,
    Person,
    ReportSubmission,
    Responsibility,
    UserRole,
)
from tests.test_access import A, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def child():
    """An enrolled school-age child of township A with a class (a school, a head teacher)."""
    return (Child.objects.filter(status=ChildStatus.ENROLLED, school_class__isnull=False, group__code__startswith=A)
            .school_age_on(date(2026, 12, 1)).order_by("pk").first())


def texts(response):
    """The messages shown on the page a POST was redirected to."""
    body = response.content.decode()
    return [m.split(">", 1)[1] for m in body.split('role="status"')[1:]]


def on_ledgers(child, on=date(2026, 12, 1)):
    child.refresh_from_db()
    return ledgers.ledgers_of(child, on)


def test_from_absence_to_strike_off_through_the_pages(child, monkeypatch, tmp_path):
    school = child.school_class.school
    teacher_client = login(UserRole.SCHOOL_STAFF, schools=[school])
    official = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    url = f"/children/{child.pk}/"
    for day in ("2026-12-01", "2026-12-02", "2026-12-03"):
        assert teacher_client.post(url + "absence/", {"date": day}).status_code == 302
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE}
    response = teacher_client.post(url + "absence/", {"date": "2026-12-04"}, follow=True)
    assert any("疑似辍学台账" in m for m in texts(response))  # the 4th school day: same-day entry
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE, Ledger.SUSPECTED}
    # the card shows the escalation chain with the head teacher by name
    monkeypatch.setattr(timezone, "localdate", lambda *a: date(2026, 12, 4))
    page = official.get(url).content.decode()
    head = ledgers.escalation(child, date(2026, 12, 4))[0].person
    assert "班主任家访" in page and head.name in page and "学校领导家访" in page
    assert 'data-form="confirm"' in page and 'data-form="absence"' not in page  # the township confirms
    # the school may not confirm a dropout; the township does, naming the working group
    leader = Person.objects.filter(pk__in=Responsibility.objects.filter(
        area__code__startswith=A, role="village_leader").values("person")).order_by("pk").first()
    members = [head.pk, leader.pk]
    assert teacher_client.post(url + "confirm-dropout/", {"date": "2026-12-07", "reason": "x",
                                                          "members": members}).status_code == 403
    response = official.post(url + "confirm-dropout/", {"date": "2026-12-07", "reason": "多次劝返无效",
                                                        "members": members})
    case = Case.objects.get(child=child)
    assert response.status_code == 302 and response["Location"] == f"/case/{case.pk}/"
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE, Ledger.DROPPED_OUT}
    assert set(case.members.values_list("pk", flat=True)) == set(members)
    case_url = f"/case/{case.pk}/"
    # school staff record persuasion visits (step 1) but cannot issue the written order (step 2)
    assert teacher_client.post(case_url + "step/", {"step": 1, "date": "2026-12-08", "person": head.pk,
                                                    "notes": "班主任入户劝返"}).status_code == 302
    teacher_client.post(case_url + "step/", {"step": 2, "date": "2026-12-09", "person": head.pk,
                                             "document_number": "x"})
    assert list(case.steps.values_list("step", flat=True)) == [1]
    response = official.post(case_url + "step/", {"step": 2, "date": "2026-12-09", "person": members[1],
                                                  "document_number": "歌政限〔2026〕3号"})
    notice = case.steps.get(step=2)
    assert notice.deadline == date(2026, 12, 16)
    # the printed order: a PDF with the masked ID and the deadline
    pdf = official.get(f"{case_url}document/{notice.pk}.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    (tmp_path / "order.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(tmp_path / "order.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert child.id_masked in text and "2026年12月16日" in text and "歌政限〔2026〕3号" in text
    # before the deadline the penalty is not offered; after it, one dated before it is refused
    assert 'data-form="step"' in official.get(case_url).content.decode()
    assert '<option value="3"' not in official.get(case_url).content.decode()
    monkeypatch.setattr(timezone, "localdate", lambda *a: date(2026, 12, 17))
    response = official.post(case_url + "step/", {"step": 3, "date": "2026-12-15", "person": members[1],
                                                  "document_number": "东教罚〔2026〕1号"}, follow=True)
    assert any("未满" in m for m in texts(response)) and not case.steps.filter(step=3).exists()
    # after the deadline the case is flagged overdue on the case and in the list
    assert "gm-overdue-flag" in official.get(case_url).content.decode()
    listed = official.get(f"/cases/{A}/?show=overdue").content.decode()
    assert f'data-case="{case.pk}"' in listed and "table-danger" in listed
    official.post(case_url + "step/", {"step": 3, "date": "2026-12-17", "person": members[1],
                                       "document_number": "东教罚〔2026〕1号"})
    assert "gm-overdue-flag" not in official.get(case_url).content.decode()
    # 销号: back at school, off the dropout ledger, follow-up plan with monthly reviews
    response = official.post(case_url + "close/", {"date": "2026-12-21", "reason": "已返校就读",
                                                   "measures": "每周家访", "school": school.pk})
    case.refresh_from_db()
    assert case.status == "closed" and case.follow_up.reviews.count() == 6
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE} and child.status == ChildStatus.RETURNED
    history = official.get(url).content.decode()
    assert "劝返复学" in history and "已返校就读" in history
    assert list(child.status_history.filter(date__gte="2026-12-01").values_list("to_status", flat=True)) == [
        "suspected", "dropped_out", "returned"]
    assert AuditEvent.objects.filter(action="export", summary__contains="限期复学通知书").exists()


def test_status_changes_on_the_page_need_their_facts(child):
    official = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    url = f"/children/{child.pk}/status/"
    response = official.post(url, {"to": "transferred_out", "date": "2026-12-01", "reason": "随父母外出"}, follow=True)
    assert any("转" in m or "transfer" in m for m in texts(response))
    child.refresh_from_db()
    assert child.status == ChildStatus.ENROLLED
    official.post(url, {"to": "suspended", "date": "2026-12-01", "reason": "病休", "until": "2026-11-30"})
    child.refresh_from_db()
    assert child.status == ChildStatus.ENROLLED
    official.post(url, {"to": "dropped_out", "date": "2026-12-01", "reason": "x"})  # only by confirming
    child.refresh_from_db()
    assert child.status == ChildStatus.ENROLLED
    official.post(url, {"to": "transferred_out", "date": "2026-12-01", "reason": "随迁", "destination": "杭州市某小学"})
    child.refresh_from_db()
    assert child.status == ChildStatus.TRANSFERRED_OUT and on_ledgers(child) == {Ledger.SCHOOL_AGE}
    assert child.status_history.latest("recorded_at").destination == "杭州市某小学"


def test_roles_take_only_their_actions(child):
    village = child.group.parent
    cadre = login(UserRole.VILLAGE_CADRE, [village.code])
    page = cadre.get(f"/children/{child.pk}/").content.decode()
    assert 'value="suspected"' in page and 'value="transferred_out"' not in page
    cadre.post(f"/children/{child.pk}/status/", {"to": "transferred_out", "date": "2026-12-01", "reason": "x",
                                                 "destination": "y"})
    assert cadre.post(f"/children/{child.pk}/absence/", {"date": "2026-12-01"}).status_code == 403
    child.refresh_from_db()
    assert child.status == ChildStatus.ENROLLED and not child.absences.exists()
    assert login(UserRole.COUNTY_PLANNER).get(f"/children/{child.pk}/").status_code == 404
    assert login(UserRole.INSPECTOR).get(f"/cases/{A}/").status_code == 403


def test_monthly_report_page_submission_and_export():
    official = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    township = Area.objects.get(code=A)
    page = official.get(f"/reports/{A}/?month=2026-11").content.decode()
    expected = reports.report_units(township, "2026-11")
    for row in expected:
        assert f'data-code="{row.code}"' in page
    assert "尚未上报" in page
    assert official.get("/reports/330783/?month=2026-11").status_code == 404  # not the county's figures
    response = official.post(f"/reports/{A}/submit/", {"month": "2026-11"}, follow=True)
    submission = ReportSubmission.objects.get(area=township, month=date(2026, 11, 1))
    assert submission.submitted_by.username == response.wsgi_request.user.username
    assert submission.figures["school_age"] == expected[-1].school_age
    assert "上报" in response.content.decode() and submission.submitted_by.username in response.content.decode()
    sheet = load_workbook(__import__("io").BytesIO(official.get(f"/reports/{A}/?month=2026-11&format=xlsx").getvalue())).active
    assert sheet["A2"].value == "单位" and sheet.freeze_panes == "A3"
    assert [r[1] for r in sheet.iter_rows(min_row=3, values_only=True) if r[1]] == [r.code for r in expected]
    # school staff read their own school's row only, and cannot submit for the township
    school = township.schools.order_by("code").first()
    staff = login(UserRole.SCHOOL_STAFF, schools=[school])
    mine = staff.get(f"/reports/{A}/?month=2026-11").content.decode()
    assert f'data-code="{school.code}"' in mine and f'data-code="{A}"' not in mine
    assert staff.post(f"/reports/{A}/submit/", {"month": "2026-11"}).status_code == 403


def test_a_quiet_township_files_a_zero_report(squares):
    official = login(UserRole.TOWNSHIP_OFFICIAL, [squares["township"].code])
    code = squares["township"].code
    page = official.get(f"/reports/{code}/?month=2026-11").content.decode()
    assert "data-zero" in page and "零报告" in page
    official.post(f"/reports/{code}/submit/", {"month": "2026-11"})
    assert ReportSubmission.objects.get(area=squares["township"]).zero_report


def test_dashboard_trend_agrees_with_the_monthly_figures():
    county = Area.objects.get(code="330783")
    for month in ("2026-09", "2026-11"):
        series = reports.trend(county, month, 3)
        for figures in reports.report_units(county, month):
            last = series[figures.code][-1]
            assert last.month == month
            assert (last.school_age, last.suspected, last.dropped_out) == (
                figures.school_age, figures.suspected, figures.dropped_out), (month, figures.unit)
    admin = login(UserRole.COUNTY_ADMIN, superuser=True)
    page = admin.get("/dashboard/?month=2026-11").content.decode()
    townships = Area.objects.filter(parent=county)
    assert page.count("<svg") == townships.count() + 1
    assert all(f'data-code="{t.code}"' in page for t in townships)
    assert login(UserRole.COUNTY_PLANNER).get("/dashboard/").status_code == 200
    response = login(UserRole.TOWNSHIP_OFFICIAL, [A]).get("/dashboard/")
    assert response.status_code == 302 and response["Location"] == f"/reports/{A}/"


def test_roll_and_registry_discrepancies_are_listed(child):
    Child.objects.filter(pk=child.pk).update(school_class=None)  # enrolled, yet on no roll
    page = login(UserRole.TOWNSHIP_OFFICIAL, [A]).get(f"/discrepancies/{A}/").content.decode()
    section = page[page.index('data-section="no_roll"'):page.index('data-section="roll_not_school_age"')]
    assert f'data-child="{child.pk}"' in section and child.name in section


def test_the_bulk_report_rows_equal_each_unit_computed_alone():
    township = Area.objects.get(code=A)
    rows = reports.report_units(township, "2026-11")
    schools = township.schools.exclude(status="closed").order_by("kind", "code")
    assert [r.code for r in rows[:-1]] == [s.code for s in schools]  # closed schools file no report
    for school, row in zip(schools, rows, strict=False):
        assert row.as_dict() == reports.for_school(school, "2026-11").as_dict()
    assert rows[-1].as_dict() == reports.for_area(township, "2026-11").as_dict()


def test_the_working_group_picker_is_grouped_by_unit_and_searchable(child):
    import re

    from gridmap.casework_views import _case_people
    from gridmap.models import Profile

    ledgers.change_status(child, "suspected", date(2026, 12, 1), None, "缺勤")
    official = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    page = official.get(f"/children/{child.pk}/").content.decode()
    form = page[page.index('data-form="confirm"'):page.index("</form>", page.index('data-form="confirm"'))]
    assert "data-picker-search" in form and "picker.js" in page
    user = Profile.objects.filter(role=UserRole.TOWNSHIP_OFFICIAL).latest("pk").user
    people = _case_people(user, child)
    units = {p.school.name if p.school else p.unit for p in people}
    groups = re.findall(r"<summary>(.*?) <span", form)
    assert len(groups) == len(units) == len(set(groups)) > 3 and set(groups) == units
    assert groups[0].endswith("人民政府")  # the township government first
    assert form.count('type="checkbox" name="members"') == people.count()
    assert f"<details class=\"gm-picker-group\" open>\n      <summary>{child.school_class.school.name}" in form

"""Status changes only by actions, the three ledgers, the 3-day absence rule, the four-step case to 销号.

Dates are in December 2026 (the demo's history ends on 23 November 2026); 1 December is a Tuesday.
"""

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from gridmap import cases, ledgers
from gridmap.ledgers import Ledger
from gridmap.models import (
    AuditEvent,
    CalendarDay,
    Case,
    Child,
    ChildStatus,
    ChildStatusChange,
    FollowUpPlan,
    Person,
    Step,
)

pytestmark = pytest.mark.django_db
ON = date(2026, 12, 1)


@pytest.fixture
def clerk(db):
    return get_user_model().objects.create_user("clerk", password="pw-long-enough-1")


@pytest.fixture
def child(db):
    """An enrolled school-age child with a class (so a head teacher and a school)."""
    return (Child.objects.filter(status=ChildStatus.ENROLLED, school_class__isnull=False)
            .school_age_on(ON).order_by("pk").first())


def on_ledgers(child):
    child.refresh_from_db()
    return ledgers.ledgers_of(child, ON)


def test_three_days_do_not_fire_the_fourth_does_and_weekends_do_not_count(child, clerk):
    for day in (3, 4, 7):  # Thursday, Friday, (weekend), Monday
        assert ledgers.record_absence(child, date(2026, 12, day), clerk) is None
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE}
    change = ledgers.record_absence(child, date(2026, 12, 8), clerk)  # Tuesday: the 4th school day
    assert change is not None and change.date == date(2026, 12, 8) and change.to_status == "suspected"
    assert "连续4个上学日" in change.reason
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE, Ledger.SUSPECTED}
    with pytest.raises(ledgers.StatusChangeError):
        ledgers.record_absence(child, date(2026, 12, 12), clerk)  # a Saturday is no school day


def test_an_excused_day_or_a_holiday_breaks_the_run(child, clerk):
    for day, excused in ((1, False), (2, False), (3, True), (4, False), (7, False), (8, False)):
        ledgers.record_absence(child, date(2026, 12, day), clerk, excused=excused, reason="病假" if excused else "")
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE}  # 3 unexcused days after the excused one
    other = Child.objects.filter(status="enrolled").exclude(pk=child.pk).school_age_on(ON).first()
    CalendarDay.objects.create(date=date(2026, 12, 14), school_day=False, name="调休")
    for day in (10, 11, 15):  # Thu, Fri, (Mon holiday), Tue
        ledgers.record_absence(other, date(2026, 12, day), clerk)
    assert on_ledgers(other) == {Ledger.SCHOOL_AGE}
    assert ledgers.record_absence(other, date(2026, 12, 16), clerk) is not None  # Wednesday: 4th


def test_escalation_chain_names_the_head_teacher_on_day_one(child, clerk):
    ledgers.record_absence(child, date(2026, 12, 1), clerk)
    chain = ledgers.escalation(child, date(2026, 12, 1))
    assert [s.day for s in chain] == [1, 2, 3] and chain[0].reached and not chain[1].reached
    assert chain[0].person is not None and chain[0].who == "班主任家访"
    assert chain[1].due == date(2026, 12, 2) and chain[2].due == date(2026, 12, 3)


def test_status_changes_need_their_facts_and_follow_the_rules(child, clerk):
    with pytest.raises(ledgers.StatusChangeError):
        ledgers.change_status(child, ChildStatus.RETURNED, ON, clerk, "x")  # only by closing a case
    with pytest.raises(ledgers.StatusChangeError):
        ledgers.change_status(child, ChildStatus.TRANSFERRED_OUT, ON, clerk, "随父母外出")  # no destination
    with pytest.raises(ledgers.StatusChangeError):
        ledgers.change_status(child, ChildStatus.SUSPENDED, ON, clerk, "病休", until=ON)
    with pytest.raises(ledgers.StatusChangeError):
        ledgers.change_status(child, ChildStatus.SUSPENDED, ON, clerk, "  ", until=date(2027, 1, 31))
    ledgers.change_status(child, ChildStatus.SUSPENDED, ON, clerk, "病休", until=date(2027, 1, 31))
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE}
    ledgers.change_status(child, ChildStatus.ENROLLED, date(2027, 2, 1), clerk, "休学期满复学")
    ledgers.change_status(child, ChildStatus.TRANSFERRED_OUT, date(2027, 2, 2), clerk, "随迁", destination="杭州市某小学")
    history = list(child.status_history.filter(date__gte=ON).values_list("to_status", "destination"))
    assert history == [("suspended", ""), ("enrolled", ""), ("transferred_out", "杭州市某小学")]
    with pytest.raises(ledgers.StatusChangeError):  # no back-dating before the last change
        ledgers.change_status(child, ChildStatus.ENROLLED, ON, clerk, "转回")
    assert AuditEvent.objects.filter(action="change", object_id=str(child.pk)).count() == 3


def test_a_child_walks_through_a_case_to_strike_off(child, clerk, settings):
    settings.GRIDMAP_NOTICE_DAYS = 7
    teacher, official = Person.objects.filter(school__isnull=False)[:2]
    for day in (1, 2, 3, 4):
        ledgers.record_absence(child, date(2026, 12, day), clerk)
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE, Ledger.SUSPECTED}
    case = cases.confirm_dropout(child, date(2026, 12, 7), clerk, "多次劝返无效，确认辍学", [teacher, official])
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE, Ledger.DROPPED_OUT}  # never on both
    assert case.township.code == child.group.code[:9] and case.village.code == child.group.code[:12]
    with pytest.raises(cases.CaseError):  # steps in order
        cases.add_step(case, Step.ORDER_TO_CORRECT, date(2026, 12, 8), official, "东教限〔2026〕1号")
    cases.add_step(case, Step.PERSUASION, date(2026, 12, 8), teacher, notes="第一次入户")
    cases.add_step(case, Step.PERSUASION, date(2026, 12, 9), teacher, notes="第二次入户")
    notice = cases.add_step(case, Step.ORDER_TO_CORRECT, date(2026, 12, 10), official, "东教限〔2026〕1号")
    assert notice.deadline == date(2026, 12, 17)
    assert not cases.overdue(Case.objects.filter(pk=case.pk), date(2026, 12, 17)).exists()
    assert cases.overdue(Case.objects.filter(pk=case.pk), date(2026, 12, 18)).exists()
    with pytest.raises(cases.CaseError):  # no penalty before the deadline has passed
        cases.add_step(case, Step.PENALTY, date(2026, 12, 17), official, "东教罚〔2026〕1号")
    cases.add_step(case, Step.PENALTY, date(2026, 12, 18), official, "东教罚〔2026〕1号")
    assert not cases.overdue(Case.objects.filter(pk=case.pk), date(2026, 12, 20)).exists()
    cases.add_step(case, Step.LAWSUIT, date(2027, 1, 5), official, notes="申请法院强制执行")
    plan = cases.close_case(case, date(2027, 1, 20), clerk, "已返校就读", measures="每周家访，结对帮扶")
    case.refresh_from_db()
    assert case.status == "closed" and case.closed_on == date(2027, 1, 20)
    assert on_ledgers(child) == {Ledger.SCHOOL_AGE} and child.status == "returned"
    assert FollowUpPlan.objects.get(case=case) == plan and plan.reviews.count() == cases.FOLLOW_UP_MONTHS
    assert plan.reviews.order_by("due").first().due == date(2027, 2, 20)
    with pytest.raises(cases.CaseError):
        cases.add_step(case, Step.PERSUASION, date(2027, 1, 21), teacher)
    path = list(ChildStatusChange.objects.filter(child=child, date__gte=ON).values_list("to_status", flat=True))
    assert path == ["suspected", "dropped_out", "returned"]


def test_the_written_order_prints_with_masked_id_and_deadline(child, clerk, tmp_path, settings):
    import subprocess
    from pathlib import Path

    from gridmap import documents

    teacher = Person.objects.filter(school__isnull=False).first()
    for day in (1, 2, 3, 4):
        ledgers.record_absence(child, date(2026, 12, day), clerk)
    case = cases.confirm_dropout(child, date(2026, 12, 7), clerk, "确认辍学", [teacher])
    cases.add_step(case, Step.PERSUASION, date(2026, 12, 8), teacher)
    order = cases.add_step(case, Step.ORDER_TO_CORRECT, date(2026, 12, 9), teacher, "东教限〔2026〕88号")
    pdf = tmp_path / "notice.pdf"
    pdf.write_bytes(documents.case_document_pdf(order))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "限期复学通知书" in text and child.id_masked in text and "2026年12月16日" in text
    assert "东教限〔2026〕88号" in text and child.name in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "WenQuanYi" in fonts and all(" yes " in line for line in fonts.splitlines()[2:])  # embedded
    shots = Path(settings.VAR_DIR) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf), str(shots / "notice")], check=True)
    assert (shots / "notice.png").stat().st_size > 10_000
    with pytest.raises(ValueError):
        documents.case_document_pdf(case.steps.get(step=Step.PERSUASION))


def test_ledger_pages_filter_export_and_stay_in_scope(clerk):
    from io import BytesIO

    from django.db import connection
    from django.test import Client
    from openpyxl import load_workbook

    from gridmap.models import Area, AuditEvent, Profile, UserRole

    town, other = "330783118", "330783201"
    official = get_user_model().objects.create_user("ledger-official")
    Profile.objects.create(user=official, role=UserRole.TOWNSHIP_OFFICIAL).areas.set(Area.objects.filter(code=town))
    client = Client()
    client.force_login(official)
    on = "2026-11-22"
    with connection.cursor() as cursor:  # grade 9 in 2026/27: born 2011-09-01 .. 2012-08-31
        cursor.execute("""SELECT count(*) FROM gridmap_child c JOIN gridmap_area g ON g.id = c.group_id
                          WHERE g.code LIKE %s AND c.birth_date BETWEEN '2011-09-01' AND '2012-08-31'""",
                       [town + "%"])
        (grade_nine,) = cursor.fetchone()
    response = client.get(f"/ledgers/{town}/school_age/?on={on}&grade=9&format=xlsx")
    sheet = load_workbook(BytesIO(response.getvalue())).active
    data = [r for r in sheet.iter_rows(min_row=3, values_only=True) if r[5]]
    assert len(data) == grade_nine > 0 and all(r[7] == 9 for r in data)
    assert all("*" in r[5] and len(r[5]) == 18 for r in data)  # masked IDs only
    assert AuditEvent.objects.filter(action="export", username="ledger-official").exists()
    suspected = client.get(f"/ledgers/{town}/suspected/?on={on}").content.decode()
    expected = Child.objects.filter(group__code__startswith=town, status="suspected").school_age_on(date(2026, 11, 22))
    assert suspected.count("<tr data-child=") == min(expected.count(), 100)
    assert client.get(f"/ledgers/{other}/suspected/").status_code == 404
    assert client.get(f"/ledgers/{town}/nonsense/").status_code == 404
    planner = get_user_model().objects.create_user("ledger-planner")
    Profile.objects.create(user=planner, role=UserRole.COUNTY_PLANNER)
    client.force_login(planner)
    assert client.get(f"/ledgers/{town}/suspected/").status_code == 403


def test_registry_and_roll_discrepancies_are_listed(child):
    from gridmap.models import CatchmentAssignment

    on = date(2026, 11, 22)
    pool = Child.objects.filter(group__code__startswith=child.group.code[:9])
    before = {k: set(v.values_list("pk", flat=True)) for k, v in ledgers.discrepancies(pool, on).items()}
    off_roll = pool.filter(status="enrolled", school_class__isnull=False).school_age_on(on).exclude(pk=child.pk).first()
    off_roll.school_class = None
    off_roll.save()
    too_old = pool.filter(school_class__isnull=False, status="enrolled").exclude(pk__in=[child.pk, off_roll.pk]).first()
    too_old.birth_date = date(2009, 5, 1)
    too_old.save()
    CatchmentAssignment.objects.filter(area=child.group).delete()
    after = {k: set(v.values_list("pk", flat=True)) for k, v in ledgers.discrepancies(pool, on).items()}
    assert after["no_roll"] - before["no_roll"] == {off_roll.pk}
    assert after["roll_not_school_age"] - before["roll_not_school_age"] == {too_old.pk}
    assert child.pk in after["no_catchment"] - before["no_catchment"]


EXPECTED_LEDGERS = {  # where a school-age child with each status stands (DESIGN.md's three ledgers)
    "enrolled": {Ledger.SCHOOL_AGE}, "suspected": {Ledger.SCHOOL_AGE, Ledger.SUSPECTED},
    "dropped_out": {Ledger.SCHOOL_AGE, Ledger.DROPPED_OUT}, "returned": {Ledger.SCHOOL_AGE},
    "home_taught": {Ledger.SCHOOL_AGE}, "included": {Ledger.SCHOOL_AGE}, "suspended": {Ledger.SCHOOL_AGE},
    "transferred_out": {Ledger.SCHOOL_AGE}, "graduated": {Ledger.SCHOOL_AGE},
}


@pytest.mark.parametrize("start", list(ledgers.TRANSITIONS))
def test_every_status_path_from_each_status(start, child, clerk):
    """Each status to each other: allowed moves land on the right ledgers (never two off-school
    ledgers), forbidden ones are refused and leave the child as it was."""
    for to in ChildStatus.values:
        Child.objects.filter(pk=child.pk).update(status=start)  # the starting point, set directly
        ChildStatusChange.objects.filter(child=child, date__gte=ON).delete()
        child.refresh_from_db()
        if to in ledgers.TRANSITIONS[start]:
            ledgers.change_status(child, to, ON, clerk, "核实", destination="外县某校", until=date(2027, 1, 31))
            assert on_ledgers(child) == EXPECTED_LEDGERS[to], (start, to)
            assert child.status_history.latest("recorded_at").from_status == start
        else:
            with pytest.raises(ledgers.StatusChangeError):
                ledgers.change_status(child, to, ON, clerk, "核实", destination="外县某校", until=date(2027, 1, 31))
            assert on_ledgers(child) == EXPECTED_LEDGERS[start], (start, to)


def test_exports_stream_one_query_whatever_their_size():
    """A village's ledger and the county's take the same number of queries (no query per row), and
    the CSV has exactly the ledger's rows, as counted here in SQL."""
    from io import BytesIO

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from openpyxl import load_workbook

    from gridmap.models import Area

    admin = get_user_model().objects.create_superuser("export-chief", "", "pw-long-enough-1")
    client = Client()
    client.force_login(admin)
    village = Area.objects.filter(code__startswith="330783", level="village").order_by("code").first()
    counts = []
    for code in (village.code, "330783"):
        for fmt in ("csv", "xlsx"):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(f"/ledgers/{code}/school_age/?on=2026-11-22&format={fmt}")
                body = response.getvalue()
            assert response.streaming and response.status_code == 200
            counts.append(len(queries))
            if fmt == "csv":
                with connection.cursor() as cursor:
                    cursor.execute("""SELECT count(*) FROM gridmap_child c JOIN gridmap_area g ON g.id = c.group_id
                                      WHERE g.code LIKE %s AND c.birth_date BETWEEN '2011-09-01' AND '2020-08-31'""",
                                   [code + "%"])
                    (expected,) = cursor.fetchone()
                lines = body.decode("utf-8-sig").splitlines()
                assert lines[0].startswith("行政村,村民小组") and len(lines) == expected + 1 > 1
            else:
                sheet = load_workbook(BytesIO(body)).active
                assert sheet.freeze_panes == "A3" and sheet.print_title_rows == "$2:$2"
                assert sheet.page_setup.orientation == "landscape" and "A1" in str(sheet.merged_cells)
    assert counts[0] == counts[2] and counts[1] == counts[3], counts

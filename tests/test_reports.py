"""The monthly report: the demo county's figures against SQL written here from the definitions, the
zero report, the submission, the command and its workbook, and report counts along a case."""

from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook

from gridmap import cases, ledgers, reports
from gridmap.models import Area, Case, Child, ChildStatus, Person, ReportSubmission, Step

pytestmark = pytest.mark.django_db
# School year 2026/27 (31 August rule): grade 1 born 2019-09-01..2020-08-31, grade 9 born
# 2011-09-01..2012-08-31, so school age is born 2011-09-01..2020-08-31.
BORN = ("2011-09-01", "2020-08-31")
STATUS_AT_END = """
    SELECT DISTINCT ON (h.child_id) h.child_id, h.to_status, c.kg_disabled, c.birth_date
    FROM gridmap_childstatuschange h JOIN gridmap_child c ON c.id = h.child_id
    JOIN gridmap_area g ON g.id = c.group_id
    WHERE h.date <= %s AND g.code LIKE %s
    ORDER BY h.child_id, h.date DESC, h.recorded_at DESC, h.id DESC"""


def rows(query, *params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def test_county_november_equals_independent_sql():
    county = Area.objects.get(code="330783")
    figures = reports.for_area(county, "2026-11")
    end = rows(f"SELECT to_status, kg_disabled, birth_date FROM ({STATUS_AT_END}) s "
               "WHERE birth_date BETWEEN %s AND %s AND to_status <> 'transferred_out'",
               "2026-11-30", "330783%", *BORN)
    by_status = {}
    for status, _disabled, _born in end:
        by_status[status] = by_status.get(status, 0) + 1
    assert figures.by_status == by_status and figures.school_age == len(end) > 2500
    in_school = sum(by_status.get(s, 0) for s in ("enrolled", "returned", "included", "home_taught"))
    assert figures.enrolment_rate == round(100 * in_school / (len(end) - by_status.get("suspended", 0)), 2)
    assert figures.dropout_rate == round(100 * by_status.get("dropped_out", 0) / len(end), 2)
    disabled = [s for s, d, _b in end if d]
    disabled_in = [s for s in disabled if s in ("enrolled", "returned", "included", "home_taught")]
    assert figures.disabled_enrolment_rate == round(100 * len(disabled_in) / len(disabled), 2)
    cohort = [s for s, _d, b in end if date(2011, 9, 1) <= b <= date(2012, 8, 31)]
    cohort_in = [s for s in cohort if s in ("enrolled", "returned", "included", "home_taught", "graduated")]
    assert figures.consolidation_rate == round(100 * len(cohort_in) / len(cohort), 2)
    (opened, closed), = rows("""SELECT count(*) FILTER (WHERE opened_on BETWEEN '2026-11-01' AND '2026-11-30'),
                                       count(*) FILTER (WHERE closed_on BETWEEN '2026-11-01' AND '2026-11-30')
                                FROM gridmap_case""")
    assert (figures.cases_opened, figures.cases_closed) == (opened, closed)
    (new_suspected,), = rows("""SELECT count(*) FROM gridmap_childstatuschange WHERE to_status = 'suspected'
                                AND date BETWEEN '2026-11-01' AND '2026-11-30'""")
    assert figures.new_suspected == new_suspected
    # 送教应到/实到 by the weekly rule (gridmap.visits), counted here in SQL: the weeks whose Thursday is in
    # November, each owing a plan's visits_per_week when the plan is in force on one of its school days
    # (Monday-Friday: the demo has no calendar exceptions), its visits counted up to what it owes
    assert not rows("SELECT 1 FROM gridmap_calendarday WHERE date BETWEEN '2026-10-26' AND '2026-12-06'")
    (made, due), = rows("""
        WITH weeks AS (SELECT d::date AS mon FROM generate_series(date '2026-10-26', date '2026-11-30', interval '7 days') d
                       WHERE d::date + 3 BETWEEN '2026-11-01' AND '2026-11-30'),
             owed AS (SELECT p.id, p.visits_per_week AS per, w.mon FROM gridmap_hometeachingplan p
                      JOIN gridmap_child c ON c.id = p.child_id JOIN gridmap_area g ON g.id = c.group_id
                      JOIN weeks w ON p.start_date <= w.mon + 4 AND (p.end_date IS NULL OR p.end_date >= w.mon)
                      WHERE g.code LIKE '330783%%'),
             made AS (SELECT plan_id, date_trunc('week', date)::date AS mon, count(*) AS n FROM gridmap_homevisit
                      GROUP BY 1, 2)
        SELECT coalesce(sum(least(coalesce(m.n, 0), o.per)), 0), coalesce(sum(o.per), 0)
        FROM owed o LEFT JOIN made m ON m.plan_id = o.id AND m.mon = o.mon""")
    assert (figures.visits_made, figures.visits_due) == (made, due) and due > 0 and not figures.zero_report
    assert figures.visit_compliance == round(100 * made / due, 2)
    townships = reports.report_units(county, "2026-11")
    assert len(townships) == 19 and sum(t.school_age for t in townships[:-1]) == figures.school_age


def test_a_quiet_area_gets_a_zero_report(squares):
    """The hand-drawn county 990001 has no children and no cases: its month is a zero report."""
    figures = reports.for_area(squares["township"], "2026-11")
    assert figures.zero_report and figures.school_age == 0 and figures.dropout_rate is None
    clerk = get_user_model().objects.create_user("town-clerk")
    submission = reports.submit(squares["township"], "2026-11", clerk)
    assert submission.zero_report and submission.figures["zero_report"] is True
    assert submission.month == date(2026, 11, 1) and submission.submitted_by == clerk
    reports.submit(squares["township"], "2026-11", clerk)  # submitted again: replaced, not doubled
    assert ReportSubmission.objects.filter(area=squares["township"]).count() == 1


def test_report_counts_follow_a_case(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a: date(2026, 12, 31))  # December counted to its end
    clerk = get_user_model().objects.create_user("case-clerk")
    child = Child.objects.filter(status="enrolled").school_age_on(date(2026, 12, 1)).order_by("-pk").first()
    township = Area.objects.get(code=child.group.code[:9])
    before = reports.for_area(township, "2026-12")
    for day in (1, 2, 3, 4):
        ledgers.record_absence(child, date(2026, 12, day), clerk)
    after_absences = reports.for_area(township, "2026-12")
    assert after_absences.suspected == before.suspected + 1 and after_absences.new_suspected == before.new_suspected + 1
    teacher = Person.objects.filter(school__isnull=False).first()
    case = cases.confirm_dropout(child, date(2026, 12, 7), clerk, "确认辍学", [teacher])
    opened = reports.for_area(township, "2026-12")
    assert (opened.suspected, opened.dropped_out) == (before.suspected, before.dropped_out + 1)
    assert opened.cases_opened == before.cases_opened + 1 and opened.cases_open == before.cases_open + 1
    cases.add_step(case, Step.PERSUASION, date(2026, 12, 8), teacher)
    cases.add_step(case, Step.ORDER_TO_CORRECT, date(2026, 12, 9), teacher, "东教限〔2026〕9号")
    assert reports.for_area(township, "2026-12").cases_overdue == before.cases_overdue + 1  # deadline 16 Dec
    cases.close_case(case, date(2026, 12, 20), clerk, "返校")
    closed = reports.for_area(township, "2026-12")
    assert closed.dropped_out == before.dropped_out and closed.cases_closed == before.cases_closed + 1
    assert closed.by_status.get(ChildStatus.RETURNED, 0) == before.by_status.get(ChildStatus.RETURNED, 0) + 1
    assert reports.for_area(township, "2026-11").dropped_out == reports.for_area(township, "2026-11").dropped_out
    assert Case.objects.get(pk=case.pk).follow_up.reviews.count() == cases.FOLLOW_UP_MONTHS


def test_command_writes_a_printable_workbook(tmp_path):
    out = tmp_path / "月报.xlsx"
    printed = StringIO()
    call_command("monthly_report", month="2026-11", area="330783118", out=out, stdout=printed)
    assert "适龄儿童" in printed.getvalue()
    sheet = load_workbook(out).active
    assert sheet["A1"].value == "南马镇 2026-11 控辍保学月报" and sheet.freeze_panes == "A3"
    body = [r for r in sheet.iter_rows(min_row=3, values_only=True) if r[1]]
    assert body[-1][0] == "南马镇" and body[-1][3] == reports.for_area(Area.objects.get(code="330783118"),
                                                                       "2026-11").school_age
    assert all(len(str(r[1])) == 10 for r in body[:-1])  # the township's schools by their codes


ADDITIVE = ["school_age", "suspected", "dropped_out", "new_suspected", "cases_opened", "cases_closed", "cases_open",
            "cases_overdue", "visits_made", "visits_due"]
OVERDUE_ON = """
    SELECT count(*) FROM gridmap_case c JOIN gridmap_child ch ON ch.id = c.child_id JOIN gridmap_area g ON g.id = ch.group_id
    WHERE g.code LIKE %s AND c.opened_on <= %s AND (c.closed_on IS NULL OR c.closed_on > %s)
      AND EXISTS (SELECT 1 FROM gridmap_casestep s WHERE s.case_id = c.id AND s.step = 2 AND s.date <= %s AND s.deadline < %s)
      AND NOT EXISTS (SELECT 1 FROM gridmap_casestep s WHERE s.case_id = c.id AND s.step >= 3 AND s.date <= %s)"""


def school_age_by_status(prefix, day):
    """Independent: each child's last status on the day, school age by the 31 August rule written here."""
    school_year = day.year if day.month >= 9 else day.year - 1
    born = (date(school_year - 15, 9, 1), date(school_year - 6, 8, 31))
    out = {}
    for status, _d, _b in rows(f"SELECT to_status, kg_disabled, birth_date FROM ({STATUS_AT_END}) s "
                               "WHERE birth_date BETWEEN %s AND %s AND to_status <> 'transferred_out'",
                               day, f"{prefix}%", *born):
        out[status] = out.get(status, 0) + 1
    return out


def test_a_townships_rows_add_up_to_its_total_and_the_total_to_sql():
    from tests.test_access import A

    township = Area.objects.get(code=A)
    # a suspended child taken off the roll is attached to no school: the row that says so appears
    child = Child.objects.filter(group__code__startswith=A, status="enrolled", school_class__isnull=False) \
        .school_age_on(date(2026, 11, 30)).order_by("pk").first()
    ledgers.change_status(child, "suspended", date(2026, 11, 10), None, "病休", until=date(2027, 1, 10))
    Child.objects.filter(pk=child.pk).update(school_class=None)
    units = reports.report_units(township, "2026-11")
    total, body = units[-1], units[:-1]
    assert [r.kind for r in body[-1:]] == ["no_school"] and body[-1].by_status == {"suspended": 1}
    for name in ADDITIVE:
        assert sum(getattr(r, name) for r in body) == getattr(total, name), name
    for status in total.by_status:
        assert sum(r.by_status.get(status, 0) for r in body) == total.by_status[status], status
    expected = school_age_by_status(A, date(2026, 11, 30))
    assert total.by_status == expected and total.school_age == sum(expected.values())
    (overdue,), = rows(OVERDUE_ON, f"{A}%", *[date(2026, 11, 30)] * 5)
    assert total.cases_overdue == overdue
    assert total.as_dict() == reports.for_area(township, "2026-11").as_dict()  # snapshot = month-end counts
    page = login_official(A).get(f"/reports/{A}/?month=2026-11").content.decode()
    assert 'data-kind="no_school"' in page and "未关联学校" in page and "gm-rows-note" in page
    assert 'data-as-of="2026-11-30"' in page and "数据截至 2026-11-30" in page


def login_official(code):
    from tests.test_access import login

    return login("township_official", [code])


def test_the_countys_rows_add_up_and_each_township_matches_sql():
    county = Area.objects.get(code="330783")
    units = reports.report_units(county, "2026-11")
    total, body = units[-1], units[:-1]
    for name in ADDITIVE:
        assert sum(getattr(r, name) for r in body) == getattr(total, name), name
    for row in body:
        assert row.by_status == school_age_by_status(row.code, date(2026, 11, 30)), row.unit


def test_consolidation_rate_only_where_there_is_a_grade_9():
    from tests.test_access import A

    units = reports.report_units(Area.objects.get(code=A), "2026-11")
    schools = {s.code: s for s in Area.objects.get(code=A).schools.all()}
    for row in units[:-1]:
        if row.kind == "school" and schools[row.code].last_grade == 9:
            assert row.consolidation_rate is not None, row.unit
        else:
            assert row.consolidation_rate is None, row.unit
    assert units[-1].consolidation_rate is not None
    page = login_official(A).get(f"/reports/{A}/?month=2026-11").content.decode()
    primary = next(r for r in units if r.kind == "school" and schools[r.code].last_grade == 6)
    cells = page.split(f'data-code="{primary.code}"')[1].split("</tr>")[0].split("<td")
    assert ">—</td>" in cells[19]  # the 巩固率 column of a primary school: not a number


def test_overdue_has_one_definition_and_one_day_on_every_page(monkeypatch):
    """On 17 December: a deadline passed on the 16th is overdue; one passing on the 20th is not yet —
    though it will be by the month's end, which is what the report counted before."""
    from tests.test_access import A, login

    clerk = get_user_model().objects.create_user("overdue-clerk")
    teacher = Person.objects.filter(school__township__code=A).first()
    made = []
    for deadline in (date(2026, 12, 16), date(2026, 12, 20)):
        child = Child.objects.filter(group__code__startswith=A, status="enrolled").exclude(
            pk__in=[c.child_id for c in made]).order_by("pk").first()
        ledgers.change_status(child, "suspected", date(2026, 12, 1), clerk, "缺勤")
        case = cases.confirm_dropout(child, date(2026, 12, 2), clerk, "确认", [teacher])
        cases.add_step(case, Step.PERSUASION, date(2026, 12, 3), teacher)
        cases.add_step(case, Step.ORDER_TO_CORRECT, date(2026, 12, 4), teacher, "x", deadline=deadline)
        made.append(case)
    today = date(2026, 12, 17)
    monkeypatch.setattr(timezone, "localdate", lambda *a: today)
    (county_sql,), = rows(OVERDUE_ON, "330783%", *[today] * 5)
    (township_sql,), = rows(OVERDUE_ON, f"{A}%", *[today] * 5)
    admin = login("county_admin", superuser=True)
    dashboard = admin.get("/dashboard/?month=2026-12").content.decode()
    kpi = int(dashboard.split('data-kpi="cases_overdue">')[1].split("<")[0])
    listed = admin.get("/cases/330783/?show=overdue").content.decode()
    report = reports.for_area(Area.objects.get(code="330783"), "2026-12")
    assert kpi == report.cases_overdue == listed.count("gm-overdue\">") == county_sql
    assert f'data-case="{made[0].pk}"' in listed and f'data-case="{made[1].pk}"' not in listed
    assert reports.for_area(Area.objects.get(code=A), "2026-12").cases_overdue == township_sql
    for page in (dashboard, listed, admin.get("/reports/330783/?month=2026-12").content.decode()):
        assert 'data-as-of="2026-12-17"' in page and "数据截至 2026-12-17" in page


def test_month_end_counts_follow_every_write_and_equal_a_rebuild():
    """Back-dated changes through the domain, a row written by SQL (as an import would), a child
    moved to another village: the month-end counts follow, and equal a rebuild from scratch."""
    from gridmap import month_ends
    from gridmap.models import MonthEndCount

    county = Area.objects.get(code="330783")
    october = date(2026, 10, 1)
    reports.for_area(county, "2026-10")  # built
    child = Child.objects.filter(status="enrolled").school_age_on(date(2026, 10, 31)).order_by("pk").first()
    village = child.group.parent
    ledgers.change_status(child, "transferred_out", date(2026, 10, 15), None, "转学", destination="杭州")
    assert school_age_by_status(village.code, date(2026, 10, 31)) == reports.for_area(village, "2026-10").by_status
    other = Child.objects.filter(status="enrolled").exclude(group__parent=village).order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO gridmap_childstatuschange (child_id, date, from_status, to_status, reason, "
                       "destination, recorded_at) VALUES (%s, '2026-10-20', 'enrolled', 'suspected', 'x', '', now())",
                       [other.pk])
    assert reports.for_area(other.group.parent, "2026-10").by_status == school_age_by_status(
        other.group.parent.code, date(2026, 10, 31))
    moved_to = Area.objects.filter(level="group").exclude(parent__in=[village, other.group.parent]).first()
    Child.objects.filter(pk=other.pk).update(group=moved_to)
    for area in (other.group.parent, moved_to.parent):
        assert reports.for_area(area, "2026-10").by_status == school_age_by_status(area.code, date(2026, 10, 31))

    def table():
        month_ends.ensure("330783", [october])
        return sorted(MonthEndCount.objects.filter(month=october).values_list(
            "village_id", "measure", "grade", "status", "disabled", "children"))
    incremental = table()
    call_command("rebuild_month_ends", "--from", "2026-10", "--to", "2026-10", stdout=StringIO())
    assert incremental == table()

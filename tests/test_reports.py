"""The monthly report: the demo county's figures against SQL written here from the definitions, the
zero report, the submission, the command and its workbook, and report counts along a case."""

from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
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


def test_report_counts_follow_a_case():
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

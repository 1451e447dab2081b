"""The monthly report's 送教应到 / 送教实到 / 送教到位率 by the weekly rule of gridmap.visits — visits made
÷ visits due, week by week (ISO weeks; a week belongs to the month that holds its Thursday; a
holiday week owes nothing; a week's visits count up to what it owes) — against counts made by hand
here, through the report (area total, school row, workbook) and through gridmap.visits itself.

The calendar, set here: National Day 1-7 October 2026 off, Saturday 10 October a school day (调休),
Monday 12 - Friday 16 October off (a whole holiday week). ISO weeks and their Thursdays:
W39 21-27 Sep (Thu 24 Sep: September) · W40 28 Sep-4 Oct (Thu 1 Oct: October) · W41 5-11 Oct ·
W42 12-18 Oct · W43 19-25 Oct · W44 26 Oct-1 Nov (Thu 29 Oct: October) · W45 2-8 Nov (November).
So October holds W40-W44; November W45-W48; W49 (Thu 3 Dec) is December's.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from gridmap import reports
from gridmap import visits as weekly
from gridmap.models import CalendarDay, Child, HomeTeachingPlan, HomeVisit, Person, School


@pytest.fixture
def october(squares):
    town, groups = squares["township"], squares["groups"]
    for i in range(7):
        CalendarDay.objects.create(date=date(2026, 10, 1) + timedelta(days=i), school_day=False, name="国庆")
    CalendarDay.objects.create(date=date(2026, 10, 10), school_day=True, name="调休")
    for i in range(5):
        CalendarDay.objects.create(date=date(2026, 10, 12) + timedelta(days=i), school_day=False, name="假")
    school = School.objects.create(code="9900010031", name="一村小学", kind="full_primary", first_grade=1,
                                   last_grade=6, location="SRID=4326;POINT(119.01 28.01)", township=town)
    teachers = [Person.objects.create(name="王老师", sex="M", school=school),
                Person.objects.create(name="李老师", sex="F", school=school)]

    def plan(key, per_week, hours, start, end=None):
        child = Child.objects.create(id_hash=f"rv-{key}", id_masked=f"990001{key}*******", name=f"送教{key}", sex="M",
                                     birth_date=date(2016, 3, 1), group=groups[0], status="home_taught",
                                     kg_disabled=True, disability_category="physical")
        p = HomeTeachingPlan.objects.create(child=child, school=school, start_date=start, end_date=end,
                                            visits_per_week=per_week, hours_per_visit=hours)
        p.teachers.set(teachers)
        return p

    def visits(p, *days):
        for day in days:
            HomeVisit.objects.create(plan=p, date=day, class_hours=p.hours_per_visit).teachers.set(teachers)

    # A: one visit a week from 1 September.
    #   W39 Sun 27 Sep (September's) · W40 Tue 29 Sep and Sun 4 Oct (two: one counted; the week owes
    #   one, its Mon-Wed being school days) · W41 none (owes one: Thu 8, Fri 9, Sat 10) · W42 Tue 13 Oct
    #   (a holiday week: owes nothing, counts nothing) · W43 Tue 20 and Wed 21 Oct (one counted) ·
    #   W44 Sun 1 Nov (October's week) · W46 Tue 10 Nov · W49 Mon 30 Nov (December's week).
    #   October: due 1+1+0+1+1 = 4, made 1+0+0+1+1 = 3. November: due 4 (W45-W48), made 1.
    a = plan("a", 1, 2, date(2026, 9, 1))
    visits(a, date(2026, 9, 27), date(2026, 9, 29), date(2026, 10, 4), date(2026, 10, 13), date(2026, 10, 20),
           date(2026, 10, 21), date(2026, 11, 1), date(2026, 11, 10), date(2026, 11, 30))
    # B: two visits a week of three class hours, Wed 14 Oct to Wed 28 Oct: W42 a holiday week (owes 0),
    #   W43 owes 2 (Tue 20, Thu 22: made 2), W44 owes 2 (in force Mon 26-Wed 28; Tue 27: made 1).
    #   October: due 4, made 3. November: not in force.
    b = plan("b", 2, 3, date(2026, 10, 14), date(2026, 10, 28))
    visits(b, date(2026, 10, 20), date(2026, 10, 22), date(2026, 10, 27))
    return {"town": town, "school": school, "a": a, "b": b}


HAND = {  # (made, due) by hand, from the fixture's comments
    ("a", "2026-10"): (3, 4), ("b", "2026-10"): (3, 4),
    ("a", "2026-11"): (1, 4), ("b", "2026-11"): (0, 0),
}


def test_each_plan_by_hand(october):
    for (key, month), expected in HAND.items():
        first, last = reports.month_bounds(month)
        got = weekly.made_and_due(HomeTeachingPlan.objects.filter(pk=october[key].pk), first, last)
        assert got.get(october[key].pk, (0, 0)) == expected, (key, month)
    # the weeks the months hold, by their Thursdays
    assert weekly.month_weeks(date(2026, 10, 1), date(2026, 10, 31)) == [(2026, w) for w in range(40, 45)]
    assert weekly.month_weeks(date(2026, 11, 1), date(2026, 11, 30)) == [(2026, w) for w in range(45, 49)]
    # November counted on Wednesday 18 November: only W45 and W46 have ended (due 2, made 1)
    plans = HomeTeachingPlan.objects.filter(pk=october["a"].pk)
    assert weekly.totals(plans, date(2026, 11, 1), date(2026, 11, 30), on=date(2026, 11, 18)) == (1, 2)


@pytest.mark.parametrize("month, made, due", [("2026-10", 6, 8), ("2026-11", 1, 4), ("2026-09", 1, 4)])
def test_the_monthly_report_counts_them_by_week(october, month, made, due):
    """October: A 3 of 4, B 3 of 4. November: A 1 of 4. September (plan A only): W36 (31 Aug-6 Sep,
    Thu 3 Sep) owes one, from Tue 1 Sep, as do W37-W39: due 4; made only W39's Sun 27 Sep (Tue 29 Sep
    is W40's, October's): 1. Counting plan A's visits dated in the month instead would give 4 in
    October, 3 in November and 2 in September."""
    figures = reports.for_area(october["town"], month)
    assert (figures.visits_made, figures.visits_due) == (made, due)
    assert figures.visit_compliance == round(100 * made / due, 2)
    row = next(r for r in reports.report_units(october["town"], month) if r.code == october["school"].code)
    assert (row.visits_made, row.visits_due) == (made, due)


def test_the_workbook_columns(october, tmp_path):
    out = tmp_path / "月报.xlsx"
    with open(tmp_path / "log", "w") as log:
        call_command("monthly_report", month="2026-10", area=october["town"].code, out=out, stdout=log)
    rows = [r for r in load_workbook(out).active.iter_rows(values_only=True)]
    header = next(r for r in rows if r and "送教应到" in r)
    due, made, rate = (header.index(h) for h in ("送教应到", "送教实到", "送教到位率(%)"))
    total = next(r for r in rows if r and r[0] == october["town"].name)
    assert (total[due], total[made], total[rate]) == (8, 6, 75.0)

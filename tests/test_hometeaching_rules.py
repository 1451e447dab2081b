"""Send-teaching-home rules: one test per violation kind, on hand-made rows in the test county.

Weeks are ISO weeks. Dates used: Mon 2026-11-02 .. Sun 2026-11-08 is 2026-W45, Mon 2026-11-09 starts
W46; W47 is 16-22 November. Expected values are worked out by hand in each test.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import translation

from gridmap import visits as weekly
from gridmap.models import CalendarDay, Child, HomeTeachingPlan, HomeVisit, Person, Responsibility, School
from hometeaching import rules

BORN = date(2016, 3, 1)  # 10 on every day used here: school age


@pytest.fixture
def world(squares):
    town, village, groups = squares["township"], squares["village"], squares["groups"]
    school = School.objects.create(code="9900010011", name="一村小学", kind="full_primary", first_grade=1,
                                   last_grade=6, location="SRID=4326;POINT(119.01 28.01)", township=town)
    other = School.objects.create(code="9900010012", name="镇中心小学", kind="central_primary", first_grade=1,
                                  last_grade=6, location="SRID=4326;POINT(119.15 28.15)", township=town)
    Responsibility.objects.create(role="responsible_school", responsible_school=school, area=village,
                                  start_date=date(2026, 1, 1))
    male = Person.objects.create(name="王老师", sex="M", school=school)
    female = Person.objects.create(name="李老师", sex="F", school=school)
    female2 = Person.objects.create(name="赵老师", sex="F", school=school)

    def child(key, status="home_taught", disabled=True, born=BORN):
        return Child.objects.create(id_hash=f"ht-{key}", id_masked=f"990001{key}*******", name=f"送教{key}",
                                    sex="M", birth_date=born, group=groups[0], status=status,
                                    kg_disabled=disabled, disability_category="physical" if disabled else "")

    def plan(c, at=school, per_week=1, hours=2, start=date(2026, 9, 1)):
        p = HomeTeachingPlan.objects.create(child=c, school=at, start_date=start, visits_per_week=per_week,
                                            hours_per_visit=hours)
        p.teachers.set([male, female])
        return p

    def visit(p, day, *teachers, hours=None, minutes=None):
        v = HomeVisit.objects.create(plan=p, date=day, class_hours=hours, minutes=minutes)
        v.teachers.set(teachers or [male, female])
        return v

    return {"school": school, "other": other, "male": male, "female": female, "female2": female2,
            "child": child, "plan": plan, "visit": visit}


def found(p_or_children, first, last, on, kind):
    plans, children = p_or_children
    return [v for v in rules.violations(plans, children, first, last, on) if v.kind == kind]


def test_short_week_across_a_week_boundary(world):
    """Visits on Sunday 8 Nov (W45) and Monday 9 Nov (W46): each week has its one visit. Then two
    visits in W47 (Mon 16, Fri 20) and none in W48: W48 is short though the fortnight has two."""
    c = world["child"]("a")
    p = world["plan"](c)
    for day in (date(2026, 11, 8), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 20)):
        world["visit"](p, day, hours=2)
    plans, children = HomeTeachingPlan.objects.filter(pk=p.pk), Child.objects.filter(pk=c.pk)
    short = found((plans, children), date(2026, 11, 2), date(2026, 11, 29), date(2026, 11, 30), rules.SHORT_WEEK)
    assert [v.week for v in short] == [(2026, 48)]
    school, names = short[0].responsible.split("：")
    assert school == "一村小学" and set(names.split("、")) == {"王老师", "李老师"} and short[0].child_id == c.pk
    # a week not yet over is not judged
    assert not found((plans, children), date(2026, 11, 23), date(2026, 11, 29), date(2026, 11, 28), rules.SHORT_WEEK)


def test_short_week_by_class_hours_and_the_plan_load(world):
    """Two visits a week of three class hours: W46 has two visits but one lasts 80 minutes (2 class
    hours of 40): 5 of 6 hours — short. W47 has one visit: short by visits."""
    c = world["child"]("b")
    p = world["plan"](c, per_week=2, hours=3)
    world["visit"](p, date(2026, 11, 10), hours=3)
    world["visit"](p, date(2026, 11, 12), minutes=80)
    world["visit"](p, date(2026, 11, 17), hours=3)
    with translation.override("en"):
        short = found((HomeTeachingPlan.objects.filter(pk=p.pk), Child.objects.none()), date(2026, 11, 9),
                      date(2026, 11, 22), date(2026, 11, 30), rules.SHORT_WEEK)
    assert [(v.week, v.detail) for v in short] == [
        ((2026, 46), "2 of 2 visits, 5 of 6 class hours"), ((2026, 47), "1 of 2 visits, 3 of 6 class hours")]


def test_holiday_week_owes_nothing(world):
    """The National Day week (1-7 Oct 2026, W40 Mon 28 Sep .. Sun 4 Oct, and W41 Mon 5 .. Sun 11):
    with 1-7 October off and the make-up Saturday 10 October a school day, W40's Mon-Wed are school
    days (owes a visit), W41 has Thu 8, Fri 9, Sat 10 (owes one). A week made wholly of holidays —
    here W42 declared off Mon-Fri — owes nothing, and its missing visit is no violation."""
    for i in range(7):
        CalendarDay.objects.create(date=date(2026, 10, 1) + timedelta(days=i), school_day=False, name="国庆")
    CalendarDay.objects.create(date=date(2026, 10, 10), school_day=True, name="调休")
    for i in range(5):
        CalendarDay.objects.create(date=date(2026, 10, 12) + timedelta(days=i), school_day=False, name="假")
    c = world["child"]("c")
    p = world["plan"](c)
    world["visit"](p, date(2026, 9, 29), hours=2)  # W40 kept
    plans = HomeTeachingPlan.objects.filter(pk=p.pk)
    weeks = {pw.week: pw for pw in weekly.plan_weeks(plans, date(2026, 9, 28), date(2026, 10, 18))}
    assert (weeks[(2026, 40)].visits_due, weeks[(2026, 41)].visits_due, weeks[(2026, 42)].visits_due) == (1, 1, 0)
    assert weeks[(2026, 42)].holiday and not weeks[(2026, 42)].short
    short = found((plans, Child.objects.none()), date(2026, 9, 28), date(2026, 10, 18), date(2026, 10, 31),
                  rules.SHORT_WEEK)
    assert [v.week for v in short] == [(2026, 41)]


def test_two_teachers_and_a_male_teacher(world):
    c = world["child"]("d")
    p = world["plan"](c)
    world["visit"](p, date(2026, 11, 10), world["male"], world["female"], hours=2)  # fine
    world["visit"](p, date(2026, 11, 17), world["female"], hours=2)  # one teacher, and no man
    world["visit"](p, date(2026, 11, 24), world["female"], world["female2"], hours=2)  # two, no man
    world["visit"](p, date(2026, 12, 1), world["male"], hours=2)  # one (a man)
    args = ((HomeTeachingPlan.objects.filter(pk=p.pk), Child.objects.none()), date(2026, 11, 9), date(2026, 12, 6),
            date(2026, 12, 7))
    assert [v.day for v in found(*args, rules.FEW_TEACHERS)] == [date(2026, 11, 17), date(2026, 12, 1)]
    no_male = found(*args, rules.NO_MALE)
    assert [v.day for v in no_male] == [date(2026, 11, 17), date(2026, 11, 24)]
    assert set(no_male[1].responsible.split("：")[1].split("、")) == {"李老师（女）", "赵老师（女）"}
    assert not found(*args, rules.SHORT_WEEK)


def test_plan_of_a_school_that_is_not_responsible(world):
    right, wrong = world["child"]("e"), world["child"]("f")
    world["plan"](right)
    p = world["plan"](wrong, at=world["other"])
    bad = found((HomeTeachingPlan.objects.filter(child__in=[right, wrong]), Child.objects.none()),
                date(2026, 11, 2), date(2026, 11, 8), date(2026, 11, 8), rules.WRONG_SCHOOL)
    assert [(v.child_id, v.plan_id) for v in bad] == [(wrong.pk, p.pk)]
    assert "一村小学" in bad[0].detail and "镇中心小学" in bad[0].detail


def test_disabled_school_age_child_neither_in_school_nor_on_a_plan(world):
    make = world["child"]
    kids = {
        "dropped": make("g", status="dropped_out"),  # violation
        "home_no_plan": make("h", status="home_taught"),  # violation: taught at home, but no plan
        "planned": make("i", status="home_taught"),
        "included": make("j", status="included"),
        "enrolled": make("k", status="enrolled"),  # a special school counts as in school
        "suspended": make("l", status="suspended"),
        "too_young": make("m", status="dropped_out", born=date(2021, 9, 1)),  # 5 on 30 Nov 2026
        "not_disabled": make("n", status="dropped_out", disabled=False),
        "ended_plan": make("o", status="home_taught"),  # violation: the plan ended in October
    }
    world["plan"](kids["planned"])
    ended = world["plan"](kids["ended_plan"])
    ended.end_date = date(2026, 10, 31)
    ended.save()
    on = date(2026, 11, 30)
    bad = rules.unplanned(Child.objects.filter(pk__in=[c.pk for c in kids.values()]), on)
    assert sorted(v.child_id for v in bad) == sorted(kids[k].pk for k in ("dropped", "home_no_plan", "ended_plan"))
    assert all(v.responsible.startswith("一村小学") for v in bad)


def test_month_compliance_counts_each_week_once(world):
    """November 2026 holds W45-W48 (their Thursdays 5, 12, 19, 26 Nov; W44's Thursday is 29 Oct,
    W49's 3 Dec). Visits: W45 two (counted one), W46 none, W47 one, W48 one, and W44's Sunday 1 Nov
    (October's week): made 3 of 4 due."""
    c = world["child"]("p")
    p = world["plan"](c)
    for day in (date(2026, 11, 1), date(2026, 11, 3), date(2026, 11, 5), date(2026, 11, 17), date(2026, 11, 26)):
        world["visit"](p, day, hours=2)
    plans = HomeTeachingPlan.objects.filter(pk=p.pk)
    assert weekly.month_weeks(date(2026, 11, 1), date(2026, 11, 30)) == [(2026, 45), (2026, 46), (2026, 47), (2026, 48)]
    assert weekly.totals(plans, date(2026, 11, 1), date(2026, 11, 30)) == (3, 4)
    # counted on 25 November, only W45-W47 have ended
    assert weekly.totals(plans, date(2026, 11, 1), date(2026, 11, 30), on=date(2026, 11, 25)) == (2, 3)

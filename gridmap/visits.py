"""Send-teaching-home visits owed and made, week by week (the weekly minimum and its compliance).

One rule, used by the violation list (hometeaching.rules), the monthly report and the dashboard:

- Weeks are ISO weeks, Monday to Sunday: a visit on Sunday counts for its week, one on Monday for
  the next — two visits either side of a week boundary do not make up for an empty week.
- A week owes the plan's visits (`visits_per_week`) and class hours (× `hours_per_visit`) when the plan
  is in force on at least one of its school days; a week without any school day (a holiday week of
  the school calendar: a vacation, the National Day week; gridmap.ledgers.school_days) owes nothing.
- A visit's class hours are those recorded, else its minutes ÷ GRIDMAP_CLASS_HOUR_MINUTES (rounded
  down), else the plan's hours per visit.
- Compliance = visits made ÷ visits due, where a week's visits made count at most up to what it owes
  (two visits in one week do not hide an empty week). A month holds the weeks whose Thursday falls in
  it (ISO's rule), so every week is counted in exactly one month; a month in progress owes only the
  weeks that have ended by the day it is counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from gridmap import ledgers
from gridmap.models import HomeTeachingPlan, HomeVisit

Week = tuple[int, int]  # ISO year, ISO week


def monday(week: Week) -> date:
    return date.fromisocalendar(week[0], week[1], 1)


def week_of(day: date) -> Week:
    iso = day.isocalendar()
    return iso[0], iso[1]


def weeks_between(first: date, last: date) -> list[Week]:
    """Every ISO week with a day in [first, last], in order."""
    out: list[Week] = []
    day = first - timedelta(days=first.weekday())
    while day <= last:
        out.append(week_of(day))
        day += timedelta(days=7)
    return out


def class_hour_minutes() -> int:
    return int(getattr(settings, "GRIDMAP_CLASS_HOUR_MINUTES", 40))


@dataclass(frozen=True)
class PlanWeek:
    plan_id: int
    week: Week
    visits_due: int  # 0 in a holiday week
    hours_due: int
    visits_made: int
    hours_made: int
    holiday: bool

    @property
    def short(self) -> bool:
        return self.visits_made < self.visits_due or self.hours_made < self.hours_due

    @property
    def made_counted(self) -> int:
        return min(self.visits_made, self.visits_due)


def plan_weeks(plans: QuerySet[HomeTeachingPlan], first: date, last: date) -> list[PlanWeek]:
    """Each plan's weeks from the week of `first` to the week of `last` while it is in force."""
    start_w = first - timedelta(days=first.weekday())
    end_w = last + timedelta(days=6 - last.weekday())
    rows = list(plans.filter(Q(start_date__lte=end_w), Q(end_date__isnull=True) | Q(end_date__gte=start_w))
                .values_list("pk", "start_date", "end_date", "visits_per_week", "hours_per_visit"))
    if not rows:
        return []
    school = set(ledgers.school_days(start_w, end_w))
    made: dict[tuple[int, Week], list[int]] = defaultdict(lambda: [0, 0])
    per_hour = class_hour_minutes()
    hours_of = {pk: hours for pk, *_rest, hours in rows}
    visits = (HomeVisit.objects.filter(plan__in=[r[0] for r in rows], date__range=(start_w, end_w))
              .values_list("plan_id", "date", "class_hours", "minutes"))
    for plan_id, day, hours, minutes in visits:
        slot = made[(plan_id, week_of(day))]
        slot[0] += 1
        slot[1] += hours if hours is not None else (minutes // per_hour if minutes is not None else hours_of[plan_id])
    out = []
    for pk, start, end, per_week, per_visit in rows:
        for week in weeks_between(max(start, start_w), min(end or end_w, end_w)):
            days = [monday(week) + timedelta(days=i) for i in range(7)]
            in_force = [d for d in days if start <= d and (end is None or d <= end)]
            holiday = not any(d in school for d in in_force)
            due = 0 if holiday else per_week
            visits_made, hours_made = made.get((pk, week), (0, 0))
            out.append(PlanWeek(pk, week, due, due * per_visit, visits_made, hours_made, holiday))
    return out


def month_weeks(first: date, last: date, on: date | None = None) -> list[Week]:
    """The weeks a month holds (their Thursday in it), ended by `on` (default: every one)."""
    weeks = [w for w in weeks_between(first, last) if first <= monday(w) + timedelta(days=3) <= last]
    if on is not None:
        weeks = [w for w in weeks if monday(w) + timedelta(days=6) <= on]
    return weeks


def made_and_due(plans: QuerySet[HomeTeachingPlan], first: date, last: date,
                 on: date | None = None) -> dict[int, tuple[int, int]]:
    """Per plan: visits made (at most what each week owes) and visits due over a month's weeks."""
    weeks = month_weeks(first, last, on)
    if not weeks:
        return {}
    wanted = set(weeks)
    out: dict[int, tuple[int, int]] = {}
    for pw in plan_weeks(plans, monday(weeks[0]), monday(weeks[-1]) + timedelta(days=6)):
        if pw.week in wanted:
            made, due = out.get(pw.plan_id, (0, 0))
            out[pw.plan_id] = (made + pw.made_counted, due + pw.visits_due)
    return out


def totals(plans: QuerySet[HomeTeachingPlan], first: date, last: date, on: date | None = None) -> tuple[int, int]:
    """Visits made and due of all these plans in the month (see made_and_due)."""
    per_plan = made_and_due(plans, first, last, on)
    return sum(m for m, _d in per_plan.values()), sum(d for _m, d in per_plan.values())


def teacher_counts(visits: QuerySet[HomeVisit]) -> QuerySet[HomeVisit]:
    """Visits annotated with how many teachers, and how many male teachers, went."""
    return visits.annotate(n_teachers=Count("teachers", distinct=True),
                           n_male=Count("teachers", filter=Q(teachers__sex="M"), distinct=True))

"""The monthly report (月报) of a township, county or school for a month, its zero report, and its
submission.

Every figure is for the last day of the month and comes from the status history (so a report of a
past month is what the ledgers said then). Definitions (DESIGN.md where it defines them):
- school-age children: 6-15 by the 31 August rule on the day, on the ledger (history begun), not
  transferred out;
- dropout rate = dropped out ÷ school-age; enrolment rate = in school (enrolled, returned,
  disabled in a regular class, taught at home) ÷ (school-age − suspended);
- nine-year consolidation rate: DESIGN.md defines it as this year's grade-9 graduates ÷ grade-1
  entrants nine years earlier. gridmap holds no roll from nine years ago, so until one is imported it
  reports the proxy "cohort due in grade 9 now: in school ÷ on the ledger", marked as such;
- disabled children's enrolment rate = disabled in school ÷ disabled school-age;
- send-teaching-home compliance = visits made ÷ visits due, week by week as gridmap.visits defines
  them (ISO weeks whose Thursday is in the month, holiday weeks owing nothing, a week's visits
  counted up to what it owes);
- zero report: no suspected or dropped-out child, no open, new or closed case.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from gridmap import cases as case_flow
from gridmap import ledgers, schooling, visits
from gridmap.models import (
    Area,
    AreaLevel,
    Case,
    Child,
    ChildStatus,
    ChildStatusChange,
    HomeTeachingPlan,
    ReportSubmission,
    School,
    SchoolStatus,
)
from gridmap.models.areas import CODE_LENGTH

S = ChildStatus


def month_bounds(month: str | date) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01") if isinstance(month, str) else month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


@dataclass
class MonthlyFigures:
    unit: str  # township / county / school name
    code: str
    month: str  # YYYY-MM
    school_age: int
    by_status: dict[str, int]
    suspected: int
    dropped_out: int
    new_suspected: int
    cases_opened: int
    cases_closed: int
    cases_open: int
    cases_overdue: int
    dropout_rate: float | None  # per cent
    enrolment_rate: float | None
    consolidation_rate: float | None
    consolidation_is_proxy: bool
    disabled_enrolment_rate: float | None
    visits_made: int
    visits_due: int
    visit_compliance: float | None
    zero_report: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def children_of_area(area: Area) -> QuerySet[Child]:
    return Child.objects.filter(group__code__startswith=area.code)


def children_of_school(school: School) -> QuerySet[Child]:
    # A subquery rather than a join: no duplicate rows, so no DISTINCT over the whole child row.
    return Child.objects.filter(school_q([school]))


def school_q(schools: list[School]) -> Q:
    """A school's children: on its roll, taught at home by it, or in a dropout case it answers for
    (a dropout has usually left the roll, yet counts against the school that lost them)."""
    taught_at_home = HomeTeachingPlan.objects.filter(school__in=schools).values("child")
    in_its_cases = Case.objects.filter(school__in=schools).values("child")
    return Q(school_class__school__in=schools) | Q(pk__in=taught_at_home) | Q(pk__in=in_its_cases)


@dataclass(frozen=True)
class ChildThen:
    """What a report needs of one child at a month end (one row of `snapshot`)."""

    pk: int
    status: str | None  # from the history; None before the child's first entry
    birth_date: date
    disabled: bool
    group_code: str
    school_id: int | None  # of the class on the roll now (the roll keeps no history)


def snapshot(children: QuerySet[Child], last: date) -> list[ChildThen]:
    """Each child's status at the end of `last`, in one query."""
    rows = _status_then(children, last).values_list("pk", "status_then", "birth_date", "kg_disabled",
                                                    "group__code", "school_class__school_id")
    return [ChildThen(*row) for row in rows]


def monthly(children: QuerySet[Child], month: str | date, unit: str, code: str,
            cases: QuerySet[Case] | None = None, plans: QuerySet[HomeTeachingPlan] | None = None) -> MonthlyFigures:
    last = month_bounds(month)[1]
    return figures_of(snapshot(children, last), month, unit, code,
                      cases if cases is not None else Case.objects.filter(child__in=children),
                      plans if plans is not None else HomeTeachingPlan.objects.filter(child__in=children))


def new_suspected_entries(month: str | date) -> Counter[int]:
    """Entries on the suspected ledger during the month, per child (few, county-wide)."""
    first, last = month_bounds(month)
    return Counter(ChildStatusChange.objects.filter(to_status=S.SUSPECTED, date__range=(first, last))
                   .values_list("child_id", flat=True))


def school_age_then(rows: list[ChildThen], last: date) -> list[ChildThen]:
    """The school-age children on the ledger at the end of `last`: 6-15 by the 31 August rule, history
    begun, not transferred out (the report's denominator; the hotspot layer counts with it too)."""
    earliest, latest = schooling.school_age_birth_range(last)
    return [c for c in rows if earliest <= c.birth_date <= latest and c.status is not None
            and c.status != S.TRANSFERRED_OUT]


def figures_of(rows: list[ChildThen], month: str | date, unit: str, code: str, cases: QuerySet[Case],
               plans: QuerySet[HomeTeachingPlan], entries: Counter[int] | None = None) -> MonthlyFigures:
    """The month's figures of a unit from its children's snapshot, its cases and plans, and the
    month's new suspected entries (read here unless the caller has them)."""
    first, last = month_bounds(month)
    cohort_earliest, cohort_latest = schooling.grade_birth_range(9, last)
    on_ledger = school_age_then(rows, last)
    counts: dict[str, int] = {}
    for status in (c.status for c in on_ledger if c.status is not None):
        counts[status] = counts.get(status, 0) + 1
    school_age = len(on_ledger)
    in_school = sum(counts.get(s, 0) for s in ledgers.IN_SCHOOL)
    disabled = [c for c in on_ledger if c.disabled]
    disabled_in = sum(c.status in ledgers.IN_SCHOOL for c in disabled)
    cohort = [c for c in on_ledger if cohort_earliest <= c.birth_date <= cohort_latest]
    cohort_in = sum(c.status in (*ledgers.IN_SCHOOL, S.GRADUATED) for c in cohort)
    opened = cases.filter(opened_on__range=(first, last)).count()
    closed = cases.filter(closed_on__range=(first, last)).count()
    open_then = cases.filter(Q(opened_on__lte=last), Q(closed_on__isnull=True) | Q(closed_on__gt=last)).count()
    overdue = case_flow.overdue(cases, last).count()
    entries = new_suspected_entries(month) if entries is None else entries
    new_suspected = sum(entries[c.pk] for c in rows) if entries else 0
    made, due = _visits(plans, first, last)
    suspected, dropped = counts.get(S.SUSPECTED, 0), counts.get(S.DROPPED_OUT, 0)
    return MonthlyFigures(
        unit=unit, code=code, month=f"{first:%Y-%m}", school_age=school_age, by_status=counts,
        suspected=suspected, dropped_out=dropped, new_suspected=new_suspected, cases_opened=opened,
        cases_closed=closed, cases_open=open_then, cases_overdue=overdue,
        dropout_rate=_rate(dropped, school_age),
        enrolment_rate=_rate(in_school, school_age - counts.get(S.SUSPENDED, 0)),
        consolidation_rate=_rate(cohort_in, len(cohort)), consolidation_is_proxy=True,
        disabled_enrolment_rate=_rate(disabled_in, len(disabled)),
        visits_made=made, visits_due=due, visit_compliance=_rate(made, due),
        zero_report=not (suspected or dropped or opened or closed or open_then),
    )


def _status_then(children: QuerySet[Child], on: date) -> QuerySet[Any]:
    """Each child's status at the end of `on`, from the history (None before the first entry)."""
    latest = (ChildStatusChange.objects.filter(child=OuterRef("pk"), date__lte=on)
              .order_by("-date", "-recorded_at", "-pk").values("to_status")[:1])
    return children.annotate(status_then=Subquery(latest))


def _visits(plans: QuerySet[HomeTeachingPlan], first: date, last: date) -> tuple[int, int]:
    return visits.totals(plans, first, last, on=timezone.localdate())  # the weekly rule: gridmap.visits


def _week_days(year: int, week: int) -> list[date]:
    monday = date.fromisocalendar(year, week, 1)
    return [monday + timedelta(days=i) for i in range(7)]


def for_area(area: Area, month: str | date) -> MonthlyFigures:
    return monthly(children_of_area(area), month, area.name, area.code)


def for_school(school: School, month: str | date) -> MonthlyFigures:
    children = children_of_school(school)
    return monthly(children, month, school.name, school.code,
                   cases=Case.objects.filter(school=school),
                   plans=HomeTeachingPlan.objects.filter(school=school))


def submit(area: Area, month: str | date, by: Any) -> ReportSubmission:
    """A township submits its month (again: the figures are replaced, the time and person too)."""
    figures = for_area(area, month)
    first, _last = month_bounds(month)
    submission, _created = ReportSubmission.objects.update_or_create(
        area=area, month=first, defaults={"zero_report": figures.zero_report, "figures": figures.as_dict(),
                                          "submitted_by": by})
    return submission


REPORT_HEADERS = [
    "单位", "代码", "月份", "适龄儿童", "在校", "随班就读", "送教上门", "劝返复学", "休学", "疑似辍学", "辍学",
    "本月新增疑似", "本月立案", "本月销号", "月末在办案件", "逾期未处罚", "辍学率(%)", "入学率(%)",
    "巩固率(%)*", "残疾儿童入学率(%)", "送教应到", "送教实到", "送教到位率(%)", "零报告",
]
REPORT_WIDTHS = [22, 12, 9, *[9] * 20, 8]
PROXY_NOTE = ("* 巩固率：缺少九年前的一年级入学名册，暂以“应在九年级的户籍队列中在校人数 ÷ 该队列登记人数”近似；"
              "比率均按月末台账计算。")


def report_row(f: MonthlyFigures) -> list[Any]:
    b = f.by_status
    return [f.unit, f.code, f.month, f.school_age, b.get(S.ENROLLED, 0), b.get(S.INCLUDED, 0),
            b.get(S.HOME_TAUGHT, 0), b.get(S.RETURNED, 0), b.get(S.SUSPENDED, 0), f.suspected, f.dropped_out,
            f.new_suspected, f.cases_opened, f.cases_closed, f.cases_open, f.cases_overdue,
            _blank(f.dropout_rate), _blank(f.enrolment_rate), _blank(f.consolidation_rate),
            _blank(f.disabled_enrolment_rate), f.visits_due, f.visits_made, _blank(f.visit_compliance),
            "零报告" if f.zero_report else ""]


def _blank(value: float | None) -> float | str:
    return "" if value is None else value


def report_units(area: Area, month: str | date) -> list[MonthlyFigures]:
    """The rows of a report: a county's townships, or a township's schools, then the area itself.
    One snapshot of every child concerned, split per unit (a school counts the children on its
    roll or taught at home by it, wherever they live)."""
    last = month_bounds(month)[1]
    entries = new_suspected_entries(month)
    if area.level == AreaLevel.COUNTY:
        everyone = snapshot(children_of_area(area), last)
        by_township: dict[str, list[ChildThen]] = {}
        for c in everyone:
            by_township.setdefault(c.group_code[:CODE_LENGTH[AreaLevel.TOWNSHIP]], []).append(c)
        rows = []
        for township in Area.objects.filter(parent=area).order_by("code"):
            mine = by_township.get(township.code, [])
            rows.append(figures_of(mine, month, township.name, township.code, _area_cases(township),
                                   _area_plans(township), entries))
        return [*rows, figures_of(everyone, month, area.name, area.code, _area_cases(area), _area_plans(area), entries)]
    schools = list(School.objects.filter(township=area).exclude(status=SchoolStatus.CLOSED).order_by("kind", "code"))
    at_home = set(HomeTeachingPlan.objects.filter(school__in=schools).values_list("child_id", "school_id"))
    in_cases = set(Case.objects.filter(school__in=schools).values_list("child_id", "school_id"))
    concerned = snapshot(children_of_area(area) | Child.objects.filter(school_q(schools)), last)
    rows = []
    for school in schools:
        mine = [c for c in concerned if c.school_id == school.pk or (c.pk, school.pk) in at_home
                or (c.pk, school.pk) in in_cases]
        rows.append(figures_of(mine, month, school.name, school.code, Case.objects.filter(school=school),
                               HomeTeachingPlan.objects.filter(school=school), entries))
    own = [c for c in concerned if c.group_code.startswith(area.code)]
    return [*rows, figures_of(own, month, area.name, area.code, _area_cases(area), _area_plans(area), entries)]


def _area_cases(area: Area) -> QuerySet[Case]:
    return Case.objects.filter(child__group__code__startswith=area.code)


def _area_plans(area: Area) -> QuerySet[HomeTeachingPlan]:
    return HomeTeachingPlan.objects.filter(child__group__code__startswith=area.code)


# --- the county dashboard's trend: ledger counts at each month end, per unit, in one query ---------

TREND_SQL = """
WITH months AS (
    SELECT (date_trunc('month', m) + interval '1 month - 1 day')::date AS month_end
    FROM generate_series(%(first)s::date, %(last)s::date, interval '1 month') AS m
), spans AS (  -- each status a child held, from its change until the next one
    SELECT h.child_id, h.to_status, h.date AS since,
           lead(h.date) OVER (PARTITION BY h.child_id ORDER BY h.date, h.recorded_at, h.id) AS until
    FROM gridmap_childstatuschange h
    JOIN gridmap_child c ON c.id = h.child_id
    JOIN gridmap_area g ON g.id = c.group_id
    WHERE g.code LIKE %(prefix)s
), school_age AS (  -- DESIGN.md's 31 August rule, as schooling.school_age_birth_range
    SELECT month_end,
           extract(year FROM month_end)::int - CASE WHEN extract(month FROM month_end) >= 9 THEN 0 ELSE 1 END AS sy
    FROM months
)
SELECT a.month_end, left(g.code, %(unit_length)s) AS unit, s.to_status, count(*)
FROM school_age a
JOIN spans s ON s.since <= a.month_end AND (s.until IS NULL OR s.until > a.month_end)
JOIN gridmap_child c ON c.id = s.child_id
JOIN gridmap_area g ON g.id = c.group_id
WHERE c.birth_date BETWEEN make_date(a.sy - 15, 9, 1) AND make_date(a.sy - 6, 8, 31)
  AND s.to_status <> 'transferred_out'
GROUP BY 1, 2, 3
"""


@dataclass
class TrendPoint:
    month: str  # YYYY-MM
    school_age: int
    suspected: int
    dropped_out: int
    in_school: int

    @property
    def off_school(self) -> int:
        return self.suspected + self.dropped_out

    @property
    def dropout_rate(self) -> float | None:
        return _rate(self.dropped_out, self.school_age)


def trend(area: Area, last_month: str | date, months: int = 12) -> dict[str, list[TrendPoint]]:
    """Ledger counts at each of the `months` month ends up to `last_month`, per child unit of the
    area (townships of a county, villages of a township) and for the area itself (key: its code)."""
    from django.db import connection

    first_of_last = month_bounds(last_month)[0]
    first = _add_months(first_of_last, 1 - months)
    unit_length = CODE_LENGTH[AreaLevel.TOWNSHIP if area.level == AreaLevel.COUNTY else AreaLevel.VILLAGE]
    with connection.cursor() as cursor:
        cursor.execute(TREND_SQL, {"first": first, "last": first_of_last, "prefix": f"{area.code}%",
                                   "unit_length": unit_length})
        rows = cursor.fetchall()
    month_keys = [f"{_add_months(first, i):%Y-%m}" for i in range(months)]
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for month_end, unit, status, n in rows:
        for key in (unit, area.code):
            bucket = counts.setdefault((key, f"{month_end:%Y-%m}"), {})
            bucket[status] = bucket.get(status, 0) + n
    units = sorted({unit for unit, _m in counts} | {area.code})
    return {unit: [_point(m, counts.get((unit, m), {})) for m in month_keys] for unit in units}


def _point(month: str, c: dict[str, int]) -> TrendPoint:
    return TrendPoint(month, sum(c.values()), c.get(S.SUSPECTED, 0), c.get(S.DROPPED_OUT, 0),
                      sum(c.get(s, 0) for s in ledgers.IN_SCHOOL))


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def previous_months(month: str | date, n: int) -> list[str]:
    first = month_bounds(month)[0]
    return [f"{_add_months(first, -i):%Y-%m}" for i in range(n)]

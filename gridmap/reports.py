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
- send-teaching-home compliance = visits made ÷ visits due (visits per week × school weeks the
  plan ran in the month);
- zero report: no suspected or dropped-out child, no open, new or closed case.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from gridmap import cases as case_flow
from gridmap import ledgers, schooling
from gridmap.models import (
    Area,
    AreaLevel,
    Case,
    Child,
    ChildStatus,
    ChildStatusChange,
    HomeTeachingPlan,
    HomeVisit,
    ReportSubmission,
    School,
)

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
    return Child.objects.filter(Q(school_class__school=school) | Q(home_teaching_plans__school=school)).distinct()


def monthly(children: QuerySet[Child], month: str | date, unit: str, code: str,
            cases: QuerySet[Case] | None = None, plans: QuerySet[HomeTeachingPlan] | None = None) -> MonthlyFigures:
    first, last = month_bounds(month)
    earliest, latest = schooling.school_age_birth_range(last)
    then = _status_then(children, last)
    on_ledger = then.filter(birth_date__range=(earliest, latest), status_then__isnull=False).exclude(
        status_then=S.TRANSFERRED_OUT)
    counts: dict[str, int] = {}
    for status in on_ledger.values_list("status_then", flat=True):
        counts[status] = counts.get(status, 0) + 1
    school_age = sum(counts.values())
    in_school = sum(counts.get(s, 0) for s in ledgers.IN_SCHOOL)
    disabled = on_ledger.filter(kg_disabled=True)
    disabled_in = disabled.filter(status_then__in=ledgers.IN_SCHOOL).count()
    cohort = on_ledger.filter(birth_date__range=schooling.grade_birth_range(9, last))
    cohort_in = cohort.filter(status_then__in=[*ledgers.IN_SCHOOL, S.GRADUATED]).count()
    cases = cases if cases is not None else Case.objects.filter(child__in=children)
    opened = cases.filter(opened_on__range=(first, last)).count()
    closed = cases.filter(closed_on__range=(first, last)).count()
    open_then = cases.filter(Q(opened_on__lte=last), Q(closed_on__isnull=True) | Q(closed_on__gt=last))
    overdue = case_flow.overdue(cases, last + timedelta(days=1)).count()
    new_suspected = ChildStatusChange.objects.filter(child__in=children, to_status=S.SUSPECTED,
                                                     date__range=(first, last)).count()
    made, due = _visits(plans if plans is not None else HomeTeachingPlan.objects.filter(child__in=children), first, last)
    suspected, dropped = counts.get(S.SUSPECTED, 0), counts.get(S.DROPPED_OUT, 0)
    return MonthlyFigures(
        unit=unit, code=code, month=f"{first:%Y-%m}", school_age=school_age, by_status=counts,
        suspected=suspected, dropped_out=dropped, new_suspected=new_suspected, cases_opened=opened,
        cases_closed=closed, cases_open=open_then.count(), cases_overdue=overdue,
        dropout_rate=_rate(dropped, school_age),
        enrolment_rate=_rate(in_school, school_age - counts.get(S.SUSPENDED, 0)),
        consolidation_rate=_rate(cohort_in, cohort.count()), consolidation_is_proxy=True,
        disabled_enrolment_rate=_rate(disabled_in, disabled.count()),
        visits_made=made, visits_due=due, visit_compliance=_rate(made, due),
        zero_report=not (suspected or dropped or opened or closed or open_then.exists()),
    )


def _status_then(children: QuerySet[Child], on: date) -> QuerySet[Any]:
    """Each child's status at the end of `on`, from the history (None before the first entry)."""
    latest = (ChildStatusChange.objects.filter(child=OuterRef("pk"), date__lte=on)
              .order_by("-date", "-recorded_at", "-pk").values("to_status")[:1])
    return children.annotate(status_then=Subquery(latest))


def _visits(plans: QuerySet[HomeTeachingPlan], first: date, last: date) -> tuple[int, int]:
    last = min(last, timezone.localdate())  # a month in progress owes only the weeks begun so far
    active = plans.filter(Q(start_date__lte=last), Q(end_date__isnull=True) | Q(end_date__gte=first))
    weeks = {d.isocalendar()[:2] for d in ledgers.school_days(first, last)}
    due = 0
    for plan in active:
        start, end = max(plan.start_date, first), min(plan.end_date or last, last)
        plan_weeks = {w for w in weeks if any(start <= d <= end for d in _week_days(*w))}
        due += plan.visits_per_week * len(plan_weeks)
    made = HomeVisit.objects.filter(plan__in=active, date__range=(first, last)).count()
    return made, due


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
    """The rows of a report: a county's townships, or a township's schools, then the area itself."""
    if area.level == AreaLevel.COUNTY:
        rows = [for_area(t, month) for t in Area.objects.filter(parent=area).order_by("code")]
    else:
        rows = [for_school(s, month) for s in School.objects.filter(township=area).order_by("kind", "code")]
    return [*rows, for_area(area, month)]

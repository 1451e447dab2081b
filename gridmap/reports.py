"""The monthly report (月报) of a township, county or school for a month, its zero report, and its
submission.

Every figure is counted as of one day (`as_of`): the month's last day, or today while the month runs
— stated on every page. Statuses come from the status history (so a report of a past month is what
the ledgers said then). Definitions (DESIGN.md where it defines them), each in one place:
- school-age children: due in grades 1-9 by the 31 August rule on the day, on the ledger (history
  begun), not transferred out;
- dropout rate = dropped out ÷ school-age; enrolment rate = in school (enrolled, returned,
  disabled in a regular class, taught at home) ÷ (school-age − suspended);
- nine-year consolidation rate, only for units with grade 9 (areas, junior middle and nine-year
  schools): DESIGN.md defines it as this year's grade-9 graduates ÷ grade-1 entrants nine years
  earlier. gridmap holds no roll from nine years ago, so until one is imported it reports the proxy
  "cohort due in grade 9 now: in school (or graduated) ÷ on the ledger", marked as such;
- disabled children's enrolment rate = disabled in school ÷ disabled school-age;
- new suspected = entries on the suspected ledger from the 1st to the as-of day;
- cases opened / closed from the 1st to the as-of day; open and overdue (gridmap.cases.overdue) on it;
- send-teaching-home compliance = visits made ÷ visits due, week by week as gridmap.visits defines
  them (ISO weeks whose Thursday is in the month, holiday weeks owing nothing, a week's visits
  counted up to what it owes);
- aid-eligible (应助人数): school-age children (as above) in a key group eligible for aid
  (gridmap.aid, the setting GRIDMAP_AID_ELIGIBLE; the flags as they are now); aided: of them, those
  with an aid record of the as-of day's term granted on or before the day; 应助未助 = eligible − aided;
  aid coverage = aided ÷ eligible;
- open transfers (流转未完成): transfers out dated on or before the day and not completed by then
  (gridmap.transfers); 流转未到: those of them older than GRIDMAP_TRANSFER_DAYS days. A transferred-out
  child is no longer on the ledger, so transfers are counted by the child's registry village, and in a
  township's report in the row of the school the child left;
- zero report: no suspected or dropped-out child, no open, new or closed case, no 流转未到.

Rows add up to their total. A county's rows are its townships (children by registry). A township's
rows split its registered children by the school they are attached to on the day — the school of
their open dropout case, else the school on whose roll they are, else the school teaching them at
home — with a row for schools of other townships and one for children attached to no school; cases
count in the row of the school they are charged to, send-teaching-home plans in that of their
school. A school's own report is its row in its township's report.

County and township totals read the month-end counts per village (gridmap.month_ends); a township's
school rows come from one snapshot of its children.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models import Case as Cases
from django.utils import timezone

from gridmap import aid, ledgers, month_ends, schooling, transfers, visits
from gridmap import cases as case_flow
from gridmap.models import (
    Area,
    AreaLevel,
    Case,
    Child,
    ChildStatus,
    ChildStatusChange,
    HomeTeachingPlan,
    Measure,
    ReportSubmission,
    School,
    SchoolStatus,
    Transfer,
)
from gridmap.models.areas import CODE_LENGTH

S = ChildStatus
Key = month_ends.Key  # (due grade, status, disabled)
TOWNSHIP_LENGTH = CODE_LENGTH[AreaLevel.TOWNSHIP]


def month_bounds(month: str | date) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01") if isinstance(month, str) else month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def as_of(month: str | date) -> date:
    """The one day every figure of a month is counted as of: its last day, or today while it runs."""
    return min(month_bounds(month)[1], timezone.localdate())


class Unit:
    """What a report row stands for."""

    AREA, SCHOOL, OTHER_SCHOOLS, NO_SCHOOL = "area", "school", "other_schools", "no_school"


OTHER_SCHOOLS_LABEL = "外乡镇学校"
NO_SCHOOL_LABEL = "未关联学校"


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
    consolidation_rate: float | None  # None where the unit has no grade 9
    consolidation_is_proxy: bool
    disabled_enrolment_rate: float | None
    visits_made: int
    visits_due: int
    visit_compliance: float | None
    zero_report: bool
    as_of: str = ""  # YYYY-MM-DD: the day counted
    kind: str = Unit.AREA
    # What the unpublished rates are made of (for small-count protection, gridmap.published).
    cohort: int = 0
    cohort_in: int = 0
    disabled: int = 0
    disabled_in: int = 0
    # the safety net (issue 18)
    aid_eligible: int = 0
    aid_aided: int = 0
    aid_gap: int = 0  # eligible without aid this term (应助未助)
    aid_coverage: float | None = None  # per cent
    transfers_open: int = 0
    transfers_late: int = 0  # 流转未到

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


@dataclass
class CaseTally:
    opened: int = 0
    closed: int = 0
    open: int = 0
    overdue: int = 0


@dataclass(frozen=True)
class CaseThen:
    pk: int
    opened_on: date
    closed_on: date | None
    school_id: int | None
    group_code: str
    overdue: bool


def cases_then(cases: QuerySet[Case], on: date) -> list[CaseThen]:
    """The cases with what a report needs of them on the day, overdue by gridmap.cases.overdue."""
    overdue = set(case_flow.overdue(cases, on).values_list("pk", flat=True))
    return [CaseThen(pk, opened, closed, school, group, pk in overdue) for pk, opened, closed, school, group in
            cases.values_list("pk", "opened_on", "closed_on", "school_id", "child__group__code")]


def tally_cases(rows: Iterable[CaseThen], first: date, on: date) -> CaseTally:
    t = CaseTally()
    for c in rows:
        t.opened += first <= c.opened_on <= on
        t.closed += c.closed_on is not None and first <= c.closed_on <= on
        t.open += c.opened_on <= on and (c.closed_on is None or c.closed_on > on)
        t.overdue += c.overdue
    return t


@dataclass(frozen=True)
class PlanThen:
    school_id: int
    group_code: str
    made: int
    due: int


def plans_then(plans: QuerySet[HomeTeachingPlan], first: date, on: date) -> list[PlanThen]:
    """Visits made and due of each send-teaching-home plan in the month, by the weekly rule of
    gridmap.visits (a month in progress owes only the weeks ended by today)."""
    last = month_bounds(first)[1]
    per_plan = visits.made_and_due(plans, first, last, on=timezone.localdate())
    if not per_plan:
        return []
    where = {pk: (school, group) for pk, school, group in
             plans.filter(pk__in=list(per_plan)).values_list("pk", "school_id", "child__group__code")}
    return [PlanThen(where[pk][0], where[pk][1], made, due) for pk, (made, due) in per_plan.items() if pk in where]


@dataclass
class SafetyTally:
    """A row's safety-net counts: aid-eligible children on the ledger and those aided this term,
    transfers open and overdue."""

    aid_eligible: int = 0
    aid_aided: int = 0
    transfers_open: int = 0
    transfers_late: int = 0

    @classmethod
    def of_measures(cls, counted: Counter[str]) -> SafetyTally:
        return cls(counted[Measure.AID_ELIGIBLE], counted[Measure.AID_GIVEN], counted[Measure.TRANSFER_OPEN],
                   counted[Measure.TRANSFER_LATE])


def figures_of(unit: str, code: str, month: str | date, on: date, ledger: Counter[Key], entered: Counter[str],
               case_tally: CaseTally, plans: Iterable[PlanThen], grade_9: bool, kind: str = Unit.AREA,
               safety: SafetyTally | None = None) -> MonthlyFigures:
    """A row's figures from its children's ledger counts and status entries, its cases and plans, and
    its safety-net counts."""
    net = safety or SafetyTally()
    by_status: Counter[str] = Counter()
    disabled = disabled_in = cohort = cohort_in = 0
    for (grade, status, is_disabled), n in ledger.items():
        by_status[status] += n
        if is_disabled:
            disabled += n
            disabled_in += n if status in ledgers.IN_SCHOOL else 0
        if grade == schooling.LAST_GRADE:
            cohort += n
            cohort_in += n if status in (*ledgers.IN_SCHOOL, S.GRADUATED) else 0
    school_age = sum(by_status.values())
    in_school = sum(by_status[s] for s in ledgers.IN_SCHOOL)
    made = due = 0
    for p in plans:
        made, due = made + p.made, due + p.due
    suspected, dropped = by_status[S.SUSPECTED], by_status[S.DROPPED_OUT]
    c = case_tally
    return MonthlyFigures(
        unit=unit, code=code, month=f"{month_bounds(month)[0]:%Y-%m}", school_age=school_age,
        by_status={k: v for k, v in by_status.items() if v}, suspected=suspected, dropped_out=dropped,
        new_suspected=entered[S.SUSPECTED], cases_opened=c.opened, cases_closed=c.closed, cases_open=c.open,
        cases_overdue=c.overdue, dropout_rate=_rate(dropped, school_age),
        enrolment_rate=_rate(in_school, school_age - by_status[S.SUSPENDED]),
        consolidation_rate=_rate(cohort_in, cohort) if grade_9 else None, consolidation_is_proxy=True,
        disabled_enrolment_rate=_rate(disabled_in, disabled),
        visits_made=made, visits_due=due, visit_compliance=_rate(made, due),
        zero_report=not (suspected or dropped or c.opened or c.closed or c.open or net.transfers_late),
        as_of=on.isoformat(), kind=kind,
        cohort=cohort, cohort_in=cohort_in, disabled=disabled, disabled_in=disabled_in,
        aid_eligible=net.aid_eligible, aid_aided=net.aid_aided, aid_gap=net.aid_eligible - net.aid_aided,
        aid_coverage=_rate(net.aid_aided, net.aid_eligible), transfers_open=net.transfers_open,
        transfers_late=net.transfers_late,
    )


def children_of_area(area: Area) -> QuerySet[Child]:
    return Child.objects.filter(group__code__startswith=area.code)


def _area_cases(area: Area) -> QuerySet[Case]:
    return Case.objects.filter(child__group__code__startswith=area.code)


def _area_plans(area: Area) -> QuerySet[HomeTeachingPlan]:
    return HomeTeachingPlan.objects.filter(child__group__code__startswith=area.code)


# --- areas: from the month-end counts --------------------------------------------------------------

def for_area(area: Area, month: str | date) -> MonthlyFigures:
    """A county's, township's or village's figures of the month (a village group's from its children)."""
    first, on = month_bounds(month)[0], as_of(month)
    if area.level == AreaLevel.GROUP:  # below the month-end counts' villages: one snapshot of a few children
        rows = snapshot(children_of_area(area), on)
        entries = status_entries(first, on, area)
        ledger: Counter[Key] = ledger_counts(rows, on)
        entered: Counter[str] = Counter()
        for c in rows:
            for status in S.values:
                entered[status] += entries.get((c.pk, status), 0)
        safety = safety_of(rows, transfers_then(area, on), on)
    else:
        counted = month_ends.counts(area, [first], len(area.code)).get((area.code, first), month_ends.Tally())
        ledger, entered, safety = counted.ledger, counted.entered, SafetyTally.of_measures(counted.safety)
    tally = tally_cases(cases_then(_area_cases(area), on), first, on)
    return figures_of(area.name, area.code, month, on, ledger, entered, tally,
                      plans_then(_area_plans(area), first, on), grade_9=True, safety=safety)


def _county_rows(county: Area, month: str | date) -> list[MonthlyFigures]:
    first, on = month_bounds(month)[0], as_of(month)
    counted = month_ends.counts(county, [first], TOWNSHIP_LENGTH)
    all_cases = cases_then(_area_cases(county), on)
    all_plans = plans_then(_area_plans(county), first, on)
    rows = []
    for unit in [*Area.objects.filter(parent=county).order_by("code"), county]:
        t = counted.get((unit.code, first), month_ends.Tally())
        mine = [c for c in all_cases if c.group_code.startswith(unit.code)]
        plans = [p for p in all_plans if p.group_code.startswith(unit.code)]
        rows.append(figures_of(unit.name, unit.code, month, on, t.ledger, t.entered, tally_cases(mine, first, on),
                               plans, grade_9=True, safety=SafetyTally.of_measures(t.safety)))
    return rows


# --- a township's schools: from one snapshot of its children ---------------------------------------

@dataclass(frozen=True)
class ChildThen:
    """What a report needs of one child on the day (one row of `snapshot`)."""

    pk: int
    status: str | None  # from the history; None before the child's first entry
    birth_date: date
    disabled: bool
    group_code: str
    school_id: int | None  # the school the child is attached to on the day (see the module docstring)
    eligible: bool = False  # in an aid-eligible key group (gridmap.aid)
    aided: bool = False  # with an aid record of the day's term granted by then


def snapshot(children: QuerySet[Child], on: date) -> list[ChildThen]:
    """Each child's status at the end of `on`, the school it is attached to then, and whether it is
    eligible for aid and aided this term, in one query."""
    latest = (ChildStatusChange.objects.filter(child=OuterRef("pk"), date__lte=on)
              .order_by("-date", "-recorded_at", "-pk").values("to_status")[:1])
    open_case = (Case.objects.filter(child=OuterRef("pk"), opened_on__lte=on)
                 .filter(Q(closed_on__isnull=True) | Q(closed_on__gt=on)).order_by("-opened_on", "-pk"))
    plan = (HomeTeachingPlan.objects.filter(child=OuterRef("pk"), start_date__lte=on)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=on)).order_by("-start_date", "-pk"))
    rows = children.annotate(
        status_then=Subquery(latest), case_pk=Subquery(open_case.values("pk")[:1]),
        case_school=Subquery(open_case.values("school_id")[:1]), plan_school=Subquery(plan.values("school_id")[:1]),
        # aided asked only of the eligible (CASE evaluates lazily): a county's snapshot stays one pass
        eligible=ExpressionWrapper(aid.eligible_q(), output_field=BooleanField()),
        aided=Cases(When(aid.eligible_q(), then=aid.aided_q(on)), default=Value(False), output_field=BooleanField()),
    ).values_list("pk", "status_then", "birth_date", "kg_disabled", "group__code", "case_pk", "case_school",
                  "school_class__school_id", "plan_school", "eligible", "aided")
    return [ChildThen(pk, status, born, disabled, group,
                      case_school if case_pk is not None else roll or plan_school, eligible, aided)
            for pk, status, born, disabled, group, case_pk, case_school, roll, plan_school, eligible, aided in rows]


@dataclass(frozen=True)
class TransferThen:
    """What a report needs of a transfer open on the day."""

    school_id: int | None  # the school the child left
    late: bool


def transfers_then(area: Area, on: date) -> list[TransferThen]:
    """The transfers of the area's registered children open on `on` (gridmap.transfers)."""
    wanted = Transfer.objects.filter(child__group__code__startswith=area.code)
    late = set(transfers.late_on(wanted, on).values_list("pk", flat=True))
    return [TransferThen(school, pk in late)
            for pk, school in transfers.open_on(wanted, on).values_list("pk", "from_school_id")]


def safety_of(rows: Iterable[ChildThen], moved: Iterable[TransferThen], on: date) -> SafetyTally:
    """A row's safety-net counts from its children (of the ledger on the day) and its open transfers."""
    on_ledger = school_age_then(list(rows), on)
    eligible = [c for c in on_ledger if c.eligible]
    moved = list(moved)
    return SafetyTally(len(eligible), sum(c.aided for c in eligible), len(moved), sum(t.late for t in moved))


def school_age_then(rows: list[ChildThen], on: date) -> list[ChildThen]:
    """The school-age children on the ledger at the end of `on`: due in grades 1-9 by the 31 August
    rule, history begun, not transferred out (the report's denominator; the hotspot layer counts with
    it too)."""
    earliest, latest = schooling.school_age_birth_range(on)
    return [c for c in rows if earliest <= c.birth_date <= latest and c.status is not None
            and c.status != S.TRANSFERRED_OUT]


def ledger_counts(rows: Iterable[ChildThen], on: date) -> Counter[Key]:
    out: Counter[Key] = Counter()
    for c in rows:
        grade = schooling.expected_grade(c.birth_date, on)
        if c.status is not None and c.status != S.TRANSFERRED_OUT and schooling.FIRST_GRADE <= grade <= schooling.LAST_GRADE:
            out[(grade, c.status, c.disabled)] += 1
    return out


def status_entries(first: date, on: date, area: Area) -> Counter[tuple[int, str]]:
    """Status entries from the 1st to the day of the area's children, per (child, status entered).

    Read through the area's children (their history by the child index), never by date alone: a
    province holds ten million entries, and the month the ledgers began holds one for every child."""
    return Counter(ChildStatusChange.objects.filter(child__in=children_of_area(area), date__range=(first, on))
                   .values_list("child_id", "to_status"))


def _township_rows(township: Area, month: str | date) -> list[MonthlyFigures]:
    first, on = month_bounds(month)[0], as_of(month)
    schools = list(School.objects.filter(township=township).exclude(status=SchoolStatus.CLOSED)
                   .order_by("kind", "code"))
    own = {s.pk for s in schools}
    children = snapshot(children_of_area(township), on)
    entries = status_entries(first, on, township)
    all_cases = cases_then(_area_cases(township), on)
    all_plans = plans_then(_area_plans(township), first, on)
    all_moved = transfers_then(township, on)

    def row_of(school_id: int | None) -> str | int:
        return school_id if school_id in own else (Unit.NO_SCHOOL if school_id is None else Unit.OTHER_SCHOOLS)

    def figures(label: str, code: str, kind: str, key: str | int | None, grade_9: bool) -> MonthlyFigures:
        mine = children if key is None else [c for c in children if row_of(c.school_id) == key]
        entered: Counter[str] = Counter()
        for c in mine:
            for status in S.values:
                entered[status] += entries.get((c.pk, status), 0)
        cases = all_cases if key is None else [c for c in all_cases if row_of(c.school_id) == key]
        plans = all_plans if key is None else [p for p in all_plans if row_of(p.school_id) == key]
        moved = all_moved if key is None else [t for t in all_moved if row_of(t.school_id) == key]
        return figures_of(label, code, month, on, ledger_counts(mine, on), entered, tally_cases(cases, first, on),
                          plans, grade_9, kind, safety_of(mine, moved, on))

    rows = [figures(s.name, s.code, Unit.SCHOOL, s.pk, s.serves_grade(schooling.LAST_GRADE)) for s in schools]
    for key, label in ((Unit.OTHER_SCHOOLS, OTHER_SCHOOLS_LABEL), (Unit.NO_SCHOOL, NO_SCHOOL_LABEL)):
        extra = figures(label, "", key, key, grade_9=False)
        if extra.school_age or extra.new_suspected or extra.cases_opened or extra.cases_closed or extra.cases_open \
                or extra.visits_due or extra.visits_made or extra.by_status or extra.transfers_open:
            rows.append(extra)
    return [*rows, figures(township.name, township.code, Unit.AREA, None, grade_9=True)]


def report_units(area: Area, month: str | date) -> list[MonthlyFigures]:
    """The rows of a report, then its total: a county's townships, or a township's schools (with
    the rows for other townships' schools and for no school, when they hold anything)."""
    return _county_rows(area, month) if area.level == AreaLevel.COUNTY else _township_rows(area, month)


def for_school(school: School, month: str | date) -> MonthlyFigures:
    """A school's own report: its row in its township's report."""
    for row in _township_rows(school.township, month):
        if row.kind == Unit.SCHOOL and row.code == school.code:
            return row
    on = as_of(month)  # a closed school files nothing
    return figures_of(school.name, school.code, month, on, Counter(), Counter(), CaseTally(), [],
                      school.serves_grade(schooling.LAST_GRADE), Unit.SCHOOL)


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
    "巩固率(%)*", "残疾儿童入学率(%)", "送教应到", "送教实到", "送教到位率(%)",
    "应助人数", "应助未助", "资助覆盖率(%)", "流转未完成", "流转未到", "零报告",
]
REPORT_WIDTHS = [22, 12, 9, *[9] * 25, 8]
PROXY_NOTE = ("* 巩固率：缺少九年前的一年级入学名册，暂以“应在九年级的户籍队列中在校人数 ÷ 该队列登记人数”近似，"
              "只对设九年级的单位（乡镇、县、初中、九年一贯制学校）计算；各项均按统计日的台账计算。")
ROWS_NOTE = ("各行相加等于合计。乡镇月报按本乡镇户籍儿童所关联的学校分行：有在办辍学案件的计入案件的应返校学校，"
             "否则计入其在籍学校，否则计入其送教上门学校；“外乡镇学校”为关联到其他乡镇学校的本乡镇儿童，"
             "“未关联学校”为既无在办案件、也不在任何学校名册上、也无送教计划的儿童（如不在名册上的疑似辍学或休学儿童）。"
             "案件按应返校学校、送教按送教学校计入各行。")


def report_row(f: MonthlyFigures) -> list[Any]:
    b = f.by_status
    return [f.unit, f.code, f.month, f.school_age, b.get(S.ENROLLED, 0), b.get(S.INCLUDED, 0),
            b.get(S.HOME_TAUGHT, 0), b.get(S.RETURNED, 0), b.get(S.SUSPENDED, 0), f.suspected, f.dropped_out,
            f.new_suspected, f.cases_opened, f.cases_closed, f.cases_open, f.cases_overdue,
            _blank(f.dropout_rate), _blank(f.enrolment_rate), _blank(f.consolidation_rate),
            _blank(f.disabled_enrolment_rate), f.visits_due, f.visits_made, _blank(f.visit_compliance),
            f.aid_eligible, f.aid_gap, _blank(f.aid_coverage), f.transfers_open, f.transfers_late,
            "零报告" if f.zero_report else ""]



def _blank(value: float | None) -> float | str:
    return "" if value is None else value


# --- the county dashboard's trend: ledger counts at each month end, per unit ------------------------


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
    """Ledger counts at each of the `months` month ends up to `last_month` (its as-of day for the
    month in progress), per child unit of the area (townships of a county, villages of a township)
    and for the area itself (key: its code), from the month-end counts."""
    first_of_last = month_bounds(last_month)[0]
    firsts = [add_months(first_of_last, i - months + 1) for i in range(months)]
    unit_length = CODE_LENGTH[AreaLevel.TOWNSHIP if area.level == AreaLevel.COUNTY else AreaLevel.VILLAGE]
    counted = month_ends.counts(area, firsts, unit_length)
    units = sorted({unit for unit, _m in counted} | {area.code})
    empty = month_ends.Tally()
    return {unit: [_point(m, counted.get((unit, m), empty).ledger) for m in firsts] for unit in units}


def _point(first: date, ledger: Counter[Key]) -> TrendPoint:
    by_status: Counter[str] = Counter()
    for (_grade, status, _disabled), n in ledger.items():
        by_status[status] += n
    return TrendPoint(f"{first:%Y-%m}", sum(by_status.values()), by_status[S.SUSPECTED], by_status[S.DROPPED_OUT],
                      sum(by_status[s] for s in ledgers.IN_SCHOOL))


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def previous_months(month: str | date, n: int) -> list[str]:
    first = month_bounds(month)[0]
    return [f"{add_months(first, -i):%Y-%m}" for i in range(n)]

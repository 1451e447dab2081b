"""Everything an aggregate-only login (county planner, inspector) can read of a county's children
for a month, decided once: which figures are shown, which are "<5" and which are hidden as
complements ("*"), so that no figure of 1-4 can be read or recomputed from all the pages, exports
and API lists together.

One model of everything published (gridmap.disclosure does the deciding):
- units: the county, its townships, villages and village groups (registry line, by residence),
  and each township report's school-line rows (its schools);
- readers: the grid (cells, sidebar, card, cells.xlsx|csv, the village and township aggregates of
  the map), /api/v1/cells/, the reports and their
  exports, the dashboard (figures and charts, one decision per month drawn) and the hotspot layer
  (cells and villages, unfiltered);
- figures: the monthly report's counts (school-age children, the status columns, suspected,
  the safety net's aid-eligible, aided and not aided children and open, overdue and in-time transfers,
  dropped out, new suspected, open and overdue cases), the visits due and made, and off school
  (suspected + dropped out: what the grid shows per cell); villages and groups publish school-age
  and off school only; the figures of school rows, villages and groups are "banded": "<5" there
  means 0-4, since many units of 1 under a known total would each be pinned to 1;
- relations, each kept only where it holds exactly on the data (an attacker may assume any that
  does): a parent is the sum of its children on the area tree; the county is the sum of its
  townships; a township is the sum of its school rows; within a row school-age = the status
  columns + graduates (never published), off school = suspected + dropped out, open cases =
  overdue + in time, dropped out = open cases.

Not published to these roles at all: cases opened and closed in the month (with the open cases of
two consecutive months they give each other away: open(m) = open(m-1) + opened - closed, across
reports of different months that no single month's decision can see), children's status and
key-group breakdowns per cell (the card shows the two protected figures), the number of at-risk
children without a teacher (a yes/no gap instead).

Rates are shown only where every count they are computed from is shown; rates over counts that are
not published (consolidation proxy, disabled children's enrolment) are hidden when the numerator,
the denominator or their difference is 1-4.

The decision is cached per (county, month), keyed by a stamp of the data it reads (row counts and
newest row versions of the tables concerned) and the day, so a status change, a case or an import
gives a new decision at the next request, and every page reads the same one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from gridmap import reports
from gridmap.disclosure import COMPLEMENT, FORCED, PRIMARY, SMALL, Relation, protect
from gridmap.models import Area, AreaLevel, ChildStatus
from gridmap.models.areas import CODE_LENGTH

S = ChildStatus
STATUS_COLUMNS = [S.ENROLLED, S.INCLUDED, S.HOME_TAUGHT, S.RETURNED, S.SUSPENDED, S.SUSPECTED, S.DROPPED_OUT]
CHILD_COUNTS = ["school_age", *[str(s) for s in STATUS_COLUMNS], "new_suspected", "cases_open", "cases_overdue"]
# The safety net's counts (issue 18): aid-eligible children and those aided / not aided this term,
# transfers open, overdue and in time. Aided and in-time transfers are not columns of the report, but
# the coverage rate and the difference of two shown counts give them: published, so protected too.
SAFETY_COUNTS = ["aid_eligible", "aid_aided", "aid_gap", "transfers_open", "transfers_late", "transfers_in_time"]
VISITS = ["visits_due", "visits_made"]
OFF_SCHOOL = "off_school"
GRID_MEASURES = ["school_age", OFF_SCHOOL]
WITHHELD = ["cases_opened", "cases_closed"]  # never shown to aggregate-only logins (see above)
# Not shown on school rows: almost always 1-4 there, so "<5" everywhere said nothing, while each
# hidden one tied every school table of the county into one problem to protect.
SCHOOL_WITHHELD = [str(S.INCLUDED), str(S.HOME_TAUGHT), str(S.RETURNED), str(S.SUSPENDED), *VISITS]
# Never published; parts of relations that hold only with them.
GRADUATED, IN_TIME = "graduated", "cases_in_time"
HIDDEN_TEXT = {PRIMARY: f"<{SMALL}", COMPLEMENT: "*", FORCED: "*"}
HIDDEN_TITLE = {PRIMARY: "少于5，不予显示", COMPLEMENT: "为防推算小数而隐藏", FORCED: "为防推算小数而隐藏"}
NOTE = (f"“<{SMALL}”：1–{SMALL - 1} 人，不予显示（学校行、行政村和网格含 0）；“*”：为防由合计、其他格或"
        "其他报表推算出小数而隐藏；“—”：不向仅查看汇总的角色公布（本月立案、本月销号可与上月在办案件相减推算；"
        "学校行的随班就读、送教上门、劝返复学、休学和送教次数）。")
CACHE_SECONDS = 6 * 3600
# Area units below the townships whose figures are published: villages (the hotspot layer's village
# view) and village groups (the grid's cells, the hotspot layer's cells).
AREA_UNITS = [AreaLevel.VILLAGE, AreaLevel.GROUP]

Key = tuple[str, str]  # (unit code, measure)


@dataclass
class Unit:
    code: str
    name: str
    level: str  # county / township / village / group / school
    parent: str  # the township of a school row, the parent area of an area
    figures: reports.MonthlyFigures | None = None  # report rows only


@dataclass
class PublishedFigures:
    """A county's month as aggregate-only logins see it."""

    county: str
    month: str
    units: dict[str, Unit]
    values: dict[Key, int]
    hidden: dict[Key, str]
    seconds: float = 0.0
    rounds: int = 0
    lps: int = 0
    report_seconds: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)

    def get(self, code: str, measure: str) -> int | str:
        """The value as shown: the count, "<5" or "*" ("—" for what is never shown)."""
        key = (code, measure)
        if measure in WITHHELD or key not in self.values:
            return "—"
        if key in self.hidden:
            return HIDDEN_TEXT[self.hidden[key]]
        return self.values.get(key, 0)

    def is_hidden(self, code: str, *measures: str) -> bool:
        return any((code, m) in self.hidden for m in measures)

    def rate(self, code: str, name: str) -> float | str | None:
        """A rate of a report row, "*" when it would show a hidden count."""
        unit = self.units[code]
        f = unit.figures
        if f is None:
            return None
        value: float | None = getattr(f, name)
        if name == "consolidation_rate":
            hidden = _small_ratio(f.cohort_in, f.cohort)
        elif name == "disabled_enrolment_rate":
            hidden = _small_ratio(f.disabled_in, f.disabled)
        else:  # shown only where every count it is made of is shown
            hidden = any((code, m) in self.hidden or (code, m) not in self.values for m in RATE_INPUTS[name])
        return "*" if hidden and value is not None else value

    def report_row(self, code: str) -> list[Any]:
        """The row of reports.REPORT_HEADERS for a unit, as shown to aggregate-only logins."""
        f = self.units[code].figures
        assert f is not None
        g = self.get
        rate = self.rate
        return [f.unit, f.code, f.month, g(code, "school_age"), *[g(code, str(s)) for s in STATUS_COLUMNS[:5]],
                g(code, S.SUSPECTED), g(code, S.DROPPED_OUT), g(code, "new_suspected"), "—", "—",
                g(code, "cases_open"), g(code, "cases_overdue"), _blank(rate(code, "dropout_rate")),
                _blank(rate(code, "enrolment_rate")), _blank(rate(code, "consolidation_rate")),
                _blank(rate(code, "disabled_enrolment_rate")), g(code, "visits_due"), g(code, "visits_made"),
                _blank(rate(code, "visit_compliance")), g(code, "aid_eligible"), g(code, "aid_gap"),
                _blank(rate(code, "aid_coverage")), g(code, "transfers_open"), g(code, "transfers_late"),
                "零报告" if f.zero_report else ""]

    def safety(self, code: str) -> dict[str, Any]:
        """The safety net's figures of a report row (the dashboard), as shown."""
        return {"aid_eligible": self.get(code, "aid_eligible"), "aid_aided": self.get(code, "aid_aided"),
                "aid_gap": self.get(code, "aid_gap"), "aid_coverage": _blank(self.rate(code, "aid_coverage")),
                "transfers_open": self.get(code, "transfers_open"), "transfers_late": self.get(code, "transfers_late")}

    def rows_of(self, area_code: str) -> list[str]:
        """Unit codes of a report's rows: a county's townships or a township's school rows, then the area."""
        level = self.units[area_code].level
        if level == AreaLevel.COUNTY:
            rows = [u.code for u in self.units.values() if u.level == AreaLevel.TOWNSHIP]
        else:
            rows = [u.code for u in self.units.values() if u.level == "school" and u.parent == area_code]
        return [*rows, area_code]

    def figures(self, code: str) -> PublishedRow:
        """A report row's figures as attributes (for the dashboard's template)."""
        f = self.units[code].figures
        assert f is not None
        return PublishedRow(
            f.unit, code, f.month, self.get(code, "school_age"), self.get(code, S.SUSPECTED),
            self.get(code, S.DROPPED_OUT), self.get(code, OFF_SCHOOL), self.get(code, "cases_open"),
            self.get(code, "cases_overdue"), self.rate(code, "dropout_rate"), self.rate(code, "enrolment_rate"),
            self.rate(code, "disabled_enrolment_rate"), self.rate(code, "visit_compliance"), f.zero_report)

    def point(self, code: str) -> PublishedPoint:
        """A unit's month-end point of the dashboard's charts (None where hidden)."""
        def n(measure: str) -> int | None:
            value = self.get(code, measure)
            return value if isinstance(value, int) else None
        return PublishedPoint(self.month, n("school_age"), n(S.SUSPECTED), n(S.DROPPED_OUT), n(OFF_SCHOOL))

    def cell(self, group_code: str) -> tuple[int | str, int | str] | None:
        """(school-age children, off school) of a village group or village; None for an area this
        decision does not cover (another county's: the caller suppresses it alone)."""
        if group_code not in self.units:
            return None
        return self.get(group_code, "school_age"), self.get(group_code, OFF_SCHOOL)


@dataclass
class PublishedRow:
    unit: str
    code: str
    month: str
    school_age: int | str
    suspected: int | str
    dropped_out: int | str
    off_school: int | str
    cases_open: int | str
    cases_overdue: int | str
    dropout_rate: float | str | None
    enrolment_rate: float | str | None
    disabled_enrolment_rate: float | str | None
    visit_compliance: float | str | None
    zero_report: bool


@dataclass
class PublishedPoint:
    """A month end as the dashboard's charts draw it for aggregate-only logins: None is not drawn."""

    month: str
    school_age: int | None
    suspected: int | None
    dropped_out: int | None
    off_school: int | None

    @property
    def dropout_rate(self) -> float | None:
        if self.dropped_out is None or not self.school_age:
            return None
        return round(100 * self.dropped_out / self.school_age, 2)


RATE_INPUTS = {
    "dropout_rate": [str(S.DROPPED_OUT), "school_age"],
    "enrolment_rate": ["school_age", str(S.SUSPENDED), str(S.ENROLLED), str(S.INCLUDED), str(S.HOME_TAUGHT),
                       str(S.RETURNED)],
    "visit_compliance": VISITS,
    "aid_coverage": ["aid_eligible", "aid_aided"],
}


def _blank(value: float | str | None) -> float | str:
    return "" if value is None else value


def _small_ratio(part: int, whole: int) -> bool:
    return any(1 <= n < SMALL for n in (part, whole, whole - part))


def school_key(township: str, code: str) -> str:
    """Unit code of a school-line row of a township report (a school's code; kept apart from area
    codes by the township prefix, so that a row without a school of its own fits too)."""
    return f"{township}/{code}"


def build(county: Area, month: str, *, complements: bool = True) -> PublishedFigures:
    """Compute the county's figures for the month and decide what to hide (no cache)."""
    started = time.perf_counter()
    last = reports.month_bounds(month)[1]
    units: dict[str, Unit] = {}
    values: dict[Key, int] = {}
    latent: dict[Key, int] = {}

    def add_row(code: str, level: str, parent: str, f: reports.MonthlyFigures) -> None:
        units[code] = Unit(code, f.unit, level, parent, f)
        row = {"school_age": f.school_age, **{str(s): f.by_status.get(s, 0) for s in STATUS_COLUMNS},
               "new_suspected": f.new_suspected, "cases_open": f.cases_open, "cases_overdue": f.cases_overdue,
               "visits_due": f.visits_due, "visits_made": f.visits_made,
               "aid_eligible": f.aid_eligible, "aid_aided": f.aid_aided, "aid_gap": f.aid_gap,
               "transfers_open": f.transfers_open, "transfers_late": f.transfers_late,
               "transfers_in_time": f.transfers_open - f.transfers_late}
        for measure, value in row.items():
            (latent if level == "school" and measure in SCHOOL_WITHHELD else values)[(code, measure)] = value
        latent[(code, GRADUATED)] = f.by_status.get(S.GRADUATED, 0)
        latent[(code, IN_TIME)] = f.cases_open - f.cases_overdue

    county_rows = reports.report_units(county, month)
    townships = Area.objects.filter(parent=county).order_by("code")
    for t, f in zip(townships, county_rows[:-1], strict=True):
        add_row(t.code, AreaLevel.TOWNSHIP, county.code, f)
    add_row(county.code, AreaLevel.COUNTY, "", county_rows[-1])
    for t in townships:
        for f in reports.report_units(t, month)[:-1]:
            add_row(school_key(t.code, f.code), "school", t.code, f)
    report_seconds = time.perf_counter() - started
    # The registry line below the townships, from one snapshot with the report's definition.
    names = dict(Area.objects.filter(code__startswith=county.code, level__in=AREA_UNITS).values_list("code", "name"))
    for code, name in names.items():
        level = AreaLevel.VILLAGE if len(code) == CODE_LENGTH[AreaLevel.VILLAGE] else AreaLevel.GROUP
        parent = code[:CODE_LENGTH[AreaLevel.TOWNSHIP if level == AreaLevel.VILLAGE
                                   or AreaLevel.VILLAGE not in AREA_UNITS else AreaLevel.VILLAGE]]
        units[code] = Unit(code, name, level, parent)
        values[(code, "school_age")] = values[(code, OFF_SCHOOL)] = 0
    for c in reports.school_age_then(reports.snapshot(reports.children_of_area(county), last), last):
        for code in {c.group_code, c.group_code[:CODE_LENGTH[AreaLevel.VILLAGE]]}:
            if (code, "school_age") in values:
                values[(code, "school_age")] += 1
                values[(code, OFF_SCHOOL)] += c.status in (S.SUSPECTED, S.DROPPED_OUT)
    for code, unit in units.items():
        if unit.level in (AreaLevel.COUNTY, AreaLevel.TOWNSHIP):
            values[(code, OFF_SCHOOL)] = values[(code, S.SUSPECTED)] + values[(code, S.DROPPED_OUT)]

    relations = [r for r in _relations(units) if _holds(r, values, latent)]
    banded = {k for k in values if units[k[0]].level in ("school", AreaLevel.VILLAGE, AreaLevel.GROUP)}
    rank = {AreaLevel.GROUP: 0, AreaLevel.VILLAGE: 1, "school": 1, AreaLevel.TOWNSHIP: 2, AreaLevel.COUNTY: 3}
    linked = {(code, str(S.HOME_TAUGHT)): [(code, m) for m in VISITS] for code, u in units.items()
              if u.level in (AreaLevel.COUNTY, AreaLevel.TOWNSHIP)}
    result = protect(values, relations, small=lambda k: k[1] not in VISITS, linked=linked,
                     rank=lambda k: rank[units[k[0]].level], banded=lambda k: k in banded,
                     complements=complements)
    out = PublishedFigures(county.code, month, units, values, result.hidden, time.perf_counter() - started,
                           result.rounds, result.lps, report_seconds)
    out.stats = {"primary": result.count(PRIMARY), "complement": result.count(COMPLEMENT),
                 "forced": result.count(FORCED), "relations": len(relations), "values": len(values),
                 "unprotected": len(result.unprotected)}
    return out


def _relations(units: dict[str, Unit]) -> list[Relation]:
    """Every relation that could hold between published figures (each is then checked on the data)."""
    children: dict[tuple[str, str], list[str]] = {}  # (parent, level of the children) -> codes
    for code, u in units.items():
        if u.parent:
            children.setdefault((u.parent, u.level), []).append(code)
    out: list[Relation] = []
    report_measures = [*CHILD_COUNTS, *VISITS, OFF_SCHOOL, *SAFETY_COUNTS]
    for code, u in units.items():
        for level, measures in [(AreaLevel.TOWNSHIP, report_measures), (AreaLevel.VILLAGE, GRID_MEASURES),
                                (AreaLevel.GROUP, GRID_MEASURES),
                                ("school", [m for m in [*CHILD_COUNTS, *VISITS, *SAFETY_COUNTS]
                                            if m not in SCHOOL_WITHHELD])]:
            parts = children.get((code, level))
            if parts:
                out += [Relation((code, m), tuple((p, m) for p in parts)) for m in measures]
        if u.figures is not None:
            out.append(Relation((code, "school_age"), (*[(code, str(s)) for s in STATUS_COLUMNS], (code, GRADUATED))))
            out.append(Relation((code, "cases_open"), ((code, "cases_overdue"), (code, IN_TIME))))
            out.append(Relation((code, str(S.DROPPED_OUT)), ((code, "cases_open"),)))
            out.append(Relation((code, "aid_eligible"), ((code, "aid_aided"), (code, "aid_gap"))))
            out.append(Relation((code, "transfers_open"), ((code, "transfers_late"), (code, "transfers_in_time"))))
            if u.level != "school":
                out.append(Relation((code, OFF_SCHOOL), ((code, str(S.SUSPECTED)), (code, str(S.DROPPED_OUT)))))
    return out


def _holds(r: Relation, values: dict[Key, int], latent: dict[Key, int]) -> bool:
    def v(k: Key) -> int:
        return values[k] if k in values else latent[k]
    return v(r.total) == sum(v(p) for p in r.parts)


# --- the cached decision -----------------------------------------------------------------------

STAMP_TABLES = ["gridmap_child", "gridmap_childstatuschange", "gridmap_case", "gridmap_casestep", "gridmap_aidrecord",
                "gridmap_transfer",
                "gridmap_hometeachingplan", "gridmap_homevisit", "gridmap_school", "gridmap_schoolclass",
                "gridmap_area", "gridmap_calendarday"]
# Row count and newest row version (xmin) of each table: any insert, update or delete changes it
# (~30 ms for the demo county). A fixed list of table names, not user input.
STAMP_SQL = "SELECT " + ", ".join(
    f"(SELECT count(*)::text || '.' || coalesce(max(xmin::text::bigint), 0)::text FROM {t})" for t in STAMP_TABLES)


def data_stamp() -> str:
    with connection.cursor() as cursor:
        cursor.execute(STAMP_SQL)
        row = cursor.fetchone()
    return "-".join(row) if row else ""


def figures_for(county: Area, month: str) -> PublishedFigures:
    """The decision for a county and month, from the cache while the data have not changed."""
    key = f"gridmap:published:{county.code}:{month}:{timezone.localdate():%Y%m%d}:{data_stamp()}"
    found: PublishedFigures | None = cache.get(key)
    if found is None:
        found = build(county, month)
        cache.set(key, found, CACHE_SECONDS)
    return found


def current_month(on: date | None = None) -> str:
    return f"{on or timezone.localdate():%Y-%m}"

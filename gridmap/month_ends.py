"""Month-end counts per village (the county dashboard, the county report and the trend read them) and
per village group (the hotspot layer reads them).

A month's figures need every child's status at the month's end, which means walking the status
history of the whole county (90,000 children here; ten million in a province). So the counts are
kept per (month, village) in `MonthEndCount` — children on the school-age ledger by due grade, status
and disability, the month's status entries by the status entered, and the safety net's counts (the
ledger's aid-eligible children and those of them aided this term, gridmap.aid; transfers open and
overdue, gridmap.transfers) — and read by summing villages.

Kept up to date incrementally, per month and per area:
- database triggers (migration 0008) mark a village out of date from a month on
  (`MonthEndDirty`) whenever a status change is written, moved or removed, or a child's birth
  date, village group, disability or key groups change, or an aid record or a transfer is written or
  removed (migration 0014) — whatever writes it (the pages, an import, a COPY, the admin);
- `ensure(county, months)` settles the county's transfers when they may have changed
  (gridmap.transfers.settle_if_changed), rebuilds, before any read, the marked villages' built
  months and every month built under other settings (the aid eligibility table, the transfer
  deadline: `definitions`), builds months not built yet
  (`MonthEndBuild` records which months of which county are built, as of which day and under which
  settings), and brings the month in progress up to today;
- `python manage.py rebuild_month_ends [--area CODE] [--from YYYY-MM] [--to YYYY-MM]` rebuilds by hand.

The village groups' counts (`MonthEndGroupCount`: on the ledger by due grade, sex and status) are
written by the same statement as the villages' and kept up to date with them, village by village.

The month in progress is counted as of today, a past month as of its last day (`reports.as_of`):
one as-of date for every figure of a page.

For a province: the unit of work is (county, month) for a build and (village, month) for an update,
so builds of different counties run in parallel and a status change costs one village-month per
month since its date. The table is naturally partitioned by month (PostgreSQL declarative
partitioning) and distributed by the village's county code (a distributed PostgreSQL such as
Citus, distribution column: county code) without changing these queries: each touches one county.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import Left
from django.utils import timezone

from gridmap import aid, transfers
from gridmap.models import (
    KEY_GROUPS,
    Area,
    AreaLevel,
    Measure,
    MonthEndBuild,
    MonthEndCount,
    MonthEndDirty,
    MonthEndGroupCount,
)
from gridmap.models.aggregates import GRADES, SEXES, slot
from gridmap.models.areas import CODE_LENGTH

COUNTY_LENGTH = CODE_LENGTH[AreaLevel.COUNTY]

# The 31 August rule in SQL (as gridmap.schooling): school year of the as-of day, due grade.
_SCHOOL_YEAR = "(extract(year FROM m.as_of)::int - CASE WHEN extract(month FROM m.as_of) >= 9 THEN 0 ELSE 1 END)"
_DUE_GRADE = (f"({_SCHOOL_YEAR} - (extract(year FROM k.birth_date)::int + 6"
              " + CASE WHEN to_char(k.birth_date, 'MMDD') <= '0831' THEN 0 ELSE 1 END) + 1)")

# The 18 counts of a village group's row, in MonthEndGroupCount.slot order (a fixed list, no input).
_SLOTS = ", ".join(f"count(*) FILTER (WHERE grade = {g} AND sex = '{x}')" for g in range(1, GRADES + 1) for x in SEXES)

# Every measure for a set of (month, as-of day) pairs and a set of villages, in one statement: the
# status spans of each child (a status holds from its change until the next one), joined to the
# as-of days; the entries of each month up to its as-of day; of the children on the ledger, those
# eligible for aid (gridmap.aid: the key groups are a setting, spliced in from the fixed list of
# KEY_GROUPS fields) and of them those with an aid record of the as-of day's term granted by then;
# the transfers open on the as-of day (gridmap.transfers), and those open longer than the deadline.
BUILD_SQL = """
WITH m AS (
    SELECT month, as_of, term_year, term
    FROM unnest(%(months)s::date[], %(as_of)s::date[], %(term_years)s::int[], %(terms)s::text[])
         AS t(month, as_of, term_year, term)
), kids AS (
    SELECT c.id, c.birth_date, c.kg_disabled, c.sex, c.group_id, g.parent_id AS village_id,
           {eligible} AS eligible
    FROM gridmap_child c JOIN gridmap_area g ON g.id = c.group_id
    WHERE g.parent_id = ANY(%(villages)s)
), spans AS (
    SELECT h.child_id, h.to_status, h.date AS since,
           lead(h.date) OVER (PARTITION BY h.child_id ORDER BY h.date, h.recorded_at, h.id) AS until
    FROM gridmap_childstatuschange h JOIN kids k ON k.id = h.child_id
), ledger AS (
    SELECT m.month, m.as_of, m.term_year, m.term, k.id AS child_id, k.eligible, k.village_id, k.group_id, k.sex,
           {grade} AS grade, s.to_status AS status, k.kg_disabled AS disabled
    FROM m JOIN spans s ON s.since <= m.as_of AND (s.until IS NULL OR s.until > m.as_of)
    JOIN kids k ON k.id = s.child_id
    WHERE s.to_status <> 'transferred_out'
), entered AS (
    SELECT m.month, k.village_id, {grade} AS grade, h.to_status AS status, k.kg_disabled AS disabled
    FROM m JOIN gridmap_childstatuschange h ON h.date BETWEEN m.month AND m.as_of
    JOIN kids k ON k.id = h.child_id
), aid AS (
    SELECT l.month, l.village_id, l.grade, l.status, l.disabled,
           EXISTS (SELECT 1 FROM gridmap_aidrecord a WHERE a.child_id = l.child_id AND a.school_year = l.term_year
                   AND a.term = l.term AND a.date <= l.as_of) AS aided
    FROM ledger l WHERE l.eligible AND l.grade BETWEEN 1 AND 9
), xfer AS (
    SELECT m.month, k.village_id, {grade} AS grade, k.kg_disabled AS disabled,
           t.date < m.as_of - %(late_days)s::int AS late
    FROM m JOIN gridmap_transfer t ON t.date <= m.as_of AND (t.completed_on IS NULL OR t.completed_on > m.as_of)
    JOIN kids k ON k.id = t.child_id
), groups AS (
    INSERT INTO gridmap_monthendgroupcount (month, group_id, status, children)
    SELECT month, group_id, status, ARRAY[{slots}] FROM ledger
    WHERE grade BETWEEN 1 AND 9 GROUP BY 1, 2, 3
    RETURNING 1
)
INSERT INTO gridmap_monthendcount (month, village_id, measure, grade, status, disabled, children)
SELECT month, village_id, 'ledger', grade, status, disabled, count(*) FROM ledger
WHERE grade BETWEEN 1 AND 9 GROUP BY 1, 2, 4, 5, 6
UNION ALL
SELECT month, village_id, 'entered', grade, status, disabled, count(*) FROM entered GROUP BY 1, 2, 4, 5, 6
UNION ALL
SELECT month, village_id, 'aid_elig', grade, status, disabled, count(*) FROM aid GROUP BY 1, 2, 4, 5, 6
UNION ALL
SELECT month, village_id, 'aid_given', grade, status, disabled, count(*) FROM aid WHERE aided GROUP BY 1, 2, 4, 5, 6
UNION ALL
SELECT month, village_id, 'xfer_open', grade, 'transferred_out', disabled, count(*) FROM xfer GROUP BY 1, 2, 4, 6
UNION ALL
SELECT month, village_id, 'xfer_late', grade, 'transferred_out', disabled, count(*) FROM xfer WHERE late
GROUP BY 1, 2, 4, 6
"""


def build_sql() -> str:
    """BUILD_SQL with the eligibility test of the current setting (field names from KEY_GROUPS only)."""
    fields = aid.eligible_fields()
    assert all(f in KEY_GROUPS for f in fields)
    eligible = "(" + " OR ".join(f"c.{f}" for f in fields) + ")"
    return BUILD_SQL.format(eligible=eligible, grade=_DUE_GRADE, slots=_SLOTS)


def definitions() -> str:
    """What the stored counts depend on besides the data: the aid-eligible key groups and the transfer
    deadline (a build made under other settings is rebuilt)."""
    text = f"aid={','.join(aid.eligible_fields())};late={transfers.late_days()}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def as_of(month: date, today: date | None = None) -> date:
    """The day a month's figures are counted as of: its last day, or today while it runs."""
    from gridmap.reports import month_bounds

    return min(month_bounds(month)[1], today or timezone.localdate())


def _county_villages(county_code: str) -> list[int]:
    return list(Area.objects.filter(level=AreaLevel.VILLAGE, code__startswith=county_code)
                .values_list("pk", flat=True))


def _rebuild(villages: list[int], months: list[date], today: date) -> None:
    if not villages or not months:
        return
    MonthEndCount.objects.filter(month__in=months, village__in=villages).delete()
    MonthEndGroupCount.objects.filter(month__in=months, group__parent__in=villages).delete()
    days = [as_of(m, today) for m in months]
    terms = [aid.term_of(d) for d in days]
    with connection.cursor() as cursor:
        cursor.execute(build_sql(), {"months": months, "as_of": days, "term_years": [y for y, _t in terms],
                                     "terms": [t for _y, t in terms], "villages": villages,
                                     "late_days": transfers.late_days()})


@transaction.atomic
def ensure(county_code: str, months: Iterable[date], today: date | None = None) -> None:
    """Bring these months of the county up to date (see the module docstring), then they may be read."""
    today = today or timezone.localdate()
    county_code = county_code[:COUNTY_LENGTH]
    wanted = sorted({m.replace(day=1) for m in months})
    with connection.cursor() as cursor:  # one refresher per county at a time
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('gridmap_month_end:' || %s))", [county_code])
    # 0. transfers brought up to date first: what it writes marks villages like any other change
    transfers.settle_if_changed(county_code)
    current = definitions()
    builds = {b.month: b for b in MonthEndBuild.objects.filter(county_code=county_code)}
    stale = [m for m, b in builds.items() if b.definitions != current]  # built under other settings
    if stale:
        MonthEndBuild.objects.filter(county_code=county_code, month__in=stale).delete()
        builds = {m: b for m, b in builds.items() if m not in stale}
    # 1. villages marked by the triggers: their built months from the mark on
    dirty = MonthEndDirty.objects.filter(village__code__startswith=county_code)
    marks = list(dirty.values_list("village_id", "since"))
    dirty.delete()
    by_since: dict[date, list[int]] = {}
    for village, since in marks:
        by_since.setdefault(since, []).append(village)
    for since, villages in by_since.items():
        _rebuild(villages, [m for m in builds if m >= since.replace(day=1)], today)
    # 2. months in progress when built: changes dated since then (entered ahead of their day)
    for month, build in builds.items():
        due = as_of(month, today)
        if build.as_of < due:
            villages = _villages_with_changes(county_code, build.as_of, due)
            _rebuild(villages, [month], today)
            build.as_of = due
            build.save(update_fields=["as_of"])
    # 3. months never built: the whole county
    missing = [m for m in wanted if m not in builds]
    if missing:
        _rebuild(_county_villages(county_code), missing, today)
        MonthEndBuild.objects.bulk_create(MonthEndBuild(month=m, county_code=county_code, as_of=as_of(m, today),
                                                        definitions=current) for m in missing)


def _villages_with_changes(county_code: str, after: date, until: date) -> list[int]:
    """Villages whose counts of a month in progress may have moved between two as-of days: status
    changes, aid granted and transfers dated in between, and transfers that passed their deadline."""
    from gridmap.models import AidRecord, ChildStatusChange, Transfer

    villages: set[int | None] = set()
    for model, dated in ((ChildStatusChange, "date"), (AidRecord, "date"), (Transfer, "date"),
                         (Transfer, "completed_on")):
        villages |= set(model.objects.filter(**{f"{dated}__gt": after, f"{dated}__lte": until,
                                                "child__group__code__startswith": county_code})
                        .values_list("child__group__parent_id", flat=True).distinct())
    late = transfers.late_days()
    villages |= set(Transfer.objects.filter(date__gte=after - timedelta(days=late + 1),
                                            date__lt=until - timedelta(days=late),
                                            child__group__code__startswith=county_code)
                    .values_list("child__group__parent_id", flat=True).distinct())
    # A new term begins: the aid counted is that of another term.
    if aid.term_of(after) != aid.term_of(until):
        return _county_villages(county_code)
    return [v for v in villages if v is not None]


def rebuild(county_code: str, months: list[date], today: date | None = None) -> None:
    """Rebuild these months of the county from scratch (the command)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        MonthEndDirty.objects.filter(village__code__startswith=county_code[:COUNTY_LENGTH]).delete()
        MonthEndBuild.objects.filter(county_code=county_code[:COUNTY_LENGTH], month__in=months).delete()
    ensure(county_code, months, today)


Key = tuple[int, str, bool]  # (due grade, status, disabled)


@dataclass
class Tally:
    """One unit's month: the ledger counts (due grade, status, disabled), the month's status entries
    by the status entered, and the safety net's counts by measure (Measure.AID_ELIGIBLE, ...)."""

    ledger: Counter[Key] = field(default_factory=Counter)
    entered: Counter[str] = field(default_factory=Counter)
    safety: Counter[str] = field(default_factory=Counter)


def counts(area: Area, months: list[date], unit_length: int, today: date | None = None) -> dict[tuple[str, date], Tally]:
    """Per (unit code, month): the month's Tally, for the villages of `area` grouped by the first
    `unit_length` digits of their code (townships: 9; villages: 12), and for the area itself under its
    own code."""
    ensure(area.code, months, today)
    rows = (MonthEndCount.objects.filter(month__in=[m.replace(day=1) for m in months],
                                         village__code__startswith=area.code)
            .annotate(unit=Left("village__code", unit_length))
            .values_list("month", "unit", "measure", "grade", "status", "disabled").annotate(n=Sum("children")))
    out: dict[tuple[str, date], Tally] = {}
    for month, village, measure, grade, status, disabled, n in rows:
        for unit in {village, area.code}:
            tally = out.setdefault((unit, month), Tally())
            if measure == Measure.LEDGER:
                tally.ledger[(grade, status, disabled)] += n
            elif measure == Measure.ENTERED:
                tally.entered[status] += n
            else:
                tally.safety[measure] += n
    return out


def group_counts(area: Area, month: date, grades: Iterable[int] = (), sex: str = "",
                 today: date | None = None) -> dict[str, Counter[str]]:
    """Per village group under `area` (code): its children on the school-age ledger at the month's end
    (its as-of day) by status — only those due in `grades`, of `sex`, when given."""
    first = month.replace(day=1)
    ensure(area.code, [first], today)
    wanted = [slot(g, x) for g in (list(grades) or range(1, GRADES + 1)) for x in ([sex] if sex else SEXES)]
    out: dict[str, Counter[str]] = {}
    for code, status, children in (MonthEndGroupCount.objects.filter(month=first, group__code__startswith=area.code)
                                   .values_list("group__code", "status", "children")):
        n = sum(children[i] for i in wanted)
        if n:
            out.setdefault(code, Counter())[status] += n
    return out

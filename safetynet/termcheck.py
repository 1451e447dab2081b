"""The term-start check (开学初核查): within the first days of a term every school checks the children the
ledger expects against those who reported, and its township reports the checks by the deadline
(GRIDMAP_TERM_CHECK_DEADLINES, default 15 March for the spring term, 15 September for the autumn term).

Expected at a school on the day of its check (DESIGN.md's ledger and the 31 August rule):
- children of school age on the day (due in grades 1-9 by the 31 August rule) whose status on the day
  (from the history) is in school (在校, 劝返复学, 随班就读), suspected, or suspended with the suspension
  ended by then; not those taught at home, dropped out (they are on the dropout ledger with a case),
  transferred out or graduated;
- at the school on whose roll they are when it teaches their due grade; otherwise — grade-1 entrants by
  the 31 August rule, pupils moving up to junior middle school, pupils of a village school that stops
  at grade 4 — at the school the rule of gridmap.cases.due_schools chooses for their registry group
  (its catchment school of the grade's stage, else the nearest open school of the township teaching
  the grade).
A child expected who did not report and has no reason (无故未报到) goes on the suspected ledger the same
day (the day of the check); with a reason (sick leave, leave, moved away: a transfer to record) the
child is listed but not entered. A check submitted again replaces the counts and the list; entries on
the suspected ledger, once made, stay in the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from gridmap import aid, audit, cases, ledgers, schooling
from gridmap.models import (
    Area,
    AuditAction,
    Child,
    ChildStatus,
    ChildStatusChange,
    School,
    SchoolClass,
    SchoolStatus,
    Term,
)
from safetynet.models import MissingReason, TermCheck, TermCheckEntry, TermReport

S = ChildStatus
EXPECTED_STATUSES = [S.ENROLLED, S.RETURNED, S.INCLUDED, S.SUSPECTED, S.SUSPENDED]
DEFAULT_DEADLINES = "03-15,09-15"
SUSPECT_REASON = "开学初核查未报到（无正当理由）"


class TermCheckError(ValueError):
    pass


def deadlines() -> dict[str, tuple[int, int]]:
    """(month, day) of the spring and the autumn term's deadline (ValueError for a bad setting)."""
    text = getattr(settings, "GRIDMAP_TERM_CHECK_DEADLINES", DEFAULT_DEADLINES) or DEFAULT_DEADLINES
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise ValueError("two days MM-DD: the spring term's, then the autumn term's")
    out = {}
    for term, part in zip((Term.SPRING, Term.AUTUMN), parts, strict=True):
        try:
            month, day = (int(x) for x in part.split("-"))
            date(2001, month, day)
        except ValueError:
            raise ValueError(f"{part!r} is not a day MM-DD") from None
        out[str(term)] = (month, day)
    return out


def deadline(school_year: int, term: str) -> date:
    month, day = deadlines()[term]
    return date(school_year if term == Term.AUTUMN else school_year + 1, month, day)


def term_text(school_year: int, term: str) -> str:
    return f"{school_year}-{term}"


def parse_term(text: str) -> tuple[int, str]:
    """A term as written in addresses: "2026-1" (autumn 2026) or "2026-2" (spring 2027)."""
    year_text, _sep, term = text.partition("-")
    if not (year_text.isdigit() and len(year_text) == 4 and term in Term.values and 2000 <= int(year_text) <= 2100):
        raise ValueError(text)
    return int(year_text), term


def recent_terms(today: date, n: int = 4) -> list[tuple[int, str]]:
    year, term = aid.term_of(today)
    out = []
    for _i in range(n):
        out.append((year, term))
        year, term = (year, str(Term.AUTUMN)) if term == Term.SPRING else (year - 1, str(Term.SPRING))
    return out


@dataclass(frozen=True)
class Expected:
    child_id: int
    grade: int
    entrant: bool  # due in grade 1 (31 August rule)
    status: str
    school_id: int


def expected(schools: Iterable[School], day: date) -> dict[int, list[Expected]]:
    """The children each of these schools expects at its check on `day` (see the module docstring)."""
    schools = list(schools)
    wanted = {s.pk for s in schools}
    out: dict[int, list[Expected]] = {s.pk: [] for s in schools}
    if not schools:
        return out
    townships = {s.township_id for s in schools}
    township_codes = list(Area.objects.filter(pk__in=townships).values_list("code", flat=True))
    latest = ChildStatusChange.objects.filter(child=OuterRef("pk"), date__lte=day).order_by("-date", "-recorded_at", "-pk")
    # The townships' village groups and the schools' classes as id lists, not as joins: an OR across
    # two joined tables made PostgreSQL scan every child (1.7 s per township in a 10-million-child
    # province); OR'ed id lists are two index scans on the child table.
    in_townships = Q(pk__in=[])
    for code in township_codes:
        in_townships |= Q(code__startswith=code)
    groups = list(Area.objects.filter(in_townships).values_list("pk", flat=True))  # as group__code__startswith
    classes = list(SchoolClass.objects.filter(school__in=wanted).values_list("pk", flat=True))
    rows = list(Child.objects.school_age_on(day).filter(Q(group_id__in=groups) | Q(school_class_id__in=classes))
                .annotate(status_then=Subquery(latest.values("to_status")[:1]),
                          until_then=Subquery(latest.values("until")[:1]))
                .values_list("pk", "birth_date", "status_then", "until_then", "school_class__school_id",
                             "school_class__school__first_grade", "school_class__school__last_grade",
                             "school_class__school__status"))
    candidates: list[tuple[int, int, str, int | None]] = []
    for pk, born, status, until, roll, first, last, roll_status in rows:
        if status not in EXPECTED_STATUSES or (status == S.SUSPENDED and (until is None or until > day)):
            continue
        grade = schooling.expected_grade(born, day)
        roll_fits = roll is not None and roll_status == SchoolStatus.OPEN and first <= grade <= last
        candidates.append((pk, grade, status, roll if roll_fits else None))
    due = cases.due_schools([(c[0], day) for c in candidates if c[3] is None])
    for pk, grade, status, fits in candidates:
        at = fits if fits is not None else due.get(pk, (0, None))[1]
        if at is not None and at in wanted:
            out[at].append(Expected(pk, grade, grade == schooling.FIRST_GRADE, status, at))
    return out


@transaction.atomic
def submit_check(school: School, day: date, missing: Mapping[int, tuple[str, str]], by: Any,
                 request: Any = None, listed_already: list[Expected] | None = None, audited: bool = True) -> TermCheck:
    """A school's check on `day`: every expected child reported but those in `missing` (child id →
    (reason, note)). The unexcused go on the suspected ledger the same day. `listed_already`: the
    school's expected children on the day, when the caller has computed them (the demo loader)."""
    year, term = aid.term_of(day)
    listed = {e.child_id: e for e in (listed_already if listed_already is not None
                                      else expected([school], day)[school.pk])}
    unknown = set(missing) - set(listed)
    if unknown:
        raise TermCheckError(f"{len(unknown)} 名儿童不在本校的应到名单上")
    for reason, _note in missing.values():
        if reason not in MissingReason.values:
            raise TermCheckError(f"未知的未报到原因 {reason!r}")
    exp = list(listed.values())
    unexcused = [c for c, (r, _n) in missing.items() if r == MissingReason.UNEXCUSED]
    check, _created = TermCheck.objects.update_or_create(
        school=school, school_year=year, term=term,
        defaults={"checked_on": day, "expected": len(exp), "entrants": sum(e.entrant for e in exp),
                  "reported": len(exp) - len(missing), "submitted_by": by if getattr(by, "is_authenticated", False) else None,
                  "submitted_at": timezone.now(),
                  "figures": {"expected_by_grade": {str(g): sum(e.grade == g for e in exp) for g in range(1, 10)},
                              "missing_excused": len(missing) - len(unexcused), "missing_unexcused": len(unexcused)}})
    check.missing.all().delete()
    entries = []
    entered = 0
    for child_id, (reason, note) in missing.items():
        e = listed[child_id]
        entry = TermCheckEntry(term_check=check, child_id=child_id, grade=e.grade, entrant=e.entrant, reason=reason,
                               note=note.strip()[:200])
        if reason == MissingReason.UNEXCUSED:
            entry.suspected = _suspect(child_id, day, by, request, audited)
            entered += entry.suspected is not None
        entries.append(entry)
    TermCheckEntry.objects.bulk_create(entries)
    check.figures["suspected_new"] = entered
    check.save(update_fields=["figures"])
    if audited:  # (not the demo county's generated checks)
        audit.record(request, AuditAction.CHANGE, school, user=by,
                     summary=f"开学初核查 {school.name} {aid.term_label(year, term)}："
                             f"应到 {len(exp)}，实到 {check.reported}"[:300],
                     after={"missing": len(missing), "unexcused": len(unexcused), "suspected_new": entered})
    return check


def _suspect(child_id: int, day: date, by: Any, request: Any, audited: bool = True) -> ChildStatusChange | None:
    """The same-day rule: an unexcused child goes on the suspected ledger on the day of the check
    (unless its status allows no such entry). The entry, or the one this check made before."""
    child = Child.objects.get(pk=child_id)
    if child.status == S.SUSPECTED:  # entered by this check before (submitted again), or otherwise
        return ChildStatusChange.objects.filter(child=child, to_status=S.SUSPECTED, date=day,
                                                reason=SUSPECT_REASON).order_by("-recorded_at", "-pk").first()
    if S.SUSPECTED not in ledgers.TRANSITIONS[child.status]:
        return None
    try:
        return ledgers.change_status(child, S.SUSPECTED, day, by, SUSPECT_REASON, request=request, audited=audited)
    except ledgers.StatusChangeError:
        return None  # a later change is on record already (a check entered after the fact)


@dataclass
class SchoolRow:
    school: School
    check: TermCheck | None
    expected: int
    entrants: int
    reported: int | None  # None: not checked yet
    missing: int | None
    unexcused: int | None
    suspected: int | None


@dataclass
class TownshipCheck:
    township: Area
    school_year: int
    term: str
    deadline: date
    rows: list[SchoolRow]
    total: SchoolRow | None = None
    report: TermReport | None = None
    live_day: date | None = None  # the day the unchecked schools' expected children are counted as of
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def checked(self) -> int:
        return sum(r.check is not None for r in self.rows)

    @property
    def report_late(self) -> bool:
        return self.report is not None and timezone.localtime(self.report.submitted_at).date() > self.deadline


def township_check(township: Area, school_year: int, term: str, schools: Iterable[School] | None = None) -> TownshipCheck:
    """The township's schools: each one's submitted check, or (not checked yet) its expected children
    counted as of today (or the term's last day, for a past term)."""
    schools = list(schools if schools is not None else School.objects.filter(
        township=township, status=SchoolStatus.OPEN).order_by("kind", "code"))
    checks = {c.school_id: c for c in TermCheck.objects.filter(school__in=schools, school_year=school_year, term=term)}
    live_day = min(timezone.localdate(), aid.term_bounds(school_year, term)[1])
    unchecked = [s for s in schools if s.pk not in checks]
    live = expected(unchecked, live_day) if unchecked else {}
    rows = []
    for s in schools:
        c = checks.get(s.pk)
        if c is not None:
            rows.append(SchoolRow(s, c, c.expected, c.entrants, c.reported, c.missing_count,
                                  int(c.figures.get("missing_unexcused", 0)), int(c.figures.get("suspected_new", 0))))
        else:
            exp = live.get(s.pk, [])
            rows.append(SchoolRow(s, None, len(exp), sum(e.entrant for e in exp), None, None, None, None))
    done = [r for r in rows if r.check is not None]  # the total is the checked schools'
    total = SchoolRow(township, None, sum(r.expected for r in done), sum(r.entrants for r in done),  # type: ignore[arg-type]
                      sum(r.reported or 0 for r in done), sum(r.missing or 0 for r in done),
                      sum(r.unexcused or 0 for r in done), sum(r.suspected or 0 for r in done))
    report = TermReport.objects.filter(area=township, school_year=school_year, term=term).select_related(
        "submitted_by").first()
    return TownshipCheck(township, school_year, term, deadline(school_year, term), rows, total, report,
                         live_day if unchecked else None)


@transaction.atomic
def submit_report(township: Area, school_year: int, term: str, by: Any, request: Any = None,
                  audited: bool = True) -> TermReport:
    """The township reports its schools' checks (again: replaced, with the new time and person)."""
    result = township_check(township, school_year, term)
    figures = {"schools": len(result.rows), "checked": result.checked,
               "rows": [{"school": r.school.code, "name": r.school.name, "checked": r.check is not None,
                         "expected": r.expected, "entrants": r.entrants, "reported": r.reported,
                         "missing": r.missing, "unexcused": r.unexcused, "suspected": r.suspected} for r in result.rows],
               "deadline": result.deadline.isoformat()}
    report, _created = TermReport.objects.update_or_create(
        area=township, school_year=school_year, term=term,
        defaults={"figures": figures, "submitted_by": by if getattr(by, "is_authenticated", False) else None,
                  "submitted_at": timezone.now()})
    if audited:
        audit.record(request, AuditAction.CHANGE, township, user=by,
                     summary=f"上报开学初核查 {township.name} {aid.term_label(school_year, term)}"
                             f"（{result.checked}/{len(result.rows)} 校）")
    return report


@dataclass
class CountyRow:
    township: Area
    schools: int
    checked: int
    expected: int  # of the checked schools
    reported: int
    missing: int
    suspected: int
    report: TermReport | None
    late: bool


def county_check(county: Area, school_year: int, term: str) -> list[CountyRow]:
    """Per township: schools checked, their counts, and the township's report (on time or late)."""
    limit = deadline(school_year, term)
    checks = list(TermCheck.objects.filter(school__township__parent=county, school_year=school_year, term=term)
                  .values_list("school__township_id", "expected", "reported", "figures"))
    reports_ = {r.area_id: r for r in TermReport.objects.filter(area__parent=county, school_year=school_year, term=term)}
    schools = dict(School.objects.filter(township__parent=county, status=SchoolStatus.OPEN).values_list("township_id")
                   .annotate(n=Count("pk")))
    out = []
    for t in Area.objects.filter(parent=county).order_by("code"):
        mine = [c for c in checks if c[0] == t.pk]
        r = reports_.get(t.pk)
        out.append(CountyRow(t, schools.get(t.pk, 0), len(mine), sum(c[1] for c in mine), sum(c[2] for c in mine),
                             sum(c[1] - c[2] for c in mine), sum(int(c[3].get("suspected_new", 0)) for c in mine), r,
                             r is not None and timezone.localtime(r.submitted_at).date() > limit))
    return out

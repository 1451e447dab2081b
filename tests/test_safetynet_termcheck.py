"""The term-start check (issue 18): the children expected at a school (the ledger and the 31 August rule,
grade-1 entrants included) against SQL written here from the rule; the missing without a reason become
suspected that same day; the township's report with its deadline; scope."""

from datetime import date

import pytest
from django.db import connection
from django.utils import timezone

from gridmap import reports
from gridmap.models import Area, Child, ChildStatus, ChildStatusChange, School, UserRole
from safetynet import termcheck
from safetynet.models import TermCheck, TermCheckEntry, TermReport
from tests.test_access import A, B, login

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 20)  # a Friday of the autumn term 2026

# The rule written again in SQL: status on the day from the history; due grade by the 31 August rule;
# at the roll's school when it is open and teaches the grade, else at the group's catchment school of
# the grade's stage when it teaches the grade (the central primary and junior schools used below
# teach every grade of their stage, so the nearest-school fallback never comes into it).
EXPECTED_SQL = """
WITH kids AS (
    SELECT c.id, c.birth_date, c.group_id, k.school_id AS roll, rs.status AS roll_status, rs.first_grade, rs.last_grade,
           (SELECT h.to_status FROM gridmap_childstatuschange h WHERE h.child_id = c.id AND h.date <= %(day)s
            ORDER BY h.date DESC, h.recorded_at DESC, h.id DESC LIMIT 1) AS status,
           (SELECT h.until FROM gridmap_childstatuschange h WHERE h.child_id = c.id AND h.date <= %(day)s
            ORDER BY h.date DESC, h.recorded_at DESC, h.id DESC LIMIT 1) AS until,
           2026 - (extract(year FROM c.birth_date)::int + 6
                   + CASE WHEN to_char(c.birth_date, 'MMDD') <= '0831' THEN 0 ELSE 1 END) + 1 AS grade
    FROM gridmap_child c LEFT JOIN gridmap_schoolclass k ON k.id = c.school_class_id
    LEFT JOIN gridmap_school rs ON rs.id = k.school_id
)
SELECT id, grade FROM kids
WHERE grade BETWEEN 1 AND 9
  AND (status IN ('enrolled', 'returned', 'included', 'suspected') OR (status = 'suspended' AND until <= %(day)s))
  AND CASE WHEN roll IS NOT NULL AND roll_status = 'open' AND grade BETWEEN first_grade AND last_grade THEN roll = %(school)s
           ELSE EXISTS (SELECT 1 FROM gridmap_catchmentassignment a WHERE a.area_id = kids.group_id
                        AND a.school_id = %(school)s AND a.stage = CASE WHEN grade <= 6 THEN 'primary' ELSE 'junior' END)
      END
"""


def expected_by_sql(school, day=DAY):
    with connection.cursor() as cursor:
        cursor.execute(EXPECTED_SQL, {"day": day, "school": school.pk})
        return dict(cursor.fetchall())


@pytest.mark.parametrize("kind", ["central_primary", "junior_middle"])
def test_expected_children_equal_the_rule_in_sql(kind):
    school = School.objects.filter(township__code=A, kind=kind, status="open").first()
    found = termcheck.expected([school], DAY)[school.pk]
    want = expected_by_sql(school)
    assert {e.child_id: e.grade for e in found} == want and want
    if kind == "central_primary":
        entrants = [e for e in found if e.entrant]
        assert entrants and all(e.grade == 1 for e in entrants)
        # grade-1 entrants are expected whether or not a roll shows them yet
        unrolled = Child.objects.filter(pk__in=[e.child_id for e in entrants], school_class__isnull=True)
        Child.objects.filter(pk=entrants[0].child_id).update(school_class=None)
        assert entrants[0].child_id in {e.child_id for e in termcheck.expected([school], DAY)[school.pk]}
        assert unrolled.count() >= 1


def test_the_missing_become_suspected_the_same_day_and_the_report_counts_them(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a: DAY)
    school = School.objects.filter(township__code=A, kind="central_primary", status="open").first()
    listed = termcheck.expected([school], DAY)[school.pk]
    enrolled = [e for e in listed if e.status == ChildStatus.ENROLLED
                and not ChildStatusChange.objects.filter(child=e.child_id, date__gt=DAY).exists()]
    truant, sick = enrolled[0].child_id, enrolled[1].child_id
    township = Area.objects.get(code=A)
    before = reports.for_area(township, "2026-11")
    official = login(UserRole.TOWNSHIP_OFFICIAL, areas=[A])
    form = official.get(f"/safetynet/termcheck/{school.code}/").content.decode()
    assert f'name="missing_{truant}"' in form and 'data-expected' in form
    response = official.post(f"/safetynet/termcheck/{school.code}/submit/", {
        "term": "2026-1", f"missing_{truant}": "1", f"reason_{truant}": "unexcused",
        f"missing_{sick}": "1", f"reason_{sick}": "illness", f"note_{sick}": "住院"})
    assert response.status_code == 302
    check = TermCheck.objects.get(school=school, school_year=2026, term="1")
    assert (check.expected, check.reported, check.missing_count) == (len(listed), len(listed) - 2, 2)
    assert check.entrants == sum(e.entrant for e in listed) and check.checked_on == DAY
    entered = ChildStatusChange.objects.filter(child=truant).latest("recorded_at")
    assert (entered.to_status, entered.date, entered.reason) == ("suspected", DAY, termcheck.SUSPECT_REASON)
    assert Child.objects.get(pk=sick).status == ChildStatus.ENROLLED  # a reason: listed, not entered
    assert TermCheckEntry.objects.get(term_check=check, child=truant).suspected == entered
    after = reports.for_area(township, "2026-11")
    assert (after.suspected, after.new_suspected) == (before.suspected + 1, before.new_suspected + 1)
    # submitted again: replaced, and the entry already made is not made twice
    official.post(f"/safetynet/termcheck/{school.code}/submit/", {"term": "2026-1", f"missing_{truant}": "1",
                                                                  f"reason_{truant}": "unexcused"})
    check.refresh_from_db()
    assert check.missing.count() == 1 and check.reported == len(listed) - 1
    assert check.figures["suspected_new"] == 1 and check.missing.get().suspected == entered
    assert ChildStatusChange.objects.filter(child=truant, to_status="suspected", date=DAY).count() == 1
    # the township's report: its schools, checked or not, and the submission against the deadline
    page = official.get(f"/safetynet/termcheck/{A}/?term=2026-1").content.decode()
    row = page.split(f'data-code="{school.code}"')[1].split("</tr>")[0]
    assert "2026-11-20" in row and ">1<" in row  # checked that day; one missing, entered on the ledger
    official.post(f"/safetynet/termcheck/{A}/submit/", {"term": "2026-1"})
    report = TermReport.objects.get(area=township, school_year=2026, term="1")
    result = termcheck.township_check(township, 2026, "1")
    assert result.report_late and result.deadline == date(2026, 9, 15)  # submitted 20 November
    assert report.figures["checked"] == result.checked and result.total.missing == sum(r.missing or 0 for r in result.rows)


def test_another_townships_school_is_404_and_nothing_written(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a: DAY)
    theirs = School.objects.filter(township__code=B, status="open").first()
    child = termcheck.expected([theirs], DAY)[theirs.pk][0].child_id
    official = login(UserRole.TOWNSHIP_OFFICIAL, areas=[A])
    before = (TermCheck.objects.count(), TermReport.objects.count(), ChildStatusChange.objects.count())
    assert official.get(f"/safetynet/termcheck/{theirs.code}/").status_code == 404
    assert official.post(f"/safetynet/termcheck/{theirs.code}/submit/", {
        "term": "2026-1", f"missing_{child}": "1", f"reason_{child}": "unexcused"}).status_code == 404
    assert official.post(f"/safetynet/termcheck/{B}/submit/", {"term": "2026-1"}).status_code == 404
    assert (TermCheck.objects.count(), TermReport.objects.count(), ChildStatusChange.objects.count()) == before
    own = School.objects.filter(township__code=A, status="open").first()
    stranger = official.post(f"/safetynet/termcheck/{own.code}/submit/", {
        "term": "2026-1", f"missing_{child}": "1"}, follow=True)  # a child the school does not expect
    assert "不在本校的应到名单上" in stranger.content.decode()
    assert (TermCheck.objects.count(), ChildStatusChange.objects.count()) == before[0::2]
    for bad in ("2026-3", "x", "1999-1", "\x00"):
        assert official.get(f"/safetynet/termcheck/{A}/", {"term": bad}).status_code == 400
    staff = login(UserRole.SCHOOL_STAFF, schools=[own])
    assert staff.get(f"/safetynet/termcheck/{own.code}/").status_code == 200
    assert staff.post(f"/safetynet/termcheck/{A}/submit/", {"term": "2026-1"}).status_code == 404

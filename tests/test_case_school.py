"""The school a dropout case is charged to: the school serving the child's due grade for their
registry village group, chosen when the case opens, shown, and changeable with a reason.

The expected school is worked out here independently: the due grade from the birth date by the
31 August rule (plain date arithmetic), the group's catchment school of that stage from the
assignment table, and, where that school does not teach the grade, the nearest open school by
geodesic distance (pyproj) — the same township first."""

from datetime import date

import pytest
from pyproj import Geod

from gridmap import cases, ledgers
from gridmap.models import AuditEvent, Case, CaseSchoolChange, CatchmentAssignment, Child, Person, School
from tests.test_access import A, B, login

pytestmark = pytest.mark.django_db
GEOD = Geod(ellps="WGS84")


def due_grade(birth: date, on: date) -> int:
    school_year = on.year if on.month >= 9 else on.year - 1
    entry = birth.year + 6 + (0 if (birth.month, birth.day) <= (8, 31) else 1)
    return min(9, max(1, school_year - entry + 1))


def expected_school(child: Child, on: date) -> tuple[int, School]:
    grade = due_grade(child.birth_date, on)
    stage = "primary" if grade <= 6 else "junior"
    assigned = CatchmentAssignment.objects.filter(area=child.group, stage=stage).select_related("school").first()
    if assigned and assigned.school.status == "open" and assigned.school.first_grade <= grade <= assigned.school.last_grade:
        return grade, assigned.school
    point = child.group.label_point
    candidates = [s for s in School.objects.filter(status="open").select_related("township")
                  if s.first_grade <= grade <= s.last_grade]

    def key(s):
        distance = GEOD.inv(point.x, point.y, s.location.x, s.location.y)[2]
        return (s.township.code != child.group.code[:9], distance, s.pk)
    return grade, min(candidates, key=key)


def test_every_demo_case_is_charged_to_the_school_of_the_childs_due_grade():
    demo_cases = list(Case.objects.select_related("child__group", "school"))
    assert len(demo_cases) >= 10
    junior = 0
    for case in demo_cases:
        grade, school = expected_school(case.child, case.opened_on)
        assert case.school == school, (case.pk, grade, case.school, school)
        assert school.first_grade <= grade <= school.last_grade
        junior += grade >= 7
    assert junior, "the demo has dropouts due in grades 7-9 (charged to junior middle schools)"


def test_a_case_opened_on_the_page_takes_the_rule_and_the_township_may_change_it_with_a_reason():
    child = (Child.objects.filter(group__code__startswith=A, status="enrolled")
             .school_age_on(date(2026, 12, 1)).order_by("-birth_date").last())  # the oldest: due in grade 9
    clerk = login(None)
    ledgers.change_status(child, "suspected", date(2026, 12, 1), None, "连续缺勤")
    official = login("township_official", [A])
    person = Person.objects.filter(school__township__code=A).first()
    response = official.post(f"/children/{child.pk}/confirm-dropout/", {"date": "2026-12-02", "reason": "x",
                                                                        "members": [person.pk]})
    case = Case.objects.get(child=child, status="open")
    assert response["Location"] == f"/case/{case.pk}/"
    grade, school = expected_school(child, date(2026, 12, 2))
    assert grade == 9 and case.school == school and school.kind in ("junior_middle", "nine_year")
    page = official.get(f"/case/{case.pk}/").content.decode()
    assert f'data-case-school="{school.code}"' in page and "应读年级（9年级）" in page and 'data-form="school"' in page
    # the printed order sends the child back to that school
    import subprocess

    cases.add_step(case, 1, date(2026, 12, 3), person)
    notice = cases.add_step(case, 2, date(2026, 12, 4), person, "歌政限〔2026〕9号")
    pdf = official.get(f"/case/{case.pk}/document/{notice.pk}.pdf").content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert f"送子女到{school.name}复学" in "".join(text.split())
    other = School.objects.filter(township__code=A, status="open").exclude(pk=school.pk).first()
    url = f"/case/{case.pk}/school/"
    official.post(url, {"school": other.pk, "reason": ""})  # a reason is required
    case.refresh_from_db()
    assert case.school == school and not CaseSchoolChange.objects.filter(case=case).exists()
    elsewhere = School.objects.filter(township__code=B).first()  # not a school this login sees
    official.post(url, {"school": elsewhere.pk, "reason": "x"})
    case.refresh_from_db()
    assert case.school == school
    official.post(url, {"school": other.pk, "reason": "随班就读需要，家长申请就近入学"})
    case.refresh_from_db()
    change = CaseSchoolChange.objects.get(case=case)
    assert case.school == other and change.from_school == school and "就近入学" in change.reason
    assert AuditEvent.objects.filter(action="change", object_id=str(case.pk), summary__contains="应返校学校").exists()
    page = official.get(f"/case/{case.pk}/").content.decode()
    assert "data-school-change" in page and "就近入学" in page
    # school staff record visits, but do not move a case to another school; nor may a cadre
    staff = login("school_staff", schools=[other])
    assert staff.post(url, {"school": school.pk, "reason": "x"}).status_code == 403
    assert clerk.post(url, {"school": school.pk, "reason": "x"}).status_code == 404
    case.refresh_from_db()
    assert case.school == other


def test_the_rule_does_not_depend_on_the_roll():
    """A grade-8 child still on a primary school's roll (kept back) is charged to the junior school."""
    child = next(c for c in Child.objects.filter(group__code__startswith=A, status="enrolled",
                                                 school_class__isnull=False).select_related("group")
                 if due_grade(c.birth_date, date(2026, 12, 1)) == 8)
    primary = School.objects.filter(township__code=A, last_grade=6, status="open").first()
    child.school_class = primary.classes.first() or child.school_class
    child.save(update_fields=["school_class"])
    school = cases.due_school(child, date(2026, 12, 1))
    assert school == expected_school(child, date(2026, 12, 1))[1] and school.first_grade <= 8 <= school.last_grade

"""Creating a send-teaching-home plan (一人一案) for a disabled school-age child who has none: from the
violations list and the child's page, the responsible school by default, every field validated
(two teachers at least, one of them a man, of the plan's school; the province's load), audited, and
scoped — the responsible school's staff, the child's township, the county administrator; nobody
else, and nothing written on a refusal."""

from __future__ import annotations

from datetime import date

import pytest

from gridmap.models import (
    AuditEvent,
    Child,
    HomeTeachingPlan,
    Person,
    Responsibility,
    School,
    SchoolClass,
    UserRole,
)
from hometeaching import rules
from tests.test_access import login

TODAY = date.today()


@pytest.fixture
def world(squares):
    town, village, groups = squares["township"], squares["village"], squares["groups"]
    school = School.objects.create(code="9900010021", name="一村小学", kind="full_primary", first_grade=1,
                                   last_grade=6, location="SRID=4326;POINT(119.01 28.01)", township=town)
    other = School.objects.create(code="9900010022", name="镇中心小学", kind="central_primary", first_grade=1,
                                  last_grade=6, location="SRID=4326;POINT(119.15 28.15)", township=town)
    Responsibility.objects.create(role="responsible_school", responsible_school=school, area=village,
                                  start_date=date(2020, 1, 1))
    klass = SchoolClass.objects.create(school=school, school_year=TODAY.year, grade=3, number=1)
    child = Child.objects.create(id_hash="np-1", id_masked="990001********0011", name="送教甲", sex="F",
                                 birth_date=date(TODAY.year - 10, 3, 1), group=groups[0], status="dropped_out",
                                 kg_disabled=True, disability_category="physical", school_class=klass)
    not_disabled = Child.objects.create(id_hash="np-2", id_masked="990001********0022", name="普通乙", sex="M",
                                        birth_date=date(TODAY.year - 10, 3, 1), group=groups[0],
                                        status="dropped_out", school_class=klass)
    male = Person.objects.create(name="王老师", sex="M", school=school)
    female = Person.objects.create(name="李老师", sex="F", school=school)
    female2 = Person.objects.create(name="赵老师", sex="F", school=school)
    stranger = Person.objects.create(name="钱老师", sex="M", school=other)
    return {"school": school, "other": other, "child": child, "not_disabled": not_disabled, "male": male,
            "female": female, "female2": female2, "stranger": stranger, "town": town}


def form(w, **over):
    data = {"school": w["school"].pk, "start_date": TODAY.isoformat(), "place": "home", "disability_level": "2",
            "teachers": [w["male"].pk, w["female"].pk], "visits_per_week": "1", "hours_per_visit": "2",
            "available_from": "08:30", "available_until": "16:00", "guardian_name": "送教甲母",
            "guardian_phone": "13812345678", "plan": "生活自理训练为主", "days": ["1", "3"],
            "content": ["self_care", "language"]}
    data.update(over)
    return data


def test_create_from_the_violations_list_with_every_field(world):
    staff = login(UserRole.SCHOOL_STAFF, schools=[world["school"]])
    page = staff.get(f"/hometeaching/{world['school'].code}/").content.decode()
    url = f"/hometeaching/child/{world['child'].pk}/plan/new/"
    assert url in page  # the "on no plan" row links to the page
    got = staff.get(url)
    assert got.status_code == 200 and got.context["form"].initial["school"] == world["school"].pk
    assert list(got.context["form"].fields["school"].queryset) == [world["school"]]  # staff: their own school only
    before = AuditEvent.objects.count()
    done = staff.post(url, form(world))
    assert done.status_code == 302
    plan = HomeTeachingPlan.objects.get(child=world["child"])
    assert (plan.school, plan.start_date, plan.place, plan.disability_level) == (world["school"], TODAY, "home", "2")
    assert set(plan.teachers.all()) == {world["male"], world["female"]}
    assert (plan.visits_per_week, plan.hours_per_visit) == (1, 2)
    assert (plan.preferred_days, plan.content_areas) == ("1,3", "self_care,language")
    assert (plan.guardian_name, plan.guardian_phone, plan.plan) == ("送教甲母", "13812345678", "生活自理训练为主")
    assert done["Location"] == f"/hometeaching/plan/{plan.pk}/"
    assert AuditEvent.objects.filter(pk__gt=0).count() > before
    assert AuditEvent.objects.filter(action="change", summary__contains="新建").exists()
    # the child is no longer "on no plan", and a second plan is refused
    assert not rules.unplanned(Child.objects.filter(pk=world["child"].pk), TODAY)
    again = staff.post(url, form(world))
    assert again.status_code == 400 and HomeTeachingPlan.objects.filter(child=world["child"]).count() == 1


@pytest.mark.parametrize("over, field", [
    ({"teachers": []}, "teachers"),
    ({"teachers": ["MALE"]}, "teachers"),  # one teacher
    ({"teachers": ["FEMALE", "FEMALE2"]}, "teachers"),  # two, no man
    ({"teachers": ["MALE", "STRANGER"]}, "teachers"),  # not of the plan's school (nor offered)
    ({"visits_per_week": "0"}, "visits_per_week"),
    ({"visits_per_week": "9"}, "visits_per_week"),
    ({"hours_per_visit": "1"}, "hours_per_visit"),  # below the province's 2
    ({"available_from": "16:00", "available_until": "08:00"}, "available_until"),
    ({"end_date": "2000-01-01"}, "end_date"),
    ({"start_date": "1899-01-01"}, "start_date"),
    ({"start_date": "2026-02-30"}, "start_date"),
    ({"guardian_phone": "13x"}, "guardian_phone"),
    ({"plan": "x\x00"}, None),  # a NUL byte: refused before the view (400)
    ({"school": "OTHER"}, "school"),  # staff may not name another school
    ({"days": ["8"]}, "days"),
])
def test_bad_fields_are_refused_and_nothing_is_written(world, over, field):
    people = {"MALE": world["male"].pk, "FEMALE": world["female"].pk, "FEMALE2": world["female2"].pk,
              "STRANGER": world["stranger"].pk, "OTHER": world["other"].pk}
    over = {k: ([people.get(x, x) for x in v] if isinstance(v, list) else people.get(v, v)) for k, v in over.items()}
    staff = login(UserRole.SCHOOL_STAFF, schools=[world["school"]])
    got = staff.post(f"/hometeaching/child/{world['child'].pk}/plan/new/", form(world, **over))
    assert got.status_code == 400 and (field is None or field in got.context["form"].errors)
    assert not HomeTeachingPlan.objects.filter(child=world["child"]).exists()


def test_who_may_create(world):
    url = f"/hometeaching/child/{world['child'].pk}/plan/new/"
    admin = login(UserRole.COUNTY_ADMIN)
    assert admin.get(url).status_code == 200
    township = login(UserRole.TOWNSHIP_OFFICIAL, areas=[world["town"].code])
    got = township.get(url)
    assert got.status_code == 200
    assert set(got.context["form"].fields["school"].queryset) == {world["school"], world["other"]}
    assert township.post(url, form(world)).status_code == 302
    HomeTeachingPlan.objects.filter(child=world["child"]).delete()
    other_school_staff = login(UserRole.SCHOOL_STAFF, schools=[world["other"]])
    other_town = login(UserRole.TOWNSHIP_OFFICIAL, areas=["330783001"])
    village_cadre = login(UserRole.VILLAGE_CADRE, areas=[world["town"].code + "001"])
    for client in (login(UserRole.COUNTY_PLANNER), login(UserRole.INSPECTOR), other_school_staff, other_town,
                   village_cadre):
        assert client.get(url).status_code == 404
        assert client.post(url, form(world)).status_code == 404
    assert not HomeTeachingPlan.objects.filter(child=world["child"]).exists()
    staff = login(UserRole.SCHOOL_STAFF, schools=[world["school"]])
    assert staff.get("/hometeaching/child/999999999/plan/new/").status_code == 404
    assert staff.get(f"/hometeaching/child/{world['not_disabled'].pk}/plan/new/").status_code == 200
    refused = staff.post(f"/hometeaching/child/{world['not_disabled'].pk}/plan/new/", form(world))
    assert refused.status_code == 400 and not HomeTeachingPlan.objects.filter(child=world["not_disabled"]).exists()


def test_link_on_the_childs_page(world):
    staff = login(UserRole.SCHOOL_STAFF, schools=[world["school"]])
    url = f"/hometeaching/child/{world['child'].pk}/plan/new/"
    assert url in staff.get(f"/children/{world['child'].pk}/").content.decode()
    assert "plan/new" not in staff.get(f"/children/{world['not_disabled'].pk}/").content.decode()
    other_school_staff = login(UserRole.SCHOOL_STAFF, schools=[world["other"]])
    assert other_school_staff.get(f"/children/{world['child'].pk}/").status_code == 404
    staff.post(url, form(world))
    assert url not in staff.get(f"/children/{world['child'].pk}/").content.decode()

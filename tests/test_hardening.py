"""Issue 11: the holes an outside probe found, each kept closed by a test here.

Township A is 歌山镇 (330783108), B is 三单乡 (330783201), both in the session's demo county.
"""

from __future__ import annotations

import pytest

from gridmap.models import Area, AuditEvent, Child, Household, Person, Responsibility, School, UserRole
from tests.adminforms import form_data
from tests.test_access import A, B, login

pytestmark = pytest.mark.django_db


def test_staff_village_cadre_cannot_change_the_county_row():
    village = Area.objects.filter(code__startswith=A, level="village").order_by("code").first()
    client = login(UserRole.VILLAGE_CADRE, [village.code], staff=True)
    county = Area.objects.get(code="330783")
    url = f"/admin/gridmap/area/{county.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="_save"' not in page  # shown read-only, for context
    response = client.post(url, {"code": "330783", "name": "改名", "level": "county"})
    assert response.status_code == 403
    assert Area.objects.get(pk=county.pk).name == county.name
    township = Area.objects.get(code=A)  # their own township above them is context too
    assert client.post(f"/admin/gridmap/area/{township.pk}/change/", {"name": "改名"}).status_code == 403
    assert client.post(f"/admin/gridmap/area/{county.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Area.objects.filter(pk=county.pk, name=county.name).exists()
    assert AuditEvent.objects.filter(action="denied", username__startswith="village_cadre").exists()


def test_staff_village_cadre_edits_a_group_of_their_own_village():
    village = Area.objects.filter(code__startswith=A, level="village").order_by("code").first()
    group = Area.objects.filter(parent=village).order_by("code").first()
    client = login(UserRole.VILLAGE_CADRE, [village.code], staff=True)
    url = f"/admin/gridmap/area/{group.pk}/change/"
    response = client.post(url, form_data(client, url, name="第一组（改）"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Area.objects.get(pk=group.pk).name == "第一组（改）"


def test_staff_township_official_cannot_hand_over_in_another_township():
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A], staff=True)
    cadre_b = Responsibility.objects.filter(role="group_cadre", area__code__startswith=B, end_date=None).first()
    mine = Person.objects.filter(responsibilities__area__code__startswith=A).first()
    before = Responsibility.objects.count()
    data = form_data(client, "/admin/gridmap/responsibility/add/", role="group_cadre", person=mine.pk,
                     area=cadre_b.area_id, start_date="2026-11-30")
    response = client.post("/admin/gridmap/responsibility/add/", data)
    assert response.status_code == 200 and "errorlist" in response.content.decode()  # not a valid choice
    assert Responsibility.objects.count() == before
    assert Responsibility.objects.get(pk=cadre_b.pk).end_date is None  # B's cadre not ended
    # B's row itself is not even there to end
    assert client.post(f"/admin/gridmap/responsibility/{cadre_b.pk}/change/",
                       {"end_date": "2026-11-30"}).status_code in (302, 404)
    assert Responsibility.objects.get(pk=cadre_b.pk).end_date is None


def test_staff_township_official_hands_over_in_their_own_township():
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A], staff=True)
    cadre = Responsibility.objects.filter(role="group_cadre", area__code__startswith=A, end_date=None).first()
    other = Person.objects.filter(responsibilities__area__code__startswith=A).exclude(pk=cadre.person_id).first()
    data = form_data(client, "/admin/gridmap/responsibility/add/", role="group_cadre", person=other.pk,
                     area=cadre.area_id, start_date="2026-11-30")
    response = client.post("/admin/gridmap/responsibility/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Responsibility.objects.get(pk=cadre.pk).end_date is not None
    assert Responsibility.objects.filter(area=cadre.area, person=other, end_date=None).exists()


def test_staff_township_official_cannot_create_a_child_in_another_township():
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A], staff=True)
    group_b = Area.objects.filter(code__startswith=B, level="group").first()
    household_b = Household.objects.filter(group__code__startswith=B).first()
    before = Child.objects.count()
    data = form_data(client, "/admin/gridmap/child/add/", name="越权儿童", sex="M", birth_date="2015-03-01",
                     group=group_b.pk, household=household_b.pk, status="enrolled")
    response = client.post("/admin/gridmap/child/add/", data)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert Child.objects.count() == before


def test_person_admin_is_scoped():
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A], staff=True)
    only_b = Person.objects.filter(school__township__code=B).exclude(
        responsibilities__area__code__startswith=A).first()
    mine = Person.objects.filter(school__township__code=A).first()
    listing = client.get("/admin/gridmap/person/?q=").content.decode()
    count = client.get("/admin/gridmap/person/").context["cl"].result_count
    assert count < Person.objects.count()
    assert client.get(f"/admin/gridmap/person/{only_b.pk}/change/").status_code in (302, 404)
    assert client.get(f"/admin/gridmap/person/{mine.pk}/change/").status_code == 200
    assert only_b.phone not in listing or Person.objects.filter(phone=only_b.phone).count() > 1


def test_staff_township_official_cannot_delete_another_townships_rows():
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A], staff=True)
    school_b = School.objects.filter(township__code=B).first()
    school_a = School.objects.filter(township__code=A).first()
    response = client.post("/admin/gridmap/school/", {"action": "delete_selected", "post": "yes",
                                                      "_selected_action": [school_a.pk, school_b.pk]})
    assert response.status_code in (200, 302, 403)
    assert School.objects.filter(pk=school_b.pk).exists()

"""The county administrator's logins page: create a scoped login that then works (and sees only its
scope), disable it, reset its password, see when it was last used; nobody else may."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from gridmap.models import Area, AuditEvent, Profile, School, UserRole
from tests.test_access import A, B, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def county_admin():
    """A county administrator by role and scope (not a Django superuser)."""
    user = get_user_model().objects.create_user("县教育局管理员", password="pw-long-enough-1")
    Profile.objects.create(user=user, role=UserRole.COUNTY_ADMIN)
    client = Client()
    client.force_login(user)
    return client


def messages_of(response):
    body = response.content.decode()
    return [m.split(">", 1)[1].split("<", 1)[0] for m in body.split('role="status"')[1:]]


def test_a_county_administrator_creates_a_scoped_login_that_works(county_admin):
    township = Area.objects.get(code=A)
    response = county_admin.post("/logins/new/", {"username": "gs-wang", "name": "王晓", "role": "township_official",
                                                  "areas": [township.pk]}, follow=True)
    user = get_user_model().objects.get(username="gs-wang")
    shown = next(m for m in messages_of(response) if "只显示这一次" in m)
    password = shown.rsplit("：", 1)[1].strip()
    assert len(password) == 12 and not user.check_password("") and user.check_password(password)
    assert user.gridmap_profile.role == "township_official" and list(user.gridmap_profile.areas.all()) == [township]
    assert AuditEvent.objects.filter(action="change", object_id=str(user.pk), summary__contains="新建登录").exists()
    # the new login works and sees its township only
    official = Client()
    assert official.login(username="gs-wang", password=password)
    assert official.get("/")["Location"] == f"/grid/{A}/"
    assert official.get(f"/grid/{B}/").status_code == 404
    listed = county_admin.get("/logins/?q=gs-wang").content.decode()
    assert "gs-wang" in listed and "王晓" in listed and "歌山镇" in listed and "从未登录" not in listed


def test_scopes_must_fit_the_role(county_admin):
    village = Area.objects.filter(code__startswith=A, level="village").first()
    for data in ({"role": "township_official", "areas": [village.pk]},  # a village for a township official
                 {"role": "village_cadre", "areas": [Area.objects.get(code=A).pk]},  # a township for a cadre
                 {"role": "school_staff"},  # no school
                 {"role": "township_official", "areas": [999999999]},  # no such area
                 {"role": "superuser"}):  # no such role
        before = get_user_model().objects.count()
        response = county_admin.post("/logins/new/", {"username": "x-test", **data})
        assert response.status_code == 200 and get_user_model().objects.count() == before, data
    school = School.objects.filter(township__code=A).first()
    county_admin.post("/logins/new/", {"username": "staff-1", "role": "school_staff", "schools": [school.pk],
                                       "areas": [village.pk]})
    profile = Profile.objects.get(user__username="staff-1")
    assert list(profile.schools.all()) == [school] and not profile.areas.exists()  # a school's scope is its school
    assert county_admin.post("/logins/new/", {"username": "staff-1", "role": "inspector"}).status_code == 200
    assert get_user_model().objects.filter(username__iexact="STAFF-1").count() == 1
    before = get_user_model().objects.count()
    assert county_admin.post("/logins/new/", {"username": "bad\x00name", "role": "inspector"}).status_code in (200, 400)
    assert get_user_model().objects.count() == before
    assert county_admin.get("/logins/?q=a\x00b").status_code in (200, 400)
    assert county_admin.get("/logins/?role=nonsense&active=7&page=xyz").status_code == 200


def test_disable_reset_and_change_a_login(county_admin):
    user = get_user_model().objects.create_user("cadre-li", password="old-password-long-1")
    Profile.objects.create(user=user, role=UserRole.VILLAGE_CADRE).areas.set(
        Area.objects.filter(code__startswith=A, level="village")[:1])
    session = Client()
    assert session.login(username="cadre-li", password="old-password-long-1")
    assert session.get("/").status_code == 302
    user.refresh_from_db()
    assert user.last_login is not None
    page = county_admin.get(f"/logins/{user.pk}/").content.decode()
    assert f'{user.last_login.astimezone().strftime("%Y-%m-%d")}' in page and "data-last-login" in page
    # reset: the old password and the open session stop working, the new one works
    response = county_admin.post(f"/logins/{user.pk}/password/", follow=True)
    password = next(m for m in messages_of(response) if "新密码" in m).rsplit("：", 1)[1].strip()
    assert not Client().login(username="cadre-li", password="old-password-long-1")
    assert session.get("/")["Location"].startswith("/login/")
    assert Client().login(username="cadre-li", password=password)
    # disable: no login any more; enable again
    county_admin.post(f"/logins/{user.pk}/active/", {"active": "0"})
    assert not Client().login(username="cadre-li", password=password)
    county_admin.post(f"/logins/{user.pk}/active/", {"active": "1"})
    assert Client().login(username="cadre-li", password=password)
    # change role and scope
    county_admin.post(f"/logins/{user.pk}/", {"name": "李四", "role": "township_official",
                                              "areas": [Area.objects.get(code=B).pk]})
    user.refresh_from_db()
    assert user.first_name == "李四" and list(user.gridmap_profile.areas.values_list("code", flat=True)) == [B]
    assert AuditEvent.objects.filter(object_id=str(user.pk), action="change").count() == 4


def test_only_county_administrators_manage_logins(county_admin):
    target = get_user_model().objects.create_user("someone", password="pw-long-enough-1")
    for client in (login(UserRole.TOWNSHIP_OFFICIAL, [A]), login(UserRole.COUNTY_PLANNER), login(UserRole.INSPECTOR),
                   login(UserRole.SCHOOL_STAFF, schools=[School.objects.first()]), login(None)):
        for url in ("/logins/", "/logins/new/", f"/logins/{target.pk}/"):
            assert client.get(url).status_code == 403, url
        assert client.post(f"/logins/{target.pk}/password/").status_code == 403
        assert client.post(f"/logins/{target.pk}/active/", {"active": "0"}).status_code == 403
    assert Client().get("/logins/").status_code == 302  # to the login page
    target.refresh_from_db()
    assert target.is_active and target.check_password("pw-long-enough-1")
    # a county administrator may not change a superuser, nor disable itself
    root = get_user_model().objects.create_superuser("root", "", "pw-long-enough-1")
    assert county_admin.get(f"/logins/{root.pk}/").status_code == 200
    assert county_admin.post(f"/logins/{root.pk}/password/").status_code == 403
    assert county_admin.post(f"/logins/{root.pk}/active/", {"active": "0"}).status_code == 403
    me = get_user_model().objects.get(username="县教育局管理员")
    county_admin.post(f"/logins/{me.pk}/active/", {"active": "0"})
    me.refresh_from_db()
    assert me.is_active
    assert county_admin.get("/logins/999999999/").status_code == 404
    assert "登录管理" in county_admin.get("/dashboard/").content.decode()  # in the work menu

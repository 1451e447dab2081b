"""The safety-net pages (issue 18) as their users get them: in Chinese, never a 500 whatever the query
string, the menu entry, the overview's counts suppressed for planners, school staff held to their school."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from gridmap.models import Child, School, Transfer, UserRole
from tests.test_access import A, B, login
from tests.test_chinese import english
from tests.test_fuzz_params import fuzz_page

pytestmark = pytest.mark.django_db


def named(role, name, **scope):
    """A login under a Chinese name (the page shows it in the menu bar)."""
    client = login(role, **scope)
    get_user_model().objects.filter(pk=int(client.session["_auth_user_id"])).update(username=name)
    return client


def urls(school, child):
    return [f"/safetynet/{A}/", f"/safetynet/aid/{A}/", f"/safetynet/transfers/{A}/", f"/safetynet/termcheck/{A}/",
            f"/safetynet/termcheck/{school.code}/", f"/safetynet/risk/{A}/", f"/safetynet/{school.code}/",
            f"/safetynet/aid/{school.code}/", f"/safetynet/risk/{school.code}/",
            f"/safetynet/transfers/child/{child.pk}/new/"]


def test_every_page_is_in_chinese_for_the_township_and_the_county():
    school = School.objects.filter(township__code=A, kind="central_primary").first()
    child = Child.objects.filter(group__code__startswith=A, status="enrolled", school_class__isnull=False).first()
    official = named(UserRole.TOWNSHIP_OFFICIAL, "歌山镇干部", areas=[A])
    chief = named(UserRole.COUNTY_ADMIN, "县管理员", superuser=True)
    found = {}
    for client, pages in ((official, urls(school, child)),
                          (chief, ["/safetynet/330783/", "/safetynet/aid/330783/", "/safetynet/termcheck/330783/",
                                   "/safetynet/transfers/330783/", "/dashboard/", f"/reports/{A}/",
                                   "/admin/gridmap/aidrecord/", "/admin/gridmap/transfer/",
                                   "/admin/safetynet/termcheck/", "/admin/safetynet/termreport/",
                                   f"/admin/gridmap/transfer/{Transfer.objects.first().pk}/change/"]),
                          (named(UserRole.COUNTY_PLANNER, "县规划员"), [f"/safetynet/aid/{A}/", "/safetynet/aid/330783/",
                                                            "/safetynet/330783/"])):
        for url in pages:
            response = client.get(url, HTTP_ACCEPT="text/html")
            assert response.status_code == 200, (url, response.status_code)
            words = english(response.content.decode())
            if words:
                found[url] = words
    assert not found, found
    menu = official.get(f"/grid/{A}/").content.decode()
    assert f'href="/safetynet/{A}/"' in menu and "重点人群保障" in menu


def test_no_query_string_gives_a_500():
    school = School.objects.filter(township__code=A).first()
    child = Child.objects.filter(group__code__startswith=A).first()
    client = login(UserRole.TOWNSHIP_OFFICIAL, areas=[A])
    client.raise_request_exception = False
    for url in urls(school, child):
        fuzz_page(client, url, ["term", "format", "page", "month"])
    for code in ("330783108%00", "0" * 15, "99999999999", "330783108001001", "330783108001"[:11]):
        assert client.get(f"/safetynet/aid/{code}/").status_code in (400, 404), code


def test_school_staff_see_their_school_only():
    own = School.objects.filter(township__code=A, kind="central_primary").first()
    other = School.objects.filter(township__code=A).exclude(pk=own.pk).first()
    far = School.objects.filter(township__code=B).first()
    staff = login(UserRole.SCHOOL_STAFF, schools=[own])
    assert staff.get(f"/safetynet/{own.code}/").status_code == 200
    for url in (f"/safetynet/{A}/", f"/safetynet/aid/{other.code}/", f"/safetynet/risk/{far.code}/",
                f"/safetynet/aid/{A}/"):
        assert staff.get(url).status_code == 404, url
    page = staff.get(f"/safetynet/aid/{own.code}/").content.decode()
    assert "gm-aid-gaps" in page  # its own pupils, by name


def test_the_overview_counts_for_planners_are_protected_and_others_see_nothing():
    from django.utils import timezone

    from gridmap import published as protected
    from gridmap.models import Area

    planner = login(UserRole.COUNTY_PLANNER)
    page = planner.get("/safetynet/330783/").content.decode()
    decision = protected.figures_for(Area.objects.get(code="330783"), f"{timezone.localdate():%Y-%m}")
    for key in ("open", "late"):
        shown = page.split(f'data-kpi="{key}">')[1].split("</span>")[0]
        assert shown.replace("&lt;", "<") == str(decision.get("330783", f"transfers_{key}"))
    assert Client().get(f"/safetynet/{A}/").status_code == 302  # to the login page
    nobody = get_user_model().objects.create_user("no-profile", password="pw-long-enough-1")
    client = Client()
    client.force_login(nobody)
    assert client.get(f"/safetynet/{A}/").status_code == 404


def test_the_commands_write_their_workbooks(tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from openpyxl import load_workbook

    out = StringIO()
    call_command("aid_check", area=A, out=str(tmp_path / "aid.xlsx"), stdout=out)
    assert "应助未助" in out.getvalue()
    sheet = load_workbook(tmp_path / "aid.xlsx").active
    assert sheet["A1"].value.endswith("应助尽助核查") and [c.value for c in sheet[2]][:3] == ["行政村", "村民小组", "姓名"]
    call_command("risk_list", area=A, out=str(tmp_path / "risk.xlsx"), stdout=out)
    rows = list(load_workbook(tmp_path / "risk.xlsx").active.iter_rows(min_row=3, values_only=True))
    scores = [r[1] for r in rows if isinstance(r[0], int)]
    assert scores and scores == sorted(scores, reverse=True)
    call_command("settle_transfers", stdout=out)
    assert "流转未到" in out.getvalue()


def test_the_child_page_offers_the_transfer_form():
    child = Child.objects.filter(group__code__startswith=A, status="enrolled").first()
    page = login(UserRole.TOWNSHIP_OFFICIAL, areas=[A]).get(f"/children/{child.pk}/").content.decode()
    assert f"/safetynet/transfers/child/{child.pk}/new/" in page


def test_aggregate_only_logins_get_no_term_check_counts_and_no_link_that_404s():
    """The term-start check lists absent pupils per school in 1s and 2s: planners and inspectors get a 404
    there (as on the transfer and early-warning lists), and no page of theirs links to what they cannot
    open — the tabs, the overview, the dashboard and the report link only to pages that answer them."""
    import re

    school = School.objects.filter(township__code=A).first()
    for role in (UserRole.COUNTY_PLANNER, UserRole.INSPECTOR):
        client = login(role)
        for url in ("/safetynet/termcheck/330783/", f"/safetynet/termcheck/{A}/",
                    f"/safetynet/termcheck/{school.code}/"):
            assert client.get(url).status_code == 404, (role, url)
        for page in ("/safetynet/330783/", f"/safetynet/{A}/", "/safetynet/aid/330783/", "/dashboard/",
                     "/reports/330783/", f"/reports/{A}/"):
            response = client.get(page)
            assert response.status_code == 200, (role, page)
            links = set(re.findall(r'href="(/safetynet/[^"?#]*)', response.content.decode()))
            assert links, (role, page)
            for link in links:
                assert client.get(link).status_code == 200, (role, page, link)
    official = login(UserRole.TOWNSHIP_OFFICIAL, areas=[A])
    assert official.get(f"/safetynet/termcheck/{A}/").status_code == 200
    assert f'href="/safetynet/termcheck/{A}/"' in official.get(f"/safetynet/{A}/").content.decode()

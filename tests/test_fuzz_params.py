"""Bounded fuzzing of the query parameters of every page and API list: whatever a user or an
attacker puts in the address — NUL bytes, nan, year 0, absurd numbers, other townships' codes,
unknown names — the answer is a page, a 400, 403 or 404, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridmap.models import Area, Child, UserRole
from tests.test_access import A, B, login

pytestmark = pytest.mark.django_db

NASTY = ["", "\x00", "%00", "nan", "inf", "-inf", "-1", "0", "1e308", "99999999999999999999999", "0001-01-01",
         "0000-01", "0001-01", "2026-13", "2026-00", "abc", "' OR 1=1 --", "<script>", "../../etc/passwd",
         "330783201", "330783", "nan,nan,nan,nan", "1,2,3", "200,100,-200,-100", "120,29,121,30", "中文", "🙂",
         "1" * 5000, "true", "[]", "{}"]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=40), st.integers(-10**12, 10**12).map(str))


def pages():
    village = Area.objects.filter(code__startswith=A, level="village").order_by("code").first()
    cell = Area.objects.filter(parent=village).order_by("code").first()
    child = Child.objects.filter(group__code__startswith=A).order_by("pk").first()
    return [
        (f"/grid/{village.code}/", ["cell", "indicator", "root"]),
        (f"/grid/cell/{cell.code}/", ["root"]),
        (f"/grid/{village.code}/cells.csv", ["x"]),
        (f"/ledgers/{village.code}/suspected/", ["on", "status", "key_group", "grade", "age", "school", "page", "format"]),
        (f"/cases/{A}/", ["show", "page"]),
        (f"/discrepancies/{A}/", ["page"]),
        (f"/reports/{A}/", ["month", "format"]),
        ("/reports/330783/", ["month", "format"]),
        ("/dashboard/", ["month"]),
        (f"/atlas/{A}/", ["job"]),
        (f"/children/{child.pk}/", ["x"]),
        ("/api/v1/areas/", ["level", "in_bbox", "q", "page", "page_size"]),
        ("/api/v1/schools/", ["in_bbox", "q", "page", "page_size"]),
        ("/api/v1/cells/", ["in_bbox", "q", "page", "page_size"]),
        ("/api/v1/children/", ["q", "page", "page_size"]),
        ("/admin/gridmap/child/", ["q", "status__exact", "o", "p", "e", "sex__exact"]),
        ("/admin/gridmap/area/", ["q", "level__exact", "o", "p"]),
        ("/admin/gridmap/auditevent/", ["q", "action__exact", "at__gte", "at__year", "p"]),
        ("/admin/import/", ["x"]),
        ("/login/", ["next"]),
    ]


@pytest.fixture(scope="module")
def targets(django_db_blocker):
    with django_db_blocker.unblock():
        return pages()


@pytest.mark.parametrize("role", [UserRole.COUNTY_ADMIN, UserRole.COUNTY_PLANNER])
def test_no_query_string_gives_a_500(role, targets):
    client = login(role, superuser=role == UserRole.COUNTY_ADMIN)
    client.raise_request_exception = False
    for url, names in targets:
        fuzz_page(client, url, names)


def fuzz_page(client, url, names):
    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.lists(st.tuples(st.sampled_from([*names, "x"]), VALUES), min_size=1, max_size=3))
    def fuzz(pairs):
        response = client.get(url, dict(pairs))
        assert response.status_code < 500, (url, pairs, response.status_code)

    fuzz()


def test_the_probes_named_in_the_issue(targets):
    admin = login(UserRole.COUNTY_ADMIN, superuser=True)
    admin.raise_request_exception = False
    anonymous = Client(raise_request_exception=False)
    assert anonymous.post("/login/", {"username": "a\x00", "password": "x"}).status_code == 400
    for url in ("/api/v1/cells/?in_bbox=nan,nan,nan,nan", "/api/v1/areas/?level=%00", "/api/v1/areas/?level=x",
                f"/ledgers/{A}/school_age/?on=0001-01-01", f"/reports/{A}/?month=0000-01", f"/reports/{A}/?month=0001-01",
                "/dashboard/?month=0001-01", f"/reports/{A}/?month=2026-13", f"/reports/{A}/?month=abc",
                "/admin/gridmap/child/?status__exact=%00"):
        response = admin.get(url)
        assert response.status_code == 400, (url, response.status_code)
    body = admin.get(f"/reports/{A}/?month=2026-13").content.decode()
    assert "2026-13" in body and "YYYY-MM" in body  # says the month is invalid, in so many words
    assert admin.get(f"/reports/{B}/?month=2026-11").status_code == 200

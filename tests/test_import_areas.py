"""Importing boundaries: real files round-trip; every bad input is refused with a clear message and
leaves the database exactly as it was."""

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db import connection
from pyproj import Geod
from shapely.geometry import Polygon, box

from gridmap.models import Area
from importers.areas import AreaImportParams, import_areas, normalize_code
from importers.coords import geometry_to_wgs84
from importers.demo.sources import DONGYANG_DIR
from importers.readers import VectorOptions

REAL = Path(__file__).resolve().parent / "data" / "real"  # + DONGYANG_DIR for 东阳
GEOD = Geod(ellps="WGS84")
pytestmark = pytest.mark.django_db


def area_table_digest():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), md5(coalesce(string_agg(code || name || parent_id::text "
                       "|| md5(ST_AsEWKB(geom)), ',' ORDER BY code), '')) FROM gridmap_area")
        return cursor.fetchone()


def run(path, level, **kw):
    vector = VectorOptions(**{k: kw.pop(k) for k in ("encoding", "srid", "coords") if k in kw})
    return import_areas(AreaImportParams(path=Path(path), level=level, vector=vector, **kw))


def geodesic(geom):
    return abs(GEOD.geometry_area_perimeter(geom)[0])


@pytest.mark.parametrize(("raw", "level", "code"), [
    ("330783005000", "township", "330783005"), ("156330783", "county", "330783"),
    (330783.0, "county", "330783"), ("330783005", "village", None), ("33A783", "county", None),
])
def test_normalize_code(raw, level, code):
    assert normalize_code(raw, level) == code


def test_dongyang_real_files_round_trip_unchanged():
    """The demo already holds these real layers: importing them again changes nothing."""
    before = area_table_digest()
    county = run(DONGYANG_DIR / "county_boundary.geojson", "county", name_field="name",
                 commit=True)
    towns = run(DONGYANG_DIR / "townships.geojson", "township", commit=True)
    assert county.ok and towns.ok
    assert towns.counts["无变化"] == 18 and towns.counts["新增"] == 0
    assert area_table_digest() == before
    # The two real layers disagree at the edges (PROVENANCE.md: ~27 km² symmetric difference);
    # the report says so in square metres, with a place.
    texts = [p.message for p in towns.warnings]
    assert any("未被任何乡镇覆盖" in t and "平方米" in t for t in texts)
    assert sum("超出上级" in t for t in texts) >= 10


def test_messy_anhui_shapefile_round_trip():
    """UTF-8 without .cpg, no .prj, GCJ-02: 105 counties; areas and centroids as geopandas finds."""
    shp = REAL / "messy_formats" / "anhui_districts_utf8_nocpg_noprj_gcj02.shp"
    report = run(shp, "county", code_field="adcode", coords="gcj02", commit=True)
    assert report.ok, report.text()
    assert report.counts["新增"] == 105
    warnings = " ".join(p.message for p in report.warnings)
    assert "UTF-8" in warnings and "未声明坐标系" in warnings and "GCJ02" in warnings
    source = gpd.read_file(shp, encoding="utf-8")
    expected = geometry_to_wgs84(source.geometry.to_numpy(), "gcj02")
    loaded = {a.code: a for a in Area.objects.filter(code__in=list(source.adcode.astype(str)))}
    assert len(loaded) == 105
    for adcode, name, geom, gcj in zip(source.adcode, source["name"], expected, source.geometry, strict=True):
        area = loaded[str(adcode)]
        assert area.name == name  # Chinese names decoded, not mojibake
        mine = shapely.from_wkb(bytes(area.geom.wkb))
        assert geodesic(mine) == pytest.approx(geodesic(geom), rel=1e-9)
        assert shapely.distance(mine.centroid, geom.centroid) < 1e-9
        # the GCJ-02 offset removed: 420-510 m around Anhui (PROVENANCE.md), centroid moved that much
        c1, c2 = mine.centroid, gcj.centroid
        assert 300 < GEOD.inv(c1.x, c1.y, c2.x, c2.y)[2] < 700
    again = run(shp, "county", code_field="adcode", coords="gcj02", commit=True)
    assert again.counts["无变化"] == 105 and again.counts["新增"] == 0


def test_huaiyuan_fence_gcj02(tmp_path):
    report = run(REAL / "huaiyuan_340321" / "county_fence_amap_gcj02.geojson", "county",
                 code_field="adcode", coords="gcj02", commit=True)
    assert report.ok, report.text()
    area = Area.objects.get(code="340321")
    assert area.name == "怀远县"
    km2 = geodesic(shapely.from_wkb(bytes(area.geom.wkb))) / 1e6
    assert km2 == pytest.approx(2215, rel=0.01)  # PROVENANCE.md: about 2,215 km²


# --- bad inputs: each refused with its message, the database untouched -------------------------

def write(tmp_path, rows, name="bad.shp", project_to=None, encoding="UTF-8", **kw):
    frame = gpd.GeoDataFrame(rows, crs=4326)
    if project_to:
        frame = frame.to_crs(project_to)
    path = tmp_path / name
    frame.to_file(path, encoding=encoding, engine="pyogrio", **kw)
    return path


def township_in_dongyang(code="330783999", name="新镇", geom=None):
    return {"代码": code, "名称": name,
            "geometry": box(120.30, 29.20, 120.31, 29.21) if geom is None else geom}


def assert_refused(report, *needles):
    assert not report.ok
    text = report.text()
    for needle in needles:
        assert needle in text, text


@pytest.fixture
def unchanged():
    before = area_table_digest()
    yield
    assert area_table_digest() == before


def test_projected_coordinates_without_prj(tmp_path, unchanged):
    path = write(tmp_path, [township_in_dongyang()], project_to=4549)
    path.with_suffix(".prj").unlink()
    assert_refused(run(path, "township", commit=True), "缺少 .prj", "--srid")


def test_projected_coordinates_with_srid_are_accepted_when_told(tmp_path):
    path = write(tmp_path, [township_in_dongyang()], project_to=4549)
    path.with_suffix(".prj").unlink()
    report = run(path, "township", srid=4549)
    assert report.ok, report.text()
    assert report.counts["将新增"] == 1


def test_wrong_crs_declared(tmp_path, unchanged):
    path = write(tmp_path, [township_in_dongyang()])
    path.with_suffix(".prj").write_text(
        gpd.GeoSeries([], crs=3857).crs.to_wkt(version="WKT1_ESRI"))  # degrees declared as metres
    assert_refused(run(path, "township", commit=True), "坐标值是经纬度")


def test_swapped_lon_lat(tmp_path, unchanged):
    swapped = shapely.ops.transform(lambda x, y: (y, x), box(120.30, 29.20, 120.31, 29.21))
    path = write(tmp_path, [township_in_dongyang(geom=swapped)])
    assert_refused(run(path, "township", commit=True), "经纬度疑似颠倒")


def test_gbk_without_cpg_is_detected(tmp_path):
    path = write(tmp_path, [township_in_dongyang(name="歌山新镇")], encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    report = run(path, "township")
    assert report.ok, report.text()
    assert "GBK" in report.text()
    assert report.counts["将新增"] == 1
    gbk_read = run(path, "township", commit=True)
    assert Area.objects.get(code="330783999").name == "歌山新镇", gbk_read.text()


def test_empty_and_invalid_geometries(tmp_path, unchanged):
    bowtie = Polygon([(120.30, 29.20), (120.31, 29.21), (120.31, 29.20), (120.30, 29.21)])
    path = write(tmp_path, [township_in_dongyang(geom=bowtie),
                            township_in_dongyang(code="330783998", geom=Polygon())])
    report = run(path, "township", commit=True)
    assert_refused(report, "第1行", "几何无效", "--fix-invalid", "第2行", "几何为空")


def test_invalid_geometry_repaired_only_when_asked(tmp_path):
    bowtie = Polygon([(120.30, 29.20), (120.31, 29.21), (120.31, 29.20), (120.30, 29.21)])
    path = write(tmp_path, [township_in_dongyang(geom=bowtie)])
    report = run(path, "township", fix_invalid=True, commit=True)
    assert report.ok, report.text()
    assert "已自动修复" in report.text()
    assert Area.objects.get(code="330783999").geom.valid


def test_duplicate_codes(tmp_path, unchanged):
    path = write(tmp_path, [township_in_dongyang(), township_in_dongyang(name="重名镇")])
    assert_refused(run(path, "township", commit=True), "第2行", "代码重复（与第1行相同）")


def test_village_outside_every_township(tmp_path, unchanged):
    path = write(tmp_path, [{"代码": "330783999001", "名称": "飞地村",
                             "geometry": box(100.0, 30.0, 100.01, 30.01)}])
    assert_refused(run(path, "village", commit=True), "不在任何已导入的乡镇范围内")


def test_code_that_does_not_match_its_parent(tmp_path, unchanged):
    path = write(tmp_path, [{"代码": "330783005901", "名称": "错码村",
                             "geometry": box(120.62, 29.29, 120.63, 29.30)}])  # lies in 三单乡
    assert_refused(run(path, "village", commit=True), "代码与所在上级「三单乡」")


def test_file_that_is_not_what_its_extension_says(tmp_path, unchanged):
    fake = tmp_path / "boundaries.shp"
    fake.write_text("乡镇,代码\n歌山镇,330783108\n", encoding="utf-8")
    assert_refused(run(fake, "township", commit=True), "与扩展名不符")
    fake_zip = tmp_path / "boundaries.zip"
    fake_zip.write_bytes(b"PK\x03\x04 but not really a zip")
    assert_refused(run(fake_zip, "township", commit=True), "压缩包已损坏")


def test_zero_byte_file(tmp_path, unchanged):
    empty = tmp_path / "townships.geojson"
    empty.touch()
    assert_refused(run(empty, "township", commit=True), "文件为空（0字节）")


def test_huge_attribute_value(tmp_path, unchanged):
    path = tmp_path / "huge.geojson"
    gpd.GeoDataFrame([township_in_dongyang(name="镇" * 20_000)], crs=4326).to_file(path)
    assert_refused(run(path, "township", commit=True), "名称过长（20000字）")


def test_zipped_shapefile_and_missing_sidecar(tmp_path, unchanged):
    path = write(tmp_path, [township_in_dongyang()])
    bundle = tmp_path / "townships.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        for sidecar in path.parent.glob("bad.*"):
            z.write(sidecar, sidecar.name)
    report = run(bundle, "township")
    assert report.ok and report.counts["将新增"] == 1, report.text()
    path.with_suffix(".dbf").unlink()
    assert_refused(run(path, "township", commit=True), "缺少配套的 .dbf")


def test_command_validates_without_commit_and_exits_nonzero_on_errors(tmp_path, capsys):
    good = write(tmp_path, [township_in_dongyang()], name="good.shp")
    call_command("import_areas", str(good), level="township")
    assert not Area.objects.filter(code="330783999").exists()  # nothing without --commit
    assert "未写入" in capsys.readouterr().out
    call_command("import_areas", str(good), level="township", commit=True)
    assert Area.objects.filter(code="330783999").exists()
    bad = write(tmp_path, [township_in_dongyang(), township_in_dongyang()], name="dup.shp")
    sheet = tmp_path / "errors.xlsx"
    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command("import_areas", str(bad), level="township", commit=True, errors_xlsx=sheet)
    from openpyxl import load_workbook
    rows = list(load_workbook(sheet).active.iter_rows(values_only=True))
    assert rows[0] == ("级别", "文件", "行/要素", "字段", "值", "问题", "处理办法")
    assert any(r[2] == 2 and "代码重复" in r[5] for r in rows[1:])


def test_kml(tmp_path):
    path = tmp_path / "townships.kml"
    gpd.GeoDataFrame([{"Name": "新镇", "代码": "330783999", "geometry": box(120.30, 29.20, 120.31, 29.21)}],
                     crs=4326).to_file(path, driver="KML", engine="pyogrio")
    report = run(path, "township", commit=True)
    assert report.ok, report.text()
    assert Area.objects.get(code="330783999").name == "新镇"


def test_dongyang_amap_fence_lands_on_the_tianditu_boundary():
    """Real data check of the GCJ-02 removal: Amap's county fence, converted, sits on the Tianditu
    boundary (PROVENANCE.md: 511 m apart before conversion)."""
    tianditu = gpd.read_file(DONGYANG_DIR / "county_boundary.geojson").geometry.iloc[0]
    fence = DONGYANG_DIR / "county_fence_amap_gcj02.geojson"
    raw = gpd.read_file(fence).geometry.iloc[0]
    report = run(fence, "county", code_field="adcode", coords="gcj02", commit=True)
    assert report.ok, report.text()
    converted = shapely.from_wkb(bytes(Area.objects.get(code="330783").geom.wkb))

    def apart_m(a, b):
        return GEOD.inv(a.centroid.x, a.centroid.y, b.centroid.x, b.centroid.y)[2]

    assert 450 < apart_m(raw, tianditu) < 600  # the offset as delivered
    assert apart_m(converted, tianditu) < 60  # removed: what is left is the two layers' own difference
    assert geodesic(converted) == pytest.approx(geodesic(tianditu), rel=0.02)


def test_geopackage(tmp_path):
    path = tmp_path / "townships.gpkg"
    gpd.GeoDataFrame([township_in_dongyang(name="包镇")], crs=4326).to_file(path, engine="pyogrio")
    report = run(path, "township", commit=True)
    assert report.ok, report.text()
    assert Area.objects.get(code="330783999").name == "包镇"

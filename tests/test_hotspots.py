"""Dropout hotspots (issue 14), checked against independently computed values:

- the statistics on a constructed 40×40 grid: a planted cluster comes out hot at 95 % after FDR (and
  nothing far from it does); a field of pure noise of the same size passes nothing after the
  correction against dozens without it; both equal esda called directly (libpysal's own queen
  lattice, esda.smoothing, esda.G_Local, esda.fdr);
- the whole path on a constructed county in the database (990014): counts equal SQL written here
  from the definitions and the monthly report for a past month, neighbours equal PostGIS's, and the
  classes equal esda called directly on them;
- the demo county: a past month's counts per village equal the monthly report's;
- scoping (another township's code → 404, nothing written), aggregate-only logins (no points, no
  value 1-4, no z or p), bad parameters (400, never 500), ETag, audit, the command and the timeline.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from datetime import date
from io import StringIO
from typing import Any

import esda
import libpysal
import numpy as np
import pytest
import shapely
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management import call_command
from django.db import connection
from django.test import Client
from esda.smoothing import Empirical_Bayes
from openpyxl import load_workbook

from gridmap import reports
from gridmap.models import Area, AreaLevel, AuditEvent, Child, ChildStatusChange, Profile, UserRole
from hotspots import data, stats

pytestmark = pytest.mark.django_db
SIDE = 40
BLOCK = np.array([y * SIDE + x for y in range(18, 22) for x in range(18, 22)])  # 4×4 in the middle


# --- the statistics on a constructed grid ------------------------------------------------------------

def lattice_field(planted: bool, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Children and off-school counts per cell: spatially independent rates (gamma, mean 5 %), and for
    a planted cluster a 4×4 block of 30 children with 15 off school each."""
    rng = np.random.default_rng(seed)
    population = rng.integers(10, 40, size=SIDE * SIDE)
    events = rng.binomial(population, np.minimum(rng.gamma(2.0, 0.025, size=SIDE * SIDE), 1))
    if planted:
        population[BLOCK], events[BLOCK] = 30, 15
    return events, population


def squares() -> list[shapely.Polygon]:
    """500 m squares, row by row (the order of libpysal.weights.lat2W)."""
    return [shapely.box(x * 500, y * 500, (x + 1) * 500, (y + 1) * 500) for y in range(SIDE) for x in range(SIDE)]


def esda_directly(y: np.ndarray, w: libpysal.weights.W, tested: np.ndarray | None = None):
    """Gi* classes as esda gives them, with the two-sided p and the BH cut-off per level."""
    with warnings.catch_warnings():  # esda's notice that its default alternative will change
        warnings.simplefilter("ignore", DeprecationWarning)
        g = esda.G_Local(y, w, transform="B", star=True, permutations=9999, seed=stats.SEED, n_jobs=1,
                         keep_simulations=False)
    p = np.minimum(1, 2 * g.p_sim)
    tested = np.ones(len(y), bool) if tested is None else tested
    level = np.zeros(len(y), int)
    for rank, alpha in ((1, 0.10), (2, 0.05), (3, 0.01)):
        sig = tested & (p <= esda.fdr(p[tested], alpha))
        level[sig] = rank * np.sign(g.Zs[sig]).astype(int)
    return g, p, level


def test_planted_cluster_is_hot_at_95_after_fdr_and_equals_esda():
    events, population = lattice_field(planted=True)
    y = 100 * stats.smoothed_rates(events, population, np.zeros(SIDE * SIDE))
    w = stats.contiguity(squares())
    clusters = stats.getis_ord(y, w)
    assert (clusters.level[BLOCK] >= 2).all()  # every planted cell hot at 95 % or more
    lattice = libpysal.weights.lat2W(SIDE, SIDE, rook=False)  # queen lattice, from no polygon
    assert {i: set(n) for i, n in w.neighbors.items()} == {i: set(n) for i, n in lattice.neighbors.items()}
    near = {int(j) for i in BLOCK for j in [i, *lattice.neighbors[int(i)]]}
    assert set(np.flatnonzero(clusters.level > 0)) <= near  # no hot spot away from the cluster
    y_direct = 100 * Empirical_Bayes(events, population).r.ravel()
    g, p, level = esda_directly(y_direct, lattice)
    assert np.allclose(y, y_direct)
    assert np.array_equal(clusters.level, level) and np.allclose(clusters.z, g.Zs) and np.allclose(clusters.p, p)


def test_pure_noise_passes_almost_nothing_after_fdr_and_equals_esda():
    events, population = lattice_field(planted=False)
    assert stats.prior_variance(events.astype(float), population.astype(float)) > 0  # rates do vary
    y = 100 * stats.smoothed_rates(events, population, np.zeros(SIDE * SIDE))
    clusters = stats.getis_ord(y, stats.contiguity(squares()))
    # With 1,600 tests at 5 %, about 80 pass by chance; after the correction at most a handful.
    assert clusters.corrected[95] <= 5 and clusters.uncorrected[95] >= 40, (clusters.corrected, clusters.uncorrected)
    assert clusters.corrected[95] * 10 < clusters.uncorrected[95]
    g, p, level = esda_directly(100 * Empirical_Bayes(events, population).r.ravel(),
                                libpysal.weights.lat2W(SIDE, SIDE, rook=False))
    assert np.array_equal(clusters.level, level) and np.allclose(clusters.p, p)
    assert clusters.uncorrected[95] == int((p <= 0.05).sum())


def test_islands_and_small_cases():
    geoms = squares()[:9] + [shapely.box(1e5, 1e5, 1e5 + 500, 1e5 + 500)]  # a row of 9 and a lone square
    w = stats.contiguity(geoms)
    assert w.islands == [9]
    clusters = stats.getis_ord(np.arange(10, dtype=float), w)
    assert clusters.island[9] and not clusters.tested[9] and clusters.level[9] == 0 and np.isnan(clusters.p[9])
    assert clusters.tested[:9].all()
    assert stats.getis_ord(np.ones(10), w).reason == "constant"
    assert stats.getis_ord(np.array([1.0, 2.0]), stats.contiguity(geoms[:2])).reason == "too_few"
    # Empirical Bayes: no population → the region's rate; no spread beyond chance → the region's rate.
    rates = stats.smoothed_rates(np.array([1, 0, 1, 2, 5]), np.array([6, 0, 10, 20, 0]), np.array(["a", "a", "b", "b", "c"]))
    assert rates[1] == pytest.approx(1 / 6) and rates[2] == rates[3] == pytest.approx(3 / 30) and np.isnan(rates[4])
    assert stats.rate_bins(np.array([0.0, 0.0])) == [] and stats.rate_class(2.0, [1.0, 3.0]) == 1


# --- the whole path on a constructed county in the database ------------------------------------------

COUNTY = "990014"
COLS, ROWS = 10, 8  # 80 groups: townships 001 (x < 5) and 002; a village per township and row
CENTRE = (2, 4)  # the planted 3×3 block of township 001 is centred here
PLANT = {(x, y) for x in range(1, 4) for y in range(3, 6)}


def _mp(x0: float, y0: float, w: float, h: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((x0, y0, x0 + w, y0 + h)), srid=4326)


def group_code(x: int, y: int) -> str:
    return f"{COUNTY}{1 + x // 5:03d}{y + 1:03d}{x % 5 + 1:03d}"


@pytest.fixture
def constructed():
    """County 990014 of 0.01° squares: in October a planted cluster of suspected and dropped-out
    children in township 001, scattered ones elsewhere; in November the cluster returns to school."""
    size, x0, y0 = 0.01, 121.0, 27.0
    county = Area.objects.create(level=AreaLevel.COUNTY, code=COUNTY, name="热点测试县",
                                 geom=_mp(x0, y0, COLS * size, ROWS * size))
    groups = {}
    for t in range(2):
        town = Area.objects.create(level=AreaLevel.TOWNSHIP, code=f"{COUNTY}{t + 1:03d}", name=f"测试{t + 1}镇",
                                   parent=county, geom=_mp(x0 + 5 * t * size, y0, 5 * size, ROWS * size))
        for y in range(ROWS):
            village = Area.objects.create(level=AreaLevel.VILLAGE, code=f"{town.code}{y + 1:03d}", name=f"{t + 1}镇{y + 1}村",
                                          parent=town, geom=_mp(x0 + 5 * t * size, y0 + y * size, 5 * size, size))
            for i in range(5):
                x = 5 * t + i
                groups[x, y] = Area.objects.create(level=AreaLevel.GROUP, code=group_code(x, y), name=f"第{i + 1}组",
                                                   parent=village, geom=_mp(x0 + x * size, y0 + y * size, size, size))
    rng = np.random.default_rng(14)
    born = date(2015, 3, 1)  # grade 6 in 2026/27: school age in October and November 2026
    children, history = [], []
    for (x, y), group in groups.items():
        n = 12
        off = 7 if (x, y) in PLANT else int(rng.binomial(n, rng.gamma(2.0, 0.04)))
        for k in range(n):
            kid = Child(id_hash=f"t14-{group.code}-{k}", id_masked="990014********0000", name=f"童{k}",
                        sex="MF"[k % 2], birth_date=born, group=group, kg_left_behind=k % 3 == 0,
                        home=group.geom.centroid)
            steps = [(date(2026, 9, 1), "enrolled")]
            if k < off:
                steps.append((date(2026, 10, 12), "suspected"))
                if k % 2:
                    steps.append((date(2026, 10, 26), "dropped_out"))
                if (x, y) in PLANT:
                    steps.append((date(2026, 11, 9), "returned"))
            kid.status = steps[-1][1]
            children.append((kid, steps))
    Child.objects.bulk_create([c for c, _s in children])
    for kid, steps in children:
        previous = ""
        for day, status in steps:
            history.append(ChildStatusChange(child=kid, date=day, from_status=previous, to_status=status, reason="测试"))
            previous = status
    ChildStatusChange.objects.bulk_create(history)
    return {"county": county, "groups": groups}


def admin():
    return get_user_model().objects.create_superuser(f"hs-admin-{get_user_model().objects.count()}", "", "pw-long-enough-1")


STATUS_AT_END = """
    SELECT g.code, h.to_status, count(*) FROM (
        SELECT DISTINCT ON (h.child_id) h.child_id, h.to_status FROM gridmap_childstatuschange h
        WHERE h.date <= %s ORDER BY h.child_id, h.date DESC, h.recorded_at DESC, h.id DESC) h
    JOIN gridmap_child c ON c.id = h.child_id JOIN gridmap_area g ON g.id = c.group_id
    WHERE g.code LIKE %s AND c.birth_date BETWEEN %s AND %s AND h.to_status <> 'transferred_out'
    GROUP BY 1, 2"""


def counts_by_sql(prefix: str, month_end: str, born: tuple[str, str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(STATUS_AT_END, [month_end, f"{prefix}%", *born])
        for code, status, n in cursor.fetchall():
            out.setdefault(code, {})[status] = n
    return out


def test_the_layer_equals_sql_postgis_and_esda_on_a_constructed_county(constructed):
    analysis = data.analysis_for(admin(), constructed["county"], "2026-10", data.Filters())
    codes = [c.code for c in analysis.cells]
    assert codes == sorted(group_code(x, y) for x in range(COLS) for y in range(ROWS))
    # counts: SQL from the definitions (status at 31 October from the history; school age 2026/27)
    by_sql = counts_by_sql(COUNTY, "2026-10-31", ("2011-09-01", "2020-08-31"))
    events = np.array([by_sql[c].get("suspected", 0) + by_sql[c].get("dropped_out", 0) for c in codes])
    population = np.array([sum(by_sql[c].values()) for c in codes])
    assert [c.counts.off_school for c in analysis.cells] == list(events)
    assert [c.counts.school_age for c in analysis.cells] == list(population)
    # smoothed rates: esda.smoothing per township (both spread beyond chance, so no fallback here)
    town = np.array([c[:9] for c in codes])
    expected = np.zeros(len(codes))
    for t in np.unique(town):
        assert stats.prior_variance(events[town == t].astype(float), population[town == t].astype(float)) > 0
        expected[town == t] = 100 * Empirical_Bayes(events[town == t], population[town == t]).r.ravel()
    assert np.allclose([c.smoothed for c in analysis.cells], expected)
    # neighbours: PostGIS, boundaries within 1 m in the metric CRS
    with connection.cursor() as cursor:
        cursor.execute("""SELECT a.code, b.code FROM gridmap_area a JOIN gridmap_area b ON a.code <> b.code
                          AND ST_DWithin(ST_Transform(a.geom, 4549), ST_Transform(b.geom, 4549), 1.0)
                          WHERE a.code LIKE %s AND b.code LIKE %s AND a.level = 'group' AND b.level = 'group'""",
                       [f"{COUNTY}%", f"{COUNTY}%"])
        pairs = cursor.fetchall()
    index = {c: i for i, c in enumerate(codes)}
    neighbours = {i: [] for i in range(len(codes))}
    for a, b in pairs:
        neighbours[index[a]].append(index[b])
    w = data.weights(data.cell_queryset(admin(), constructed["county"]), analysis.inputs.version)
    assert {i: set(n) for i, n in w.neighbors.items()} == {i: set(n) for i, n in neighbours.items()}
    g, p, level = esda_directly(expected, libpysal.weights.W(neighbours), tested=population > 0)
    assert np.array_equal(analysis.clusters.level, level) and np.allclose(analysis.clusters.p, p)
    assert np.allclose(analysis.clusters.z, g.Zs)
    centre = analysis.by_code[group_code(*CENTRE)]
    assert centre.cluster in ("hot95", "hot99")  # the middle of the planted block
    # November: the cluster returned to school, so the month's counts differ from October's
    november = data.analysis_for(admin(), constructed["county"], "2026-11", data.Filters()).by_code[centre.code]
    assert (centre.counts.off_school, november.counts.off_school, november.counts.returned) == (7, 0, 7)


def test_past_month_counts_equal_the_monthly_report(constructed):
    """Two code paths, one answer: the layer's cells against reports.for_area of each cell."""
    analysis = data.analysis_for(admin(), constructed["county"], "2026-10", data.Filters())
    for cell in analysis.cells:
        figures = reports.for_area(Area.objects.get(code=cell.code), "2026-10")
        assert (cell.counts.school_age, cell.counts.suspected, cell.counts.dropped_out,
                cell.counts.returned) == (figures.school_age, figures.suspected, figures.dropped_out,
                                          figures.by_status.get("returned", 0)), cell.code


def test_demo_county_past_month_per_village_equals_the_monthly_report():
    entered = Counter(code[:9] for code in ChildStatusChange.objects.filter(
        to_status="suspected", date__range=(date(2026, 10, 1), date(2026, 10, 31))).values_list("child__group__code", flat=True))
    town = Area.objects.get(code=entered.most_common(1)[0][0])  # the township with most October entries
    analysis = data.analysis_for(admin(), town, "2026-10", data.Filters())
    assert sum(v.counts.off_school for v in analysis.villages) > 0
    for village in analysis.villages:
        figures = reports.for_area(Area.objects.get(code=village.code), "2026-10")
        assert (village.counts.school_age, village.counts.suspected, village.counts.dropped_out) == (
            figures.school_age, figures.suspected, figures.dropped_out), village.code
    total = reports.for_area(town, "2026-10")
    assert sum(v.counts.school_age for v in analysis.villages) == total.school_age


def test_filters_narrow_both_counts(constructed):
    user = admin()
    every = data.analysis_for(user, constructed["county"], "2026-10", data.Filters())
    left = data.analysis_for(user, constructed["county"], "2026-10", data.Filters(key_group="kg_left_behind"))
    girls = data.analysis_for(user, constructed["county"], "2026-10", data.Filters(sex="F"))
    grade9 = data.analysis_for(user, constructed["county"], "2026-10", data.Filters(grade="9"))
    grade6 = data.analysis_for(user, constructed["county"], "2026-10", data.Filters(grade="key"))
    n = Child.objects.filter(group__code__startswith=COUNTY)
    assert sum(c.counts.school_age for c in left.cells) == n.filter(kg_left_behind=True).count()
    assert sum(c.counts.school_age for c in girls.cells) == n.filter(sex="F").count()
    assert sum(c.counts.school_age for c in grade9.cells) == 0  # every constructed child is due in grade 6
    assert sum(c.counts.school_age for c in grade6.cells) == sum(c.counts.school_age for c in every.cells)
    assert grade9.meta["reason"] == "no_data"


# --- the web: scoping, aggregate-only logins, bad input, ETag, audit ------------------------------

A, B = "330783108", "330783201"


def login(role, areas=()):
    User = get_user_model()
    user = User.objects.create_user(f"hs-{role}-{User.objects.count()}", password="pw-long-enough-1")
    Profile.objects.create(user=user, role=role).areas.set(Area.objects.filter(code__in=areas))
    client = Client()
    client.force_login(user)
    return client


def test_another_townships_code_is_404_and_nothing_is_written():
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    cell_b = Area.objects.filter(code__startswith=B, level="group").first().code
    events = AuditEvent.objects.count()
    for url in (f"/hotspots/{B}/layer.geojson", f"/hotspots/{B}/homes.json", f"/hotspots/{B}/timeline/",
                f"/hotspots/{cell_b}/layer.geojson", f"/hotspots/cell/{cell_b}/cases/", "/hotspots/990014/layer.geojson"):
        assert client.get(url).status_code == 404, url
    for url in (f"/hotspots/{B[:6]}%00/layer.geojson", f"/hotspots/{B}%00/homes.json"):
        assert client.get(url).status_code in (400, 404), url  # a NUL byte never reaches a query
    assert AuditEvent.objects.count() == events
    own = client.get(f"/hotspots/{A}/layer.geojson?month=2026-11")
    assert own.status_code == 200 and own["Content-Type"] == "application/geo+json"
    codes = {f["properties"]["code"] for f in own.json()["features"]}
    assert codes == set(Area.objects.filter(code__startswith=A, level="group").values_list("code", flat=True))
    # the county's code gives this login its own township's cells, nothing of B
    county = client.get("/hotspots/330783/layer.geojson?month=2026-11").json()
    assert {f["properties"]["code"] for f in county["features"]} == codes


@pytest.mark.parametrize("query", ["month=2027-13", "month=1999-12", "month=2026-1", "month=20%0026-11",
                                   "month=" + "9" * 500, "kg=orphans", "kg=%00", "grade=7", "sex=X", "level=town",
                                   "month=2099-01"])
def test_bad_parameters_are_400_with_a_reason(query):
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    response = client.get(f"/hotspots/{A}/layer.geojson?{query}")
    assert response.status_code == 400, query
    if "%00" not in query:  # a NUL byte is refused before the view, by gridmap.middleware (HTML page)
        assert response.json()["errors"], query
    assert client.get(f"/hotspots/{A}/homes.json?{query}").status_code == 400
    assert client.get(f"/hotspots/{A}/timeline/?{query}").status_code == 400


def test_planner_sees_no_points_and_no_value_1_to_4():
    client = login(UserRole.COUNTY_PLANNER)
    body = client.get("/hotspots/330783/layer.geojson?month=2026-11").json()
    props = [f["properties"] for f in body["features"]]
    count_keys = ("school_age", "suspected", "dropped_out", "returned", "off_school")
    values = [p[k] for p in props for k in count_keys]
    assert "<5" in values and not [v for v in values if isinstance(v, int) and 1 <= v <= 4]
    assert all(p["z"] is None and p["p"] is None for p in props)  # no back door to a hidden rate
    for p in props:
        if p["school_age"] == 0:
            assert p["rate_class"] == "none" and p["rate"] is None
        elif "<5" in (p["school_age"], p["off_school"]):
            assert p["rate_class"] == "hidden" and p["rate"] is None and p["smoothed"] is None
    # Off school per cell is "<5" for 0-4 to these logins (issue 11: zeros beside "<5" would pin
    # each "<5" to 1 under a known total), so no cell shows a zero rate.
    assert "hidden" in {p["rate_class"] for p in props}
    assert body["gridmap"]["aggregate_only"] is True
    # The statistics come from the published figures alone: a group hidden there is not tested.
    for p in props:
        if isinstance(p["school_age"], str) or isinstance(p["off_school"], str):
            assert p["cluster"] in ("untested", "island"), p
    cell = props[0]["code"]
    assert client.get("/hotspots/330783/homes.json").status_code == 404
    assert client.get(f"/hotspots/cell/{cell}/cases/").status_code == 404
    page = client.get(f"/grid/{A}/").content.decode()
    assert "gmHotspots.attach" in page and "leaflet-heat" not in page and "homes.json" not in page


def test_etag_revalidates_and_changes_with_the_ledger(constructed):
    client = Client()
    client.force_login(admin())
    url = f"/hotspots/{COUNTY}/layer.geojson?month=2026-11"
    first = client.get(url)
    assert first.status_code == 200 and first["ETag"] and "private" in first["Cache-Control"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    gzipped = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert gzipped["ETag"].startswith("W/")  # GZipMiddleware weakens it; the browser sends it back so
    assert client.get(url, HTTP_IF_NONE_MATCH=gzipped["ETag"], HTTP_ACCEPT_ENCODING="gzip").status_code == 304
    kid = Child.objects.filter(group__code=group_code(8, 1), status="enrolled").first()
    ChildStatusChange.objects.create(child=kid, date=date(2026, 11, 20), from_status="enrolled", to_status="suspected",
                                     reason="测试")
    second = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second["ETag"] != first["ETag"]
    after = {f["properties"]["code"]: f["properties"] for f in second.json()["features"]}
    assert after[group_code(8, 1)]["suspected"] == json.loads(first.content)["features"][
        [f["properties"]["code"] for f in first.json()["features"]].index(group_code(8, 1))]["properties"]["suspected"] + 1


def test_homes_and_cases_for_logins_that_see_children_are_audited(constructed):
    client = Client()
    client.force_login(admin())
    response = client.get(f"/hotspots/{COUNTY}/homes.json?month=2026-10")
    off = sum(c.off_school for c in data.month_counts(Child.objects.filter(group__code__startswith=COUNTY),
                                                      "2026-10").values())
    assert response.status_code == 200 and len(response.json()["points"]) == off > 0
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="list", summary__contains="住址热力图").exists()
    centre = group_code(*CENTRE)
    Child.objects.filter(group__code=centre, status="returned").update(status="suspected")  # open items today
    page = client.get(f"/hotspots/cell/{centre}/cases/")
    assert page.status_code == 200 and page.content.decode().count("/children/") == 7
    assert AuditEvent.objects.filter(action="list", summary__contains=centre).exists()


def test_command_writes_xlsx_and_geojson(constructed, tmp_path):
    out = StringIO()
    call_command("hotspots", "--area", COUNTY, "--month", "2026-10", "--out", str(tmp_path / "h.xlsx"), stdout=out)
    assert "80 个村民小组" in out.getvalue()
    sheet = load_workbook(tmp_path / "h.xlsx")["村民小组"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 80 and {r[0] for r in rows} == {group_code(x, y) for x in range(COLS) for y in range(ROWS)}
    centre = next(r for r in rows if r[0] == group_code(*CENTRE))
    assert centre[5] + centre[4] == 7 and centre[-1].startswith("热点")
    call_command("hotspots", "--area", COUNTY, "--month", "2026-10", "--out", str(tmp_path / "h.geojson"),
                 "--key-group", "left_behind", stdout=StringIO())
    body = json.loads((tmp_path / "h.geojson").read_text())
    assert len(body["features"]) == 80 and body["gridmap"]["filters"] == {"kg": "left_behind"}
    from django.core.management.base import CommandError

    for bad in (["--month", "2026-13"], ["--area", "123"], ["--out", str(tmp_path / "h.csv")]):
        args = {"--area": COUNTY, "--month": "2026-10", "--out": str(tmp_path / "x.xlsx")}
        args.update(dict(zip(bad[::2], bad[1::2], strict=True)))
        with pytest.raises(CommandError):
            call_command("hotspots", *[v for kv in args.items() for v in kv], stdout=StringIO())


def test_timeline_shows_when_the_cluster_was_hot(constructed):
    client = Client()
    client.force_login(admin())
    response = client.get(f"/hotspots/{COUNTY}/timeline/?month=2026-11")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") == 1 and "无台账数据" in page  # months before September 2026 have no ledger
    from hotspots import timeline

    result = timeline.build(admin(), constructed["county"], "2026-11", data.Filters())
    assert result.months == [f"2025-{m:02d}" for m in range(12, 13)] + [f"2026-{m:02d}" for m in range(1, 12)]
    strip = next(s for s in result.strips if s.code == group_code(*CENTRE))
    assert strip.levels[:9] == [None] * 9  # no ledger yet
    assert strip.levels[10] >= 2 and strip.levels[11] <= 0  # hot in October, not after the return
    assert strip.hot_months == 1 and strip.hot_run == 0


def test_grid_page_fetches_the_layer_and_does_not_embed_it():
    client = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    page = client.get(f"/grid/{A}/").content.decode()
    assert f"/hotspots/{A}/layer.geojson" in page and f"/hotspots/{A}/homes.json" in page
    assert '"rate_class"' not in page and '"off_school"' not in page  # the features come by fetch
    assert "vendor/leaflet.heat-0.2.0/leaflet-heat.js" in page and "cdn.jsdelivr" not in page


@pytest.mark.parametrize("role", [UserRole.COUNTY_ADMIN, UserRole.COUNTY_PLANNER])
def test_fuzzed_parameters_never_give_a_500(role):
    """The same bounded fuzzing as tests/test_fuzz_params.py, over the hotspot endpoints."""
    from tests.test_fuzz_params import fuzz_page
    from tests.test_fuzz_params import login as fuzz_login

    client = fuzz_login(role, superuser=role == UserRole.COUNTY_ADMIN)
    client.raise_request_exception = False
    names = ["month", "kg", "grade", "sex", "level"]
    for url in (f"/hotspots/{A}/layer.geojson", f"/hotspots/{A}/homes.json", f"/hotspots/{A}/timeline/"):
        fuzz_page(client, url, names)
    cell = Area.objects.filter(code__startswith=A, level="group").first().code
    fuzz_page(client, f"/hotspots/cell/{cell}/cases/", ["x"])


def _visible(analysis: data.Analysis) -> tuple[Any, ...]:
    """Everything of an analysis that reaches an aggregate-only login (layer, timeline, export)."""
    units = [u.properties() for u in [*analysis.cells, *analysis.villages]]
    return json.dumps(units, sort_keys=True), json.dumps(analysis.meta, sort_keys=True), analysis.inputs.etag


class _PrimaryOnly(data.Inputs):
    """What the layer computed before issue 11's last part: statistics over the true counts."""

    @property
    def basis(self) -> list[data.Counts]:  # type: ignore[override]
        return self.counts


def test_a_planners_hotspots_do_not_move_with_any_hidden_count():
    """Everything a planner reads of the hotspots (counts, rates, smoothed rates, classes, Gi*
    clusters, bins, ETag; the timeline's months are the same analysis) is a function of the month's
    published figures: two ledgers that differ only in counts hidden there give the same layer, so no
    hidden count can be recomputed from it beyond what the published figures give (test_disclosure).
    Control: statistics over the true counts (primary suppression alone) move."""
    import dataclasses

    user = get_user_model().objects.create_user("hs-invariance", password="pw-long-enough-1")
    Profile.objects.create(user=user, role=UserRole.COUNTY_PLANNER)
    root = Area.objects.get(code="330783")  # the small demo county
    month = "2026-11"
    inputs = data.prepare(user, root, month, data.Filters())
    assert inputs.published is not None and not inputs.scope.individual_children
    rng = np.random.default_rng(5)
    hidden = [i for i, c in enumerate(inputs.cells) if inputs.published.is_hidden(c.code, "school_age", "off_school")]
    assert hidden
    other = list(inputs.counts)
    for i in hidden:  # another ledger: the same published figures, other hidden counts
        n = other[i]
        other[i] = data.Counts(n.school_age + int(rng.integers(1, 4)), n.suspected + int(rng.integers(1, 3)), 0, 0)
    same = _visible(data.analyse(inputs))
    assert same == _visible(data.analyse(dataclasses.replace(inputs, counts=other)))
    # Every count shown is the published one.
    for unit in data.analyse(inputs).cells:
        assert (unit.shown["school_age"], unit.shown["off_school"]) == inputs.published.cell(unit.code)
    # Control: over the true counts, the same change shows through (smoothed rates, classes, ETag).
    before = _visible(data.analyse(_PrimaryOnly(**{f.name: getattr(inputs, f.name)
                                                   for f in dataclasses.fields(inputs)})))
    fields = {f.name: getattr(inputs, f.name) for f in dataclasses.fields(inputs)}
    after = _visible(data.analyse(_PrimaryOnly(**{**fields, "counts": other})))
    assert before != after
    assert before[0] != after[0]  # not only the ETag: figures on the map move


def test_the_method_note_is_in_chinese_and_in_english():
    """The legend's explanation (and the workbook's 方法说明) in the UI's language: its translation was
    once marked fuzzy, so the Chinese UI showed it in English."""
    from django.utils import translation

    from layers.hotspots import method_note

    with translation.override("zh-hans"):
        chinese = method_note(9999)
    with translation.override("en"):
        english_note = method_note(9999)
    assert "经验贝叶斯" in chinese and "9,999" in chinese and "Colours" not in chinese
    assert english_note.startswith("Colours show") and "9,999" in english_note

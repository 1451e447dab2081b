"""Consolidation scenarios on a hand-made county whose every answer is worked out by hand.

One straight road 4 km long, east from (119.05E, 28.05N); three primary schools on it (grades 1-6):
A at 0 m, B at 1,000 m, C at 3,000 m. Six grade-2 pupils live on the road, each village group a
strip across it: G1 at 100 m (A's), G2 two pupils at 900 m (B's), G3 at 1,200 m (B's), G4 at 1,800 m
(B's), G5 at 2,900 m (C's). Walking at 4 km/h (1.111 m/s), a trip of d metres takes d / 1.111 s; the
norm of grade 2 is 30 minutes (2,000 m). Distances are measured independently (pyproj's geodesic).

Closing B moves its four pupils: both at 900 m and the one at 1,200 m are nearest to A (900 and
1,200 m), the one at 1,800 m to C (1,200 m). With A holding 2 places (1 pupil: 1 free):
- rule "next": A takes the nearest of its three claimants (a pupil at 900 m; between the two equal
  ones, the first on the ledger); the other two go to C: 2,100 m (beyond the norm: a new boarding
  demand) and 1,800 m;
- rule "count": all three go to A, which is then 2 over its capacity.
Closing A and B: pupils at 100 and 900 m have no school within 30 minutes (C is 2,900 / 2,100 m
away): three new coverage gaps; the pupil at 1,200 m (1,800 m to C) still meets the norm.
Closing one school of three, least total walking: close A (2,200 m in all), against B (4,400) and C
(3,200); with B holding only its 4 pupils, A still (2,600 m: its pupil and the groups at 900 and
1,200 m fill B, the one at 1,800 m walks to C) against C (4,200) and B (6,800).
"""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management import call_command
from django.test import Client
from shapely.geometry import LineString

from gridmap.models import (
    Area,
    AreaLevel,
    AuditEvent,
    CatchmentAssignment,
    Child,
    Profile,
    Road,
    School,
    SchoolClass,
)
from importers.roads import RoadImportParams, import_roads
from planning import baseline, evaluate, report, suggest
from planning.closures import solve_p_median
from planning.disclosure import aggregate_only
from planning.evaluate import Change
from planning.models import Scenario, ScenarioChange
from tests.handmade import WALK, at, metres

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 11, 22)
GRADE2 = date(2019, 3, 1)
HOMES = [("G1", 100), ("G2", 900), ("G2", 900), ("G3", 1200), ("G4", 1800), ("G5", 2900)]
STRIPS = {"G1": (-300, 500), "G2": (500, 1050), "G3": (1050, 1500), "G4": (1500, 2400), "G5": (2400, 4300)}
ROLL = {"G1": "A", "G2": "B", "G3": "B", "G4": "B", "G5": "C"}


def seconds(a: float, b: float) -> float:
    """Walking seconds between two points of the road, from their geodesic distance."""
    return metres(at(a, 0), at(b, 0)) / WALK


def box(x0: float, x1: float, north: float = 400) -> MultiPolygon:
    (w, s), (e, n) = at(x0, -north), at(x1, north)
    return MultiPolygon(Polygon.from_bbox((w, s, e, n)), srid=4326)


@pytest.fixture
def county(tmp_path):
    Road.objects.all().delete()  # only the hand-drawn road (rolled back after the test)
    frame = gpd.GeoDataFrame({"highway": ["residential"], "oneway": [None], "name": ["大路"]},
                             geometry=[LineString([at(-200, 0), at(4200, 0)])], crs=4326)
    path = tmp_path / "road.geojson"
    frame.to_file(path)
    assert import_roads(RoadImportParams(path, snap_m=0, commit=True)).ok
    whole = box(-300, 4300, 600)
    c = Area.objects.create(level=AreaLevel.COUNTY, code="990002", name="手绘县", geom=whole)
    t = Area.objects.create(level=AreaLevel.TOWNSHIP, code="990002100", name="手绘镇", parent=c, geom=whole)
    v = Area.objects.create(level=AreaLevel.VILLAGE, code="990002100001", name="大路村", parent=t, geom=whole)
    groups = {g: Area.objects.create(level=AreaLevel.GROUP, code=f"990002100001{i + 1:03d}", name=f"第{i + 1}组",
                                     parent=v, geom=box(*STRIPS[g]))
              for i, g in enumerate(STRIPS)}
    spots = {"A": 0, "B": 1000, "C": 3000}
    caps = {"A": 2, "B": 10, "C": 10}
    schools = {k: School.objects.create(code=f"99000200{i + 1:02d}", name=f"{k}小学", kind="full_primary",
                                        first_grade=1, last_grade=6, capacity=caps[k], township=t,
                                        location=f"SRID=4326;POINT({at(x, 0)[0]} {at(x, 0)[1]})")
               for i, (k, x) in enumerate(spots.items())}
    for g, k in ROLL.items():
        CatchmentAssignment.objects.create(area=groups[g], school=schools[k], stage="primary")
    classes = {k: SchoolClass.objects.create(school=s, school_year=2026, grade=2, number=1) for k, s in schools.items()}
    kids = []
    for i, (g, x) in enumerate(HOMES):
        lon, lat = at(x, 0)
        kids.append(Child.objects.create(id_hash=f"hand-{i}", id_masked=f"990002********{i:04d}", name=f"手绘{i}",
                                         sex="F", birth_date=GRADE2, group=groups[g], home=f"SRID=4326;POINT({lon} {lat})",
                                         school_class=classes[ROLL[g]]))
    return {"county": c, "schools": schools, "groups": groups, "kids": kids}


def outcome(county, changes, rule=evaluate.NEXT):
    base = baseline.baseline(county["county"], AS_OF)
    return base, evaluate.evaluate(base, changes, rule)


def rows(base, county):
    """Child → row of the baseline."""
    return [int(np.flatnonzero(base.cov.child_id == k.pk)[0]) for k in county["kids"]]


def test_travel_times_by_hand(county):
    base = baseline.baseline(county["county"], AS_OF)
    r = rows(base, county)
    j = base.schools.index()
    for (_g, x), i in zip(HOMES, r, strict=True):
        for k, spot in (("A", 0), ("B", 1000), ("C", 3000)):
            assert base.time_s[i, j[county["schools"][k].code]] == pytest.approx(seconds(x, spot), abs=1.0)
            assert base.distance_m[i, j[county["schools"][k].code]] == pytest.approx(metres(at(x, 0), at(spot, 0)),
                                                                                      abs=1.0)


def test_closing_b_next_nearest_with_room(county):
    s = county["schools"]
    base, out = outcome(county, [Change("close", s["B"].code)])
    r = rows(base, county)
    j = base.schools.index()
    a, b, c = j[s["A"].code], j[s["B"].code], j[s["C"].code]
    assert out.moved[r].tolist() == [False, True, True, True, True, False]
    assert out.school_after[r].tolist() == [a, a, c, c, c, c]
    assert out.school_before[r].tolist() == [a, b, b, b, b, c]
    expected_after = [seconds(100, 0), seconds(900, 0), seconds(900, 3000), seconds(1200, 3000),
                      seconds(1800, 3000), seconds(2900, 3000)]
    assert out.time_after[r] == pytest.approx(expected_after, abs=1.0)
    assert out.time_before[r][1:5] == pytest.approx([seconds(900, 1000)] * 2 + [seconds(1200, 1000),
                                                                                seconds(1800, 1000)], abs=1.0)
    assert out.arrivals[[a, b, c]].tolist() == [1, 0, 3]
    assert out.overflow.sum() == 0 and not out.no_place.any()
    rep = report.build(base, out, [Change("close", s["B"].code)])
    assert rep.totals["moved"] == 4 and rep.totals["beyond_after"] == 1 and rep.totals["newly_beyond"] == 1
    assert rep.totals["boarding_demand"] == 1 and rep.totals["new_gaps"] == 0
    moved_after = np.array(expected_after[1:5]) / 60
    assert rep.time_after.mean == pytest.approx(round(moved_after.mean(), 1), abs=0.051)
    assert rep.time_after.max == pytest.approx(round(moved_after.max(), 1), abs=0.051)
    assert rep.time_after.median == pytest.approx(round(float(np.median(moved_after)), 1), abs=0.051)
    assert rep.grades[1]["moved"] == 4 and rep.grades[1]["beyond_after"] == 1
    flows = {(f["from"], f["to"]): f["children"] for f in rep.flows}
    assert flows == {("B小学", "A小学"): 1, ("B小学", "C小学"): 3}
    assert "4" in rep.summary and ("30" in rep.summary)


def test_closing_b_counted_as_overflow(county):
    s = county["schools"]
    base, out = outcome(county, [Change("close", s["B"].code)], evaluate.COUNT)
    r = rows(base, county)
    j = base.schools.index()
    a, c = j[s["A"].code], j[s["C"].code]
    assert out.school_after[r].tolist() == [a, a, a, a, c, c]
    assert out.enrolment_after[a] == 4 and out.overflow[a] == 2 and out.overflow.sum() == 2
    rep = report.build(base, out, [Change("close", s["B"].code)])
    assert rep.totals["overflow"] == 2 and rep.totals["over_capacity_schools"] == 1
    assert rep.totals["beyond_after"] == 0


def test_merge_goes_to_the_named_school_first(county):
    s = county["schools"]
    base, out = outcome(county, [Change("merge", s["B"].code, into=s["C"].code)])
    j = base.schools.index()
    r = rows(base, county)
    assert (out.school_after[r][1:5] == j[s["C"].code]).all()  # merged pupils all go to C (room for them)


def test_closing_a_and_b_leaves_three_new_gaps(county):
    s = county["schools"]
    base, out = outcome(county, [Change("close", s["A"].code), Change("close", s["B"].code)])
    r = rows(base, county)
    assert out.meets_before[r].all()
    assert out.meets_after[r].tolist() == [False, False, False, True, True, True]
    rep = report.build(base, out, [Change("close", s["A"].code), Change("close", s["B"].code)])
    assert rep.totals["new_gaps"] == 3 and rep.gaps_by_grade[1]["new"] == 3


def test_changes_that_make_no_sense_are_refused(county):
    s = county["schools"]
    table = baseline.school_table("990002", AS_OF)
    for bad in ([Change("merge", s["A"].code, into=s["A"].code)],
                [Change("merge", s["A"].code, into=s["B"].code), Change("close", s["B"].code)],
                [Change("grades", s["A"].code, first_grade=5, last_grade=3)],
                [Change("capacity", s["A"].code, capacity=-1)],
                [Change("open", s["A"].code)], [Change("close", "9999999999")]):
        with pytest.raises(evaluate.ScenarioError):
            evaluate.apply(table, bad)


def test_grade_change_moves_the_pupils_it_no_longer_teaches(county):
    s = county["schools"]
    base, out = outcome(county, [Change("grades", s["B"].code, first_grade=3, last_grade=6)])
    assert out.moved.sum() == 4  # B stops teaching grade 2


def test_optimal_closure_by_hand(county):
    base = baseline.baseline(county["county"], AS_OF)
    table = baseline.school_table("990002", AS_OF)
    found = suggest.suggest(base, table, suggest.Target(close=1, capacities=False))
    assert found.closed == [county["schools"]["A"].code]
    assert found.result.objective == pytest.approx((2200 / WALK) / 60, rel=2e-3)
    assert found.result.gap == pytest.approx(0, abs=1e-9)
    # B holds only its four pupils: A still closes, its pupil goes to C (the groups nearest B take B)
    School.objects.filter(pk=county["schools"]["B"].pk).update(capacity=4)
    table = baseline.school_table("990002", AS_OF)
    found = suggest.suggest(base, table, suggest.Target(close=1, capacities=True))
    assert found.closed == [county["schools"]["A"].code]
    assert found.result.objective == pytest.approx((2600 / WALK) / 60, rel=2e-3)


def test_closure_costs_by_hand_through_the_core():
    """The same county as a bare instance: 5 village groups × 3 schools, metres."""
    x = np.array([100, 900, 1200, 1800, 2900])
    cost = np.abs(x[:, None] - np.array([0, 1000, 3000])[None, :]).astype(float)
    demand = np.array([1, 2, 1, 1, 1.0])
    for p, closed, total in ((2, 0, 2200), (1, None, None)):
        r = solve_p_median(cost, demand, p)
        if closed is not None:
            assert set(r.open) == {1, 2} and r.objective == pytest.approx(total) and r.lower_bound == pytest.approx(total)
    r = solve_p_median(cost, demand, 2, capacity=[2, 4, 10])
    assert set(r.open) == {1, 2} and r.objective == pytest.approx(2600)
    r = solve_p_median(cost, demand, 2, capacity=[2, 4, 10], fixed_open=[0])
    assert 0 in r.open and r.objective == pytest.approx(min(4200, 6800))


def login(role=None, superuser=False, name=None):
    User = get_user_model()
    name = name or f"p{User.objects.count()}"
    user = (User.objects.create_superuser(name, "", "pw-long-enough-1") if superuser
            else User.objects.create_user(name, password="pw-long-enough-1"))
    if role:
        Profile.objects.create(user=user, role=role)
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def today(monkeypatch):
    """The pages evaluate on today's date: make it the fixture's."""
    import planning.baseline as b

    real = b.baseline
    monkeypatch.setattr(b, "baseline", lambda county, as_of=None, progress=None: real(county, as_of or AS_OF, progress))


def test_pages_scenario_life_and_planner_sees_counts_only(county, settings, today):
    settings.GRIDMAP_COUNTY_CODE = "990002"
    s = county["schools"]
    planner, planner_user = login("county_planner")
    r = planner.post("/planning/", {"name": "撤B-1", "description": "", "overflow_rule": "next"})
    assert r.status_code == 302
    sc = Scenario.objects.get(name="撤B-1")
    assert planner.post(f"/planning/{sc.pk}/change/", {"action": "close", "school": s["B"].code}).status_code == 302
    assert sc.changes.count() == 1
    page = planner.get(f"/planning/{sc.pk}/").content.decode()
    assert "&lt;5" in page  # four pupils move: shown "<5" to the planner
    for k in county["kids"]:
        assert k.name not in page and k.id_masked not in page
    data = planner.get(f"/planning/{sc.pk}/map.json").json()
    # the four go to two schools: "<5" each, or withheld ("—") where the closing school's four pupils
    # (its enrolment, shown) and a "<5" beside it would pin the other (planning.disclosure)
    assert {f["properties"]["children"] for f in data["flows"]} <= {"<5", "—"}
    assert all(f["properties"]["moved"] == "<5" and f["properties"]["delta_min"] is None for f in data["cells"])
    wb = openpyxl.load_workbook(__import__("io").BytesIO(planner.get(f"/planning/{sc.pk}/report.xlsx").content))
    values = [c.value for ws in wb for row in ws.iter_rows() for c in row]
    assert "<5" in values and not any(k.name in str(v) for v in values for k in county["kids"])
    pdf = planner.get(f"/planning/{sc.pk}/report.pdf?paper=A3")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = __import__("subprocess").run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True,
                                        check=True).stdout.decode()
    assert text.count("撤B-1") >= 2 and "u002D" not in text  # the title, and again in each page's footer
    assert AuditEvent.objects.filter(action="export", username=planner_user.username).count() == 2
    # copy, compare, delete
    assert planner.post(f"/planning/{sc.pk}/copy/").status_code == 302
    copy = Scenario.objects.exclude(pk=sc.pk).get()
    assert list(copy.changes.values_list("school__code", "action")) == [(s["B"].code, "close")]
    cmp = planner.get(f"/planning/compare/?ids={sc.pk},{copy.pk}")
    assert cmp.status_code == 200 and cmp.content.decode().count("&lt;5") >= 2
    assert planner.get(f"/planning/compare/?ids={sc.pk},{copy.pk}&format=xlsx").status_code == 200
    assert planner.post(f"/planning/{copy.pk}/delete/").status_code == 302
    assert not Scenario.objects.filter(pk=copy.pk).exists()
    # the live data never changed
    assert School.objects.get(pk=s["B"].pk).status == "open"
    assert Child.objects.filter(school_class__school=s["B"]).count() == 4
    # the administrator sees exact counts
    admin, _u = login(superuser=True)
    assert "<5" not in admin.get(f"/planning/{sc.pk}/map.json").content.decode()


def test_who_may_plan(county, settings, today):
    settings.GRIDMAP_COUNTY_CODE = "990002"
    sc = Scenario.objects.create(name="x", county=county["county"])
    inspector, _u = login("inspector")
    assert inspector.get(f"/planning/{sc.pk}/").status_code == 200
    assert inspector.post(f"/planning/{sc.pk}/delete/").status_code == 403
    assert inspector.post("/planning/", {"name": "y", "overflow_rule": "next"}).status_code == 403
    official, user = login("township_official")
    user.gridmap_profile.areas.set([Area.objects.get(code="990002100")])
    for url in ("/planning/", f"/planning/{sc.pk}/", f"/planning/{sc.pk}/map.json", f"/planning/{sc.pk}/report.xlsx",
                "/planning/suggest/"):
        assert official.get(url).status_code == 403, url
    assert Scenario.objects.count() == 1


def test_bad_input_is_refused_without_writing(county, settings, today):
    settings.GRIDMAP_COUNTY_CODE = "990002"
    s = county["schools"]
    planner, _u = login("county_planner")
    sc = Scenario.objects.create(name="x", county=county["county"])
    for data in ({"action": "close", "school": "9999999999"}, {"action": "explode", "school": s["A"].code},
                 {"action": "merge", "school": s["A"].code}, {"action": "merge", "school": s["A"].code, "into": s["A"].code},
                 {"action": "grades", "school": s["A"].code, "first_grade": "7", "last_grade": "2"},
                 {"action": "capacity", "school": s["A"].code, "capacity": "10\x00"},
                 {"action": "open", "school": s["A"].code}):
        r = planner.post(f"/planning/{sc.pk}/change/", data)
        assert r.status_code in (302, 400), data
        assert not ScenarioChange.objects.exists(), data
    for url in ("/planning/compare/?ids=1", "/planning/compare/?ids=a,b", "/planning/compare/?ids=1,1",
                f"/planning/compare/?ids={sc.pk},{sc.pk + 1}&format=pdf", f"/planning/{sc.pk}/report.pdf?paper=B5",
                "/planning/compare/?ids=1%00,2"):
        assert planner.get(url).status_code in (400, 404), url
    assert planner.get("/planning/999999/").status_code == 404
    assert planner.get("/schools/12345/").status_code == 404
    assert planner.get("/schools/abc%00/").status_code in (400, 404)


def test_school_page_scoped(county, settings):
    s = county["schools"]["B"]
    admin, _u = login(superuser=True)
    page = admin.get(f"/schools/{s.code}/").content.decode()
    assert s.name in page and "gm-school-map" in page
    planner, _u = login("county_planner")
    html = planner.get(f"/schools/{s.code}/").content.decode()
    assert "&lt;5" in html and not any(k.name in html for k in county["kids"])
    official, user = login("township_official")
    user.gridmap_profile.areas.set([Area.objects.get(code="330783001")] if Area.objects.filter(code="330783001").exists()
                                   else [])
    assert official.get(f"/schools/{s.code}/").status_code == 404  # another township's school


def test_command_writes_the_report(county, tmp_path):
    s = county["schools"]
    out = tmp_path / "r.xlsx"
    call_command("consolidation", "--close", s["B"].code, "--county", "990002", "--as-of", str(AS_OF),
                 "--out", str(out), verbosity=0)
    wb = openpyxl.load_workbook(out)
    assert "<5" in [c.value for ws in wb for row in ws.iter_rows() for c in row]  # as a planner reads it
    assert School.objects.get(pk=s["B"].pk).status == "open" and not Scenario.objects.exists()
    call_command("consolidation", "--suggest", "1", "--no-capacities", "--county", "990002", "--as-of", str(AS_OF),
                 "--out", str(tmp_path / "r.pdf"), "--save", "建议", verbosity=0)
    sc = Scenario.objects.get(name="建议")
    assert list(sc.changes.values_list("school__code", flat=True)) == [s["A"].code]
    assert sc.solver["gap"] == pytest.approx(0, abs=1e-9)


def test_report_suppression_in_one_place(county):
    s = county["schools"]
    base, out = outcome(county, [Change("close", s["B"].code)])
    rep = report.build(base, out, [Change("close", s["B"].code)], aggregate_only())
    assert rep.totals["moved"] == "<5" and rep.time_after.mean is None  # no mean of four children
    assert "<5" in rep.summary


def test_suggest_page_opens_the_plan_as_a_scenario(county, settings, today):
    settings.GRIDMAP_COUNTY_CODE = "990002"
    planner, _u = login("county_planner")
    assert planner.get("/planning/suggest/").status_code == 200
    r = planner.post("/planning/suggest/", {"close": "1", "objective": "time", "name": "建议方案"})
    assert r.status_code == 302
    sc = Scenario.objects.get(name="建议方案")
    assert sc.origin == "suggested" and sc.solver["status"] == "optimal" and sc.solver["gap"] == 0
    assert list(sc.changes.values_list("school__code", flat=True)) == [county["schools"]["A"].code]
    assert planner.get(r["Location"]).status_code == 200
    # nonsense targets: a form error, nothing written
    for data in ({"objective": "time"}, {"close": "3", "objective": "time"}, {"close": "1", "objective": "fast"},
                 {"close": "x\x00", "objective": "time"}):
        assert planner.post("/planning/suggest/", data).status_code in (200, 400)
    assert Scenario.objects.count() == 1
    inspector, _u = login("inspector")
    assert inspector.post("/planning/suggest/", {"close": "1", "objective": "time"}).status_code == 403


def test_catchment_sheets_qr_points_at_the_school_page(settings):
    from types import SimpleNamespace

    from atlas.render import base_url, cell_url

    settings.GRIDMAP_BASE_URL = "https://edu.example"
    sheet = SimpleNamespace(per="catchment", code="2133070097")
    assert cell_url(sheet, SimpleNamespace(township_code="330783108"), base_url()) == "https://edu.example/schools/2133070097/"
    group = SimpleNamespace(per="group", code="330783108001001")
    assert cell_url(group, SimpleNamespace(township_code="330783108"), base_url()) == "https://edu.example/grid/330783108001001/"

"""Coverage gaps on a hand-made county (the `squares` county with the hand-drawn roads of
tests/handmade.py in its fourth group): the inclusive 30-minute boundary, a school that does not
teach the child's grade, the school across the river, a home off the network — and the layer's
endpoint, its scoping, its ETag, bad input, and the export command.

As of 2026-11-22 (school year 2026): grade 2 was born 2018-09-01..2019-08-31, grade 5 2015-09-01..2016-08-31.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from gaps import compute, norms
from gaps.layer import HIDDEN
from gaps.norms import within
from gridmap.models import Area, AuditEvent, Child, Profile, School, SchoolClass, UserRole
from routing import engine
from tests.handmade import WALK, at, import_hand_network, metres

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 11, 22)
GRADE2, GRADE5 = date(2019, 3, 1), date(2016, 3, 1)


def test_norm_is_inclusive_to_the_second():
    assert within(1800.0, 30) and within(1800.4, 30) and within(1799.0, 30)
    assert not within(1800.6, 30) and not within(1801.0, 30)
    assert not within(np.inf, 30) and not within(np.nan, 30)
    assert norms.norm_for(2).minutes == 30 and norms.norm_for(2).mode == "walk"
    assert "半小时" in norms.norm_for(1).explain() or "half an hour" in norms.norm_for(1).explain()


@pytest.mark.parametrize("text", ["1-3=walk/30", "1-3=fly/30; 4-9=bus/30", "1-9=walk/0", "1-5=walk/30; 4-9=bus/30",
                                  "1-3=walk/30+boarding:bus; 4-9=bus/30", "\x00"])
def test_bad_norm_settings_are_refused(text):
    with pytest.raises(ValueError):
        norms.parse(text)


@pytest.fixture
def hand_network(tmp_path):
    return import_hand_network(tmp_path)


def test_thirty_minutes_on_the_network_meets_the_norm(hand_network):
    """A school where the west road meets the bridge; homes on the road 1,999 m, 2,000 m (exactly
    1,800 s at 4 km/h) and 2,001.2 m (1,801.1 s) up it."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    school = at(0, 0)
    homes = np.array([geod.fwd(*school, 0, d)[:2] for d in (1999.0, 2000.0, 2001.2)])
    seconds = engine.times_to(homes, np.array([school]), "walk").time_s
    assert seconds == pytest.approx([1999 / WALK, 1800.0, 2001.2 / WALK], abs=0.05)
    assert within(seconds, 30).tolist() == [True, True, False]


@pytest.fixture
def county(squares, hand_network):
    """Two schools by the river and four children (see the test below)."""
    town, groups = squares["township"], squares["groups"]
    west = School.objects.create(code="9900010001", name="西岸小学", kind="village_primary", first_grade=4,
                                 last_grade=6, location=f"SRID=4326;POINT({at(30, 1000)[0]} {at(30, 1000)[1]})",
                                 township=town)
    east = School.objects.create(code="9900010002", name="东岸小学", kind="full_primary", first_grade=1,
                                 last_grade=6, location=f"SRID=4326;POINT({at(770, 2900)[0]} {at(770, 2900)[1]})",
                                 township=town)
    classes = {(s.pk, g): SchoolClass.objects.create(school=s, school_year=2026, grade=g, number=1)
               for s in (west, east) for g in (2, 5)}

    def child(key, where, born, school=None, grade=None):
        lon, lat = at(*where)
        group = groups[3] if where[0] >= 0 else groups[2]
        return Child.objects.create(
            id_hash=f"hash-{key}", id_masked=f"990001{key}********", name=f"儿童{key}", sex="F", birth_date=born,
            group=group, home=f"SRID=4326;POINT({lon} {lat})",
            school_class=classes[(school.pk, grade)] if school else None)

    return {
        "west": west, "east": east, "town": town, "groups": groups,
        # grade 2 on the west bank: the west school is near but teaches 4-6 only; the east one is across the river
        "a": child("a", (20, 2900), GRADE2, east, 2),
        # grade 5 at the same home: the west school teaches grade 5, 1,950 m away (29.25 min) — within the norm
        "b": child("b", (20, 2900), GRADE5, west, 5),
        # grade 2 on the east bank, 300 m from the east school, on no school's roll
        "c": child("c", (770, 2600), GRADE2),
        # grade 2, 3 km from any road
        "d": child("d", (-3000, 2000), GRADE2, east, 2),
    }


def test_coverage_by_hand(county):
    cov = compute.compute(county["town"].parent, AS_OF)
    row = {Child.objects.get(pk=int(i)).name: k for k, i in enumerate(cov.child_id)}
    a, b, c, d = (row[f"儿童{k}"] for k in "abcd")
    east, west = county["east"].pk, county["west"].pk
    # a: the school that does not teach grade 2 is passed over for the one across the river
    across = (metres(at(20, 2900), at(0, 2900)) + metres(at(0, 2900), at(0, 0)) + metres(at(0, 0), at(800, 0))
              + metres(at(800, 0), at(800, 2900)) + metres(at(800, 2900), at(770, 2900)))
    assert cov.nearest_school[a] == east
    assert cov.nearest_s[a] == pytest.approx(across / WALK, abs=1)
    assert not cov.meets[a] and cov.roll_beyond[a]
    # b: grade 5 goes to the west school, 1,950 m: 1,755 s, within the 30 minutes
    assert cov.nearest_school[b] == west
    assert cov.nearest_s[b] == pytest.approx((metres(at(20, 2900), at(0, 2900)) + 1900 + 30) / WALK, abs=2)
    assert cov.meets[b] and cov.roll_meets[b]
    # c: near the east school, on no roll
    assert cov.meets[c] and not cov.on_roll[c]
    # d: off the network — reported, never snapped, a gap
    assert cov.off_network[d] and not cov.meets[d] and cov.nearest_school[d] == -1
    assert cov.gap.sum() == 2 and cov.roll_beyond.sum() == 2  # a and d


def login(role, areas=(), superuser=False):
    User = get_user_model()
    user = (User.objects.create_superuser(f"u{User.objects.count()}", "", "pw-long-enough-1") if superuser
            else User.objects.create_user(f"u{User.objects.count()}", password="pw-long-enough-1"))
    if not superuser:
        Profile.objects.create(user=user, role=role).areas.set(areas)
    client = Client()
    client.force_login(user)
    return client


def features(response, kind):
    return [f for f in response.json()["features"] if f["properties"]["kind"] == kind]


def test_layer_endpoint_scoped_and_cacheable(county):
    code = county["town"].code
    admin = login(None, superuser=True)
    r = admin.get(f"/coverage/{code}/layer.json")
    assert r.status_code == 200 and r["ETag"]
    homes = features(r, "home")
    assert sorted(h["properties"]["nm"] for h in homes) == ["儿童a", "儿童d"]
    assert [u["properties"]["nm"] for u in features(r, "unrolled")] == ["儿童c"]
    cells = {f["properties"]["code"]: f["properties"] for f in features(r, "cell")}
    fourth = cells[county["groups"][3].code]
    assert (fourth["n"], fourth["gap"]) == (3, 1)
    assert {b["properties"]["high"] for b in features(r, "band")} <= {15, 30, 45}
    assert AuditEvent.objects.filter(summary__contains="覆盖缺口图层").exists()
    # unchanged: 304 with the same ETag; a child moved off the roll: a new one
    again = admin.get(f"/coverage/{code}/layer.json", HTTP_IF_NONE_MATCH=r["ETag"])
    assert again.status_code == 304
    Child.objects.filter(pk=county["a"].pk).update(school_class=None)
    assert admin.get(f"/coverage/{code}/layer.json", HTTP_IF_NONE_MATCH=r["ETag"]).status_code == 200
    # a planner sees counts only, small ones hidden
    planner = login(UserRole.COUNTY_PLANNER)
    p = planner.get(f"/coverage/{code}/layer.json")
    assert not features(p, "home") and not features(p, "unrolled")
    fourth = {f["properties"]["code"]: f["properties"] for f in features(p, "cell")}[county["groups"][3].code]
    assert fourth["n"] == "<5" and fourth["gap"] == "<5" and fourth["c"] == HIDDEN
    assert p["ETag"] != r["ETag"]


def test_trip_path_and_refusals(county):
    code = county["town"].code
    admin = login(None, superuser=True)
    r = admin.get(f"/coverage/trip/{county['a'].pk}/?to=nearest")
    assert r.status_code == 200
    line = r.json()["geometry"]["coordinates"]
    assert line[0] == pytest.approx(list(at(20, 2900)), abs=1e-5)
    assert line[-1] == pytest.approx(list(at(770, 2900)), abs=1e-5)
    assert admin.get(f"/coverage/trip/{county['a'].pk}/?to=%00").status_code == 400
    assert admin.get(f"/coverage/trip/{county['d'].pk}/").status_code == 404  # off the network: no way
    assert admin.get(f"/coverage/{code}%00/layer.json").status_code in (400, 404)  # NUL: refused before any view
    assert admin.get(f"/coverage/{'9' * 40}/layer.json").status_code == 404
    # an official of another township: nothing of this one, nothing written
    other = login(UserRole.TOWNSHIP_OFFICIAL, areas=list(Area.objects.filter(code="330783108")))
    before = AuditEvent.objects.count()
    assert other.get(f"/coverage/{code}/layer.json").status_code == 404
    assert other.get(f"/coverage/{code}/").status_code == 404
    assert other.get(f"/coverage/trip/{county['a'].pk}/").status_code == 404
    assert AuditEvent.objects.count() == before


def test_page_and_export(county, tmp_path):
    code = county["town"].code
    admin = login(None, superuser=True)
    page = admin.get(f"/coverage/{code}/")
    assert page.status_code == 200
    assert "东岸小学" in page.content.decode() and "gmCoverage.show" in page.content.decode()
    out = tmp_path / "gaps.xlsx"
    call_command("coverage", area=code, out=out, as_of=AS_OF)
    wb = openpyxl.load_workbook(out)
    kids = list(wb.worksheets[-1].iter_rows(min_row=2, values_only=True))
    assert sorted(r[1] for r in kids) == ["儿童a", "儿童d"]
    assert all("*" in r[0] for r in kids)  # ID numbers masked
    geo = tmp_path / "gaps.geojson"
    call_command("coverage", area=code, out=geo, as_of=AS_OF)
    assert {f["properties"]["kind"] for f in json.loads(geo.read_text())["features"]} >= {"cell", "home", "band"}
    with pytest.raises(CommandError):
        call_command("coverage", area=code, out=tmp_path / "gaps.pdf")
    with pytest.raises(CommandError):
        call_command("coverage", area="123", out=out)


def test_a_school_off_the_network_and_an_empty_network_are_said(county):
    """A school farther from any road than the access limit is nobody's nearest school: the page names it
    (the hand county's west school moved 3 km off the road, as child d's home is); with no road network at
    all the page says so and how to build it, instead of showing every child "off the network"."""
    from gridmap.models import RoadEdge

    code = county["town"].code
    admin = login(None, superuser=True)
    page = admin.get(f"/coverage/{code}/").content.decode()
    assert 'id="gm-cov-schools-off"' not in page and 'id="gm-cov-no-network"' not in page
    west = county["west"]
    School.objects.filter(pk=west.pk).update(location="SRID=4326;POINT({} {})".format(*at(-3000, 1000)))
    cov = compute.compute(county["town"].parent, AS_OF)
    assert cov.schools_off_network == [west.pk]
    b = {Child.objects.get(pk=int(i)).name: k for k, i in enumerate(cov.child_id)}["儿童b"]
    assert cov.nearest_school[b] != west.pk  # grade 5 now has no measurable school of its own
    page = admin.get(f"/coverage/{code}/").content.decode()
    assert 'id="gm-cov-schools-off"' in page and west.name in page.split('id="gm-cov-schools-off"')[1][:400]
    RoadEdge.objects.all().delete()
    page = admin.get(f"/coverage/{code}/").content.decode()
    assert 'id="gm-cov-no-network"' in page and "build_network" in page

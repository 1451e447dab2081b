"""Weekly send-teaching-home routes on the (small) demo county: every trip is the optimum found by
brute force and never worse than a nearest-neighbour tour; the pages, layer, sheets and command;
scope (a school sees its own, a township its own, others 404) and the audit trail."""

from __future__ import annotations

import json
import subprocess
from datetime import date, time
from itertools import permutations

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count

from gridmap.models import AuditEvent, Child, HomeTeachingPlan, HomeVisit, Person, School, UserRole
from hometeaching import routes
from routing import engine
from tests.test_access import login

WEEK = (2026, 47)  # Mon 16 - Sun 22 November 2026


@pytest.fixture
def week(db):
    """Three demo schools, each with six children of its roll taught at home (one visit of one class
    hour a week) by a male and a female teacher."""
    schools = list(School.objects.filter(status="open", classes__children__home__isnull=False)
                   .annotate(n=Count("classes__children")).order_by("-n", "code")[:3])
    out = {}
    for school in schools:
        male = Person.objects.create(name=f"{school.code}男", sex="M", school=school)
        female = Person.objects.create(name=f"{school.code}女", sex="F", school=school)
        kids = list(Child.objects.filter(school_class__school=school, home__isnull=False).order_by("pk")[:6])
        for k in kids:
            p = HomeTeachingPlan.objects.create(child=k, school=school, start_date=date(2026, 9, 1), hours_per_visit=1,
                                                guardian_name="监护人", guardian_phone="13800000000")
            p.teachers.set([male, female])
        out[school.code] = (school, kids, male, female)
    return out


def tour(d, order):
    legs = [0, *order, 0]
    return sum(d[a, b] for a, b in zip(legs[:-1], legs[1:], strict=True))


def feasible(d, service, windows, order, depot):
    t, prev = depot[0], 0
    for s in order:
        t = max(t + d[prev, s], windows[s][0])
        if t > windows[s][1] + 1e-6:
            return False
        t += service[s]
        prev = s
    return t + d[prev, 0] <= depot[1] + 1e-6


def test_every_trip_is_optimal_and_beats_nearest_neighbour(week):
    compared = 0
    for school, kids, _m, _f in week.values():
        plan = routes.plan_week(school, WEEK, time_limit_s=5)
        visited = sorted(s.child_id for t in plan.trips for s in t.stops)
        assert visited == sorted(k.pk for k in kids) and plan.unfit == []
        half = dict(enumerate(routes.half_days()))
        for trip in plan.trips:
            n = len(trip.stops)
            assert n <= 8
            d = plan.matrix
            idx = [s.index for s in trip.stops]
            a, b = half[trip.half]
            service = {s.index: s.service_s for s in trip.stops}
            windows = {s.index: (max(a, s.window[0]), min(b, s.window[1]) - s.service_s) for s in trip.stops}
            # brute force: every order of the trip's stops, within the half-day and the windows
            orders = [o for o in permutations(idx) if feasible(d, service, windows, o, (a, b))]
            best = min(tour(d, o) for o in orders)
            assert trip.travel_s == pytest.approx(best, abs=0.1 * (n + 1))
            assert trip.travel_s == pytest.approx(tour(d, idx), abs=1e-6)  # legs are the matrix's
            # nearest neighbour from the school
            left, at, nn = set(idx), 0, []
            while left:
                at = min(left, key=lambda j, at=at: (d[at, j], j))
                nn.append(at)
                left.remove(at)
            assert trip.travel_s <= tour(d, nn) + 0.1 * (n + 1)
            compared += 1
    assert compared >= 3


def test_unfit_visits_are_listed_with_their_reason(week):
    school, kids, _m, _f = next(iter(week.values()))
    plans = HomeTeachingPlan.objects.filter(child__in=kids)
    plans.filter(child=kids[0]).update(preferred_days="6,7")  # weekends only: no half-day (no school day)
    plans.filter(child=kids[1]).update(available_from=time(12, 30), available_until=time(13, 30))  # between half-days
    kids[2].home = None  # and no household location to fall back on
    kids[2].household = None
    kids[2].save()
    p = routes.plan_week(school, WEEK, time_limit_s=2)
    reasons = {s.child_id: r for s, r in p.unfit}
    assert reasons == {kids[0].pk: routes.NO_DAY, kids[1].pk: routes.NO_DAY, kids[2].pk: routes.NO_HOME}
    assert sorted(s.child_id for t in p.trips for s in t.stops) == sorted(k.pk for k in kids[3:])


def test_pages_scope_and_audit(week):
    (a_code, (a, kids_a, male, female)), (b_code, (b, kids_b, *_)) = list(week.items())[:2]
    staff_a = login(UserRole.SCHOOL_STAFF, schools=[a])
    url = f"/hometeaching/school/{a_code}/routes/"
    before = AuditEvent.objects.count()
    page = staff_a.get(url, {"week": "2026-W47"})
    assert page.status_code == 200
    layer = staff_a.get(url + "layer.json", {"week": "2026-W47"})
    assert layer.status_code == 200
    text = json.dumps(layer.json(), ensure_ascii=False) + page.content.decode()
    for k in kids_a:
        assert k.name not in text  # initials only on the map and the route page
    stops = [f for f in layer.json()["features"] if f["properties"]["kind"] == "stop"]
    legs = [f for f in layer.json()["features"] if f["properties"]["kind"] == "leg"]
    assert len(stops) == 6 and {f["properties"]["initials"] for f in stops} == {routes.initials(k.name) for k in kids_a}
    assert all(len(f["geometry"]["coordinates"]) >= 2 and f["properties"]["minutes"] >= 0 for f in legs)
    assert AuditEvent.objects.count() >= before + 2
    # another school's routes, plans and pages: 404 for school A's staff
    plan_b = HomeTeachingPlan.objects.filter(school=b).first()
    assert staff_a.get(f"/hometeaching/school/{b_code}/routes/", {"week": "2026-W47"}).status_code == 404
    assert staff_a.get(f"/hometeaching/plan/{plan_b.pk}/").status_code == 404
    assert staff_a.get(f"/hometeaching/{b_code}/").status_code == 404
    assert staff_a.post(f"/hometeaching/plan/{plan_b.pk}/visit/", {"date": "2026-11-17"}).status_code == 404
    assert not HomeVisit.objects.filter(plan=plan_b).exists()
    # a township official of another township, and a planner: 404
    other_town = School.objects.exclude(township=a.township).exclude(township=b.township).first().township
    official = login(UserRole.TOWNSHIP_OFFICIAL, areas=[other_town.code])
    assert official.get(url, {"week": "2026-W47"}).status_code == 404
    planner = login(UserRole.COUNTY_PLANNER)
    assert planner.get(url, {"week": "2026-W47"}).status_code == 404
    assert planner.get("/hometeaching/330783/").status_code == 404
    # the township's own official sees the school's routes
    own = login(UserRole.TOWNSHIP_OFFICIAL, areas=[a.township.code])
    assert own.get(url, {"week": "2026-W47"}).status_code == 200
    # bad weeks and trips: 400 / 404, never 500
    for bad in ("2026-W99", "x\x00", "9999-W01", "2026-W"):
        assert staff_a.get(url, {"week": bad}).status_code == 400
    assert staff_a.get(url + "sheet.pdf", {"week": "2026-W47", "trip": "99"}).status_code == 404
    assert staff_a.get("/hometeaching/school/12345/routes/").status_code == 404


def test_record_a_visit_and_print(week, tmp_path):
    code, (school, kids, male, female) = next(iter(week.items()))
    staff = login(UserRole.SCHOOL_STAFF, schools=[school])
    plan = HomeTeachingPlan.objects.get(child=kids[0])
    assert staff.get(f"/hometeaching/plan/{plan.pk}/").status_code == 200
    ok = staff.post(f"/hometeaching/plan/{plan.pk}/visit/", {
        "date": "2026-11-17", "start_time": "09:00", "end_time": "10:20", "class_hours": "2", "teachers": [male.pk, female.pk],
        "content": "生活自理训练", "progress": "能独立穿鞋", "guardian_signed": "on", "guardian_signature": "张某"})
    assert ok.status_code == 302
    v = HomeVisit.objects.get(plan=plan, date=date(2026, 11, 17))
    assert v.minutes == 80 and set(v.teachers.all()) == {male, female} and v.guardian_signature == "张某"
    bad = staff.post(f"/hometeaching/plan/{plan.pk}/visit/", {
        "date": "2026-11-18", "start_time": "10:00", "end_time": "09:00", "teachers": [male.pk, female.pk]})
    assert bad.status_code == 400 and not HomeVisit.objects.filter(plan=plan, date=date(2026, 11, 18)).exists()
    pdf = staff.get(f"/hometeaching/plan/{plan.pk}/handbook.pdf", {"year": "2026", "term": "1"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert staff.get(f"/hometeaching/plan/{plan.pk}/handbook.pdf", {"year": "abc", "term": "1"}).status_code == 400
    handbook = tmp_path / "h.pdf"
    handbook.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(handbook), "-"], capture_output=True, text=True, check=True).stdout
    assert "送 教 上 门 手 册" in text and "能独立穿鞋" in text and kids[0].id_masked in text
    out = tmp_path / "routes.pdf"
    with open(tmp_path / "log", "w") as log:
        call_command("plan_routes", school=code, week="2026-W47", out=str(out), stdout=log)
    sheet = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "送教上门路线单" in sheet and routes.initials(kids[0].name) in sheet
    assert all(k.name not in sheet for k in kids)


def test_the_half_day_is_chosen_with_the_order(week):
    """Two children of one school living at the same spot, one available on Tuesdays only, the other
    with two visits a week on any day: the best week (by hand) puts the first visit of the second on
    Tuesday with the first child — one trip serves both — and the second visit alone on another day
    (a plan's visits go on different days). Between two doors at one spot the engine counts the walk
    to the road and back, so by hand the week costs school → home → home → school plus a round trip,
    on a matrix computed here (any other assignment adds a third trip from the school)."""
    school, kids, _m, _f = next(iter(week.values()))
    plans = HomeTeachingPlan.objects.filter(child__in=kids)
    plans.exclude(child__in=kids[:2]).update(end_date=date(2026, 11, 1))  # only two plans in force
    kids[1].home = kids[0].home
    kids[1].save()
    plans.filter(child=kids[0]).update(preferred_days="2")
    plans.filter(child=kids[1]).update(visits_per_week=2)
    p = routes.plan_week(school, WEEK, time_limit_s=2)
    assert p.unfit == []
    home = [kids[0].home.x, kids[0].home.y]
    d = engine.od_matrix(np.array([[school.location.x, school.location.y], home, home]),
                         settings.GRIDMAP_HOME_TRAVEL_MODE)
    assert p.travel_s == pytest.approx(d[0, 1] + d[1, 2] + d[2, 0] + d[0, 2] + d[2, 0], abs=0.5)
    assert d[0, 1] + d[1, 2] + d[2, 0] < d[0, 1] + d[1, 0] + d[0, 2] + d[2, 0]  # together beats apart
    together = [t for t in p.trips if len(t.stops) == 2]
    assert len(together) == 1 and together[0].day == date(2026, 11, 17)
    assert {s.child_id for s in together[0].stops} == {kids[0].pk, kids[1].pk}
    days_of_second = [t.day for t in p.trips for s in t.stops if s.child_id == kids[1].pk]
    assert len(days_of_second) == 2 and len(set(days_of_second)) == 2


def test_a_teacher_in_two_pairs_is_out_once_a_half_day(week):
    """A male teacher in two pairs, each pair with one child who can be seen only on Monday morning:
    one pair takes Monday morning, the other finds no half-day left and says so."""
    school, kids, male, female = next(iter(week.values()))
    other = Person.objects.create(name="另一位女老师", sex="F", school=school)
    plans = HomeTeachingPlan.objects.filter(child__in=kids)
    plans.exclude(child__in=kids[:2]).update(end_date=date(2026, 11, 1))
    plans.filter(child__in=kids[:2]).update(preferred_days="1", available_from=time(8, 0), available_until=time(12, 0))
    plans.get(child=kids[1]).teachers.set([male, other])
    p = routes.plan_week(school, WEEK, time_limit_s=2)
    assert [(t.day, t.half, len(t.stops)) for t in p.trips] == [(date(2026, 11, 16), 0, 1)]
    assert [(s.child_id, r) for s, r in p.unfit] in ([(kids[0].pk, routes.NO_ROOM)], [(kids[1].pk, routes.NO_ROOM)])


def test_a_child_taught_in_an_institution_is_visited_there(week):
    """A plan in a welfare home or a rehabilitation institution routes to the institution's location, not
    the registered home: the stop stands there and the school's leg to it is the engine's time to that
    point; without a location the visit is listed as unplannable with its reason; the plan form asks for
    the name and a location inside the county."""
    from django.contrib.gis.geos import Point

    code, (school, kids, male, female) = next(iter(week.items()))
    plan = HomeTeachingPlan.objects.get(child=kids[0])
    home = kids[0].home
    place = Point(school.location.x + 0.01, school.location.y - 0.008, srid=4326)
    HomeTeachingPlan.objects.filter(pk=plan.pk).update(place="welfare_home", place_name="东阳市儿童福利院",
                                                       place_location=place)
    week_plan = routes.plan_week(school, WEEK, time_limit_s=2)
    stop = next(s for t in week_plan.trips for s in t.stops if s.plan_id == plan.pk)
    assert stop.lonlat == (place.x, place.y) != (home.x, home.y) and stop.address == "东阳市儿童福利院"
    mode = str(settings.GRIDMAP_HOME_TRAVEL_MODE)
    alone = engine.od_matrix(engine.snap(np.array([[school.location.x, school.location.y], [place.x, place.y]]),
                                         mode), mode)
    assert week_plan.matrix[0, stop.index] == pytest.approx(alone[0, 1], abs=1e-6)
    HomeTeachingPlan.objects.filter(pk=plan.pk).update(place_location=None)
    week_plan = routes.plan_week(school, WEEK, time_limit_s=2)
    assert [(s.plan_id, why) for s, why in week_plan.unfit if s.plan_id == plan.pk] == [(plan.pk, routes.NO_PLACE)]
    # the form: a name and a location inside the county, or nothing is saved
    staff = login(UserRole.SCHOOL_STAFF, schools=[school])
    base = {"place": "rehab", "teachers": [male.pk, female.pk], "visits_per_week": 1, "hours_per_visit": 2,
            "available_from": "08:00", "available_until": "17:30", "disability_level": "2"}
    for extra, field in (({"place_name": "", "place_lonlat": f"{place.x}, {place.y}"}, "place_name"),
                         ({"place_name": "康复中心", "place_lonlat": "abc"}, "place_lonlat"),
                         ({"place_name": "康复中心", "place_lonlat": "100.0, 40.0"}, "place_lonlat"),
                         ({"place_name": "康复中心", "place_lonlat": "nan, nan"}, "place_lonlat")):
        page = staff.post(f"/hometeaching/plan/{plan.pk}/", {**base, **extra})
        assert page.status_code == 200 and field in page.content.decode(), extra
        assert HomeTeachingPlan.objects.get(pk=plan.pk).place == "welfare_home"  # unchanged
    ok = staff.post(f"/hometeaching/plan/{plan.pk}/", {**base, "place_name": "康复中心",
                                                        "place_lonlat": f"{place.x:.6f}，{place.y:.6f}"})
    assert ok.status_code == 302
    saved = HomeTeachingPlan.objects.get(pk=plan.pk)
    assert saved.place == "rehab" and saved.place_name == "康复中心"
    assert saved.place_location.distance(place) < 1e-6

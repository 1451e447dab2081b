"""The week plan's cache (a change to what a plan depends on gives a new plan, nothing else does),
the route layer's ETag endpoint, the layer as a toggle of the grid map (scoped as the routes page),
the routes page drawn over the grid map's context layers, and the settings checks."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection

from gridmap.models import (
    AuditEvent,
    CalendarDay,
    Child,
    HomeTeachingPlan,
    HomeVisit,
    Person,
    School,
    UserRole,
)
from hometeaching import cache, checks
from tests.test_access import login
from tests.test_hometeaching_routes import WEEK, week  # noqa: F401  (the fixture)


@pytest.fixture(autouse=True)
def private_cache(settings, request):
    """Each test its own empty cache (in memory), so that no test sees another's plans."""
    settings.CACHES = {**settings.CACHES, "hometeaching": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.name}}


def again(school):
    return cache.week_plan(School.objects.get(pk=school.pk), WEEK)


def test_a_change_to_what_a_plan_depends_on_gives_a_new_plan_and_nothing_else_does(week, settings):  # noqa: F811
    (a, kids, male, female), (b, kids_b, *_rest) = list(week.values())[:2]
    first = cache.week_plan(a, WEEK)
    assert not first.from_cache and first.trips and first.lines  # legs drawn with the plan
    second = again(a)
    assert second.from_cache and second.planned_at == first.planned_at and second.fingerprint == first.fingerprint

    unrelated = [
        lambda: HomeTeachingPlan.objects.filter(child=kids_b[0]).update(hours_per_visit=3),  # another school's plan
        lambda: Child.objects.filter(pk=kids_b[1].pk).update(home="SRID=4326;POINT(120.3 29.2)"),  # its child moved
        lambda: Child.objects.filter(pk=kids[0].pk).update(status="home_taught"),  # a status: not in a route
        lambda: HomeVisit.objects.create(plan=HomeTeachingPlan.objects.get(child=kids[0]), date=date(2026, 11, 3)),  # W45
        lambda: CalendarDay.objects.create(date=date(2026, 11, 30), school_day=False, name="假"),  # next week
        lambda: AuditEvent.objects.create(action="view", summary="x"),
        lambda: Person.objects.create(name="新老师", sex="M", school=a),  # not on a plan
    ]
    for change in unrelated:
        change()
        got = again(a)
        assert got.from_cache and got.planned_at == first.planned_at

    plan = HomeTeachingPlan.objects.get(child=kids[0])
    dependent = [
        lambda: HomeTeachingPlan.objects.filter(pk=plan.pk).update(hours_per_visit=2),
        lambda: plan.teachers.add(Person.objects.create(name="第三位老师", sex="F", school=a)),
        lambda: Child.objects.filter(pk=kids[1].pk).update(home=kids[2].home),
        lambda: Child.objects.filter(pk=kids[1].pk).update(name="改名字"),  # the initials on the map
        lambda: HomeVisit.objects.create(plan=plan, date=date(2026, 11, 17)),  # a visit of the week
        lambda: CalendarDay.objects.create(date=date(2026, 11, 16), school_day=False, name="假"),  # Monday off
        lambda: HomeTeachingPlan.objects.filter(pk=plan.pk).update(end_date=date(2026, 11, 15)),  # ended before
        lambda: setattr(settings, "GRIDMAP_HOME_HALF_DAYS", "08:30-12:00,14:00-17:30"),
        lambda: setattr(settings, "GRIDMAP_HOME_SOLVER_SECONDS", 5),
        lambda: connection.cursor().execute("UPDATE routing_networkversion SET version = version + 1 WHERE id = 1"),
    ]
    seen, plans = {first.fingerprint}, []
    for change in dependent:
        change()
        got = again(a)
        assert not got.from_cache and got.fingerprint not in seen
        seen.add(got.fingerprint)
        plans.append(got)
        assert again(a).from_cache  # and that one is kept in its turn
    # the new plans say what changed: the first child's visit now lasts 2 class hours (80 minutes),
    # then the ended plan is gone, Monday is off and the morning starts at 08:30
    service = {s.child_id: round(s.service_s) for t in plans[0].trips for s in t.stops}
    assert service[kids[0].pk] == 80 * 60 and service[kids[1].pk] == 40 * 60
    assert kids[0].pk not in {s.child_id for t in got.trips for s in t.stops}
    assert all(t.day != date(2026, 11, 16) for t in got.trips)
    assert all(t.half != 0 or t.depart >= 8.5 * 3600 for t in got.trips)


def test_page_layer_and_sheet_plan_once_and_the_etag(week):  # noqa: F811
    code, (school, kids, _m, _f) = next(iter(week.items()))
    staff = login(UserRole.SCHOOL_STAFF, schools=[school])
    url = f"/hometeaching/school/{code}/routes/"
    assert staff.get(url, {"week": "2026-W47"}).status_code == 200
    planned = cache.week_plan(school, WEEK)
    assert planned.from_cache  # the page planned it; the layer, the sheet and the phone page reuse it
    layer = staff.get(url + "layer.json", {"week": "2026-W47"})
    assert layer.status_code == 200 and layer["ETag"] and "private" in layer["Cache-Control"]
    assert staff.get(url + "sheet.pdf", {"week": "2026-W47"}).status_code == 200
    assert cache.week_plan(school, WEEK).planned_at == planned.planned_at
    before = AuditEvent.objects.count()
    same = staff.get(url + "layer.json", {"week": "2026-W47"}, HTTP_IF_NONE_MATCH=layer["ETag"])
    assert same.status_code == 304 and same["ETag"] == layer["ETag"] and AuditEvent.objects.count() == before
    HomeTeachingPlan.objects.filter(child=kids[0]).update(available_from="09:00")
    changed = staff.get(url + "layer.json", {"week": "2026-W47"}, HTTP_IF_NONE_MATCH=layer["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != layer["ETag"]
    other_week = staff.get(url + "layer.json", {"week": "2026-W46"}, HTTP_IF_NONE_MATCH=layer["ETag"])
    assert other_week.status_code == 200
    stops = [f["properties"] for f in changed.json()["features"] if f["properties"]["kind"] == "stop"]
    legs = [f["properties"] for f in changed.json()["features"] if f["properties"]["kind"] == "leg"]
    colours = {t["number"]: t["colour"] for t in changed.json()["trips"]}
    assert stops and all(s["colour"] == colours[s["trip"]] for s in stops)  # stops take their trip's colour
    assert all(leg["colour"] == colours[leg["trip"]] and leg["arrows"] for leg in legs)
    for trip in changed.json()["trips"]:
        assert sorted(s["n"] for s in stops if s["trip"] == trip["number"]) == list(range(1, trip["stops"] + 1))


def test_the_route_layer_is_a_toggle_of_the_grid_map_for_who_may_see_it(week):  # noqa: F811
    (a_code, (a, *_r)), (b_code, (b, *_s)) = list(week.items())[:2]
    town = a.township.code
    layer_url = f"/hometeaching/school/{a_code}/routes/layer.json"
    staff = login(UserRole.SCHOOL_STAFF, schools=[a])
    page = staff.get(f"/grid/{town}/").content.decode()
    assert "gmRoutes.attach" in page and layer_url in page
    assert f"/hometeaching/school/{b_code}/" not in page  # not another school's
    official = login(UserRole.TOWNSHIP_OFFICIAL, areas=[town])
    assert layer_url in official.get(f"/grid/{town}/").content.decode()
    admin = login(UserRole.COUNTY_ADMIN)
    county = admin.get("/grid/330783/").content.decode()
    assert layer_url in county and f"/hometeaching/school/{b_code}/routes/layer.json" in county
    for aggregate_only in (login(UserRole.COUNTY_PLANNER), login(UserRole.INSPECTOR)):
        text = aggregate_only.get("/grid/330783/").content.decode()
        assert "gmRoutes" not in text and "/hometeaching/" not in text
        assert aggregate_only.get(layer_url, {"week": "2026-W47"}).status_code == 404
    other_town = School.objects.exclude(township__in=[a.township, b.township]).first().township.code
    stranger = login(UserRole.TOWNSHIP_OFFICIAL, areas=[other_town])
    assert layer_url not in stranger.get(f"/grid/{other_town}/").content.decode()
    assert stranger.get(layer_url, {"week": "2026-W47"}).status_code == 404


def test_the_routes_page_has_the_grid_maps_context(week):  # noqa: F811
    code, (school, *_r) = next(iter(week.items()))
    staff = login(UserRole.SCHOOL_STAFF, schools=[school])
    page = staff.get(f"/hometeaching/school/{code}/routes/", {"week": "2026-W47"})
    text = page.content.decode()
    assert page.status_code == 200 and "gmRoutes.attach" in text and '"fit": true' in text
    # the grid map's context, found by what each layer draws: roads (highway), schools (kind_key),
    # boundaries (the township's code), the names of its villages; the page's own trips list
    assert '"highway"' in text and '"kind_key"' in text and f'"code": "{school.township.code}"' in text
    assert "gm-label" in text and "gm-trip" in text
    assert "unpkg" not in text and "cdn" not in text.lower()  # nothing from the internet


@pytest.mark.parametrize("name, value, check_id", [
    ("GRIDMAP_HOME_VISITS_PER_WEEK", "x", "hometeaching.E001"),
    ("GRIDMAP_HOME_VISITS_PER_WEEK", 0, "hometeaching.E001"),
    ("GRIDMAP_HOME_VISITS_PER_WEEK", 8, "hometeaching.E001"),
    ("GRIDMAP_HOME_HOURS_PER_VISIT", 2.5, "hometeaching.E002"),
    ("GRIDMAP_HOME_HOURS_PER_VISIT", 0, "hometeaching.E002"),
    ("GRIDMAP_CLASS_HOUR_MINUTES", "forty", "hometeaching.E003"),
    ("GRIDMAP_CLASS_HOUR_MINUTES", 5, "hometeaching.E003"),
    ("GRIDMAP_HOME_HALF_DAYS", "8-12", "hometeaching.E004"),
    ("GRIDMAP_HOME_HALF_DAYS", "12:00-08:00", "hometeaching.E004"),
    ("GRIDMAP_HOME_HALF_DAYS", "08:00-12:00,11:00-17:00", "hometeaching.E004"),
    ("GRIDMAP_HOME_HALF_DAYS", "", "hometeaching.E004"),
    ("GRIDMAP_HOME_HALF_DAYS", "08:00-09:00", "hometeaching.E005"),  # shorter than one 80-minute visit
    ("GRIDMAP_HOME_TRAVEL_MODE", "plane", "hometeaching.E006"),
    ("GRIDMAP_HOME_SOLVER_SECONDS", "ten", "hometeaching.E007"),
    ("GRIDMAP_HOME_SOLVER_SECONDS", 0, "hometeaching.E007"),
    ("GRIDMAP_HOME_SOLVER_SECONDS", 3600, "hometeaching.E007"),
])
def test_each_malformed_setting_is_an_error_with_a_hint(settings, name, value, check_id):
    assert not [e for e in run_checks() if e.id.startswith("hometeaching.")]
    setattr(settings, name, value)
    found = [e for e in run_checks() if e.id.startswith("hometeaching.")]
    assert [e.id for e in found] == [check_id] and found[0].hint and name in found[0].msg
    with pytest.raises(SystemCheckError):
        call_command("check")


def test_settings_parsed_at_start_keep_a_bad_value_for_the_check():
    """From the environment: the process stops at `manage.py check` with the hint, not a traceback."""
    run = subprocess.run([sys.executable, "manage.py", "check"], capture_output=True, text=True,
                         env={**os.environ, "GRIDMAP_HOME_VISITS_PER_WEEK": "two",
                              "GRIDMAP_HOME_HALF_DAYS": "morning"})
    assert run.returncode != 0
    assert "hometeaching.E001" in run.stderr and "hometeaching.E004" in run.stderr and "HINT" in run.stderr
    assert "Traceback" not in run.stderr
    assert checks.WHOLE_NUMBERS  # the module registered by the app's ready()


def test_a_village_cadre_sees_no_route_through_another_villages_homes(week):  # noqa: F811
    """The routes show every child of the school's week with address and guardian: a village cadre who
    sees the school (it serves the village) but not the children of its other villages gets none of them
    — page, layer, sheets, phone page, nor the grid map's toggle; a cadre of a school whose every
    home-taught child lives in the village gets them."""
    code, (school, kids, male, female) = next(iter(week.items()))
    villages = sorted({k.group.code[:12] for k in kids})
    # one more home-taught child of the school, from another village of its township
    other = (Child.objects.filter(group__code__startswith=school.township.code, home__isnull=False)
             .exclude(group__code__startswith=villages[0]).exclude(home_teaching_plans__isnull=False).first())
    plan = HomeTeachingPlan.objects.create(child=other, school=school, start_date=date(2026, 9, 1), hours_per_visit=1)
    plan.teachers.set([male, female])
    urls = [f"/hometeaching/school/{code}/routes/{tail}" for tail in ("", "layer.json", "sheet.pdf", "phone/")]
    cadre = login(UserRole.VILLAGE_CADRE, areas=[villages[0]])
    assert cadre.get(f"/schools/{code}/").status_code == 200  # the school itself is visible to the cadre
    for url in urls:
        assert cadre.get(url, {"week": "2026-W47"}).status_code == 404, url
    grid = cadre.get(f"/grid/{villages[0]}/").content.decode()
    assert f"/hometeaching/school/{code}/routes/layer.json" not in grid
    # the same cadre once every home-taught child of the school's week lives in the village
    HomeTeachingPlan.objects.filter(school=school).exclude(child__group__code__startswith=villages[0]).update(
        end_date=date(2026, 11, 1))
    for url in urls:
        assert cadre.get(url, {"week": "2026-W47"}).status_code == 200, url
    staff = login(UserRole.SCHOOL_STAFF, schools=[school])
    assert staff.get(urls[0], {"week": "2026-W47"}).status_code == 200

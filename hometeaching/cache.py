"""A school's week of trips, planned once and kept under a fingerprint of everything it depends on.

The routes page, the route layer (its own endpoint and the grid map's toggle), the A4 sheets and the
phone page of one school and week all ask `week_plan(school, week)`; planning (matrix + solver, and
the legs drawn along the roads) happens on the first request only. The key is a fingerprint of:

- the school (code, name, location);
- its plans in force in the week — every field — with their teachers (name and sex);
- the children of those plans: name (initials), home or household location, village group,
  household address and head;
- the recorded visits of those plans in the week, and the school calendar of the week;
- the road network (`routing.network.version()`), the teachers' mode and the access cap;
- the settings that shape a plan (GRIDMAP_HOME_*, GRIDMAP_CLASS_HOUR_MINUTES) and PLANNER, a
  version of this code.

Any change to one of them gives another key, hence a new plan; nothing else does. Old entries are
never read again and age out of the cache. The cache is Django's alias CACHE_ALIAS when settings
define it (gridmap/settings.py: files under var/cache/, shared by gunicorn's workers), else the
default cache.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.gis.db.models.functions import AsWKT
from django.core.cache import BaseCache, caches

from gridmap import visits as weekly
from gridmap.models import CalendarDay, HomeTeachingPlan, HomeVisit, School
from hometeaching.routes import WeekPlan, plan_week, trip_lines, week_plans
from routing import network
from routing.modes import access_max_m
from routing.modes import mode as travel_mode

CACHE_ALIAS = "hometeaching"
PLANNER = "vrptw-week-1"  # bump when planning changes what it returns for the same data
TIMEOUT_S = 14 * 24 * 3600
SETTINGS = ("GRIDMAP_HOME_HALF_DAYS", "GRIDMAP_HOME_TRAVEL_MODE", "GRIDMAP_HOME_SOLVER_SECONDS",
            "GRIDMAP_HOME_VISITS_PER_WEEK", "GRIDMAP_HOME_HOURS_PER_VISIT", "GRIDMAP_CLASS_HOUR_MINUTES")
log = logging.getLogger(__name__)


def _store() -> BaseCache:
    return caches[CACHE_ALIAS if CACHE_ALIAS in settings.CACHES else "default"]


def fingerprint(school: School, week: weekly.Week) -> str:
    """Changes whenever plan_week(school, week) could give another answer (see the module)."""
    mon = weekly.monday(week)
    sun = mon + timedelta(days=6)
    plans = week_plans(school, week)
    plan_fields = [f.attname for f in HomeTeachingPlan._meta.concrete_fields]
    parts: list[Any] = [
        PLANNER, school.pk, school.code, school.name,
        School.objects.filter(pk=school.pk).annotate(w=AsWKT("location")).values_list("w", flat=True).first(),
        list(plans.order_by("pk").values_list(*plan_fields)),
        list(HomeTeachingPlan.teachers.through.objects.filter(hometeachingplan__in=plans.values("pk"))
             .order_by("hometeachingplan_id", "person_id")
             .values_list("hometeachingplan_id", "person_id", "person__name", "person__sex")),
        list(plans.order_by("pk").annotate(home_w=AsWKT("child__home"), household_w=AsWKT("child__household__location"))
             .values_list("child_id", "child__name", "home_w", "household_w", "child__group__name",
                          "child__household__address", "child__household__head_name")),
        list(HomeVisit.objects.filter(plan__in=plans.values("pk"), date__range=(mon, sun)).order_by("pk")
             .values_list("pk", "plan_id", "date", "start_time", "end_time", "class_hours", "minutes")),
        list(CalendarDay.objects.filter(date__range=(mon, sun)).order_by("date").values_list("date", "school_day")),
        network.version(), travel_mode(str(settings.GRIDMAP_HOME_TRAVEL_MODE)).fingerprint(), access_max_m(),
        [getattr(settings, name, None) for name in SETTINGS],
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def week_plan(school: School, week: weekly.Week) -> WeekPlan:
    """The week's trips of the school: from the cache when nothing they depend on has changed."""
    fp = fingerprint(school, week)
    key = f"hometeaching:week:{school.pk}:{week[0]}-W{week[1]:02d}:{fp}"
    store = _store()
    try:
        cached = store.get(key)
    except Exception:  # an entry written by other code (unpickling failed): plan afresh
        log.warning("unreadable cached week plan %s", key, exc_info=True)
        cached = None
    if isinstance(cached, WeekPlan):
        cached.from_cache = True
        return cached
    plan = plan_week(school, week)
    t0 = time.perf_counter()
    plan.lines = {t.number: trip_lines(plan, t) for t in plan.trips}
    plan.lines_s = time.perf_counter() - t0
    plan.fingerprint = fp
    store.set(key, plan, TIMEOUT_S)
    return plan

"""What a school's page shows (/schools/<code>/), computed for one login.

- the school: kind, grades, approved places, boarding, status, township;
- enrolment by grade and school year (the classes on record: as many years as the data holds);
- its catchment (the village groups assigned to it) for the map;
- its pupils' travel time to it over the roads (routing.engine.times_to; each pupil in the day mode
  of their grade's norm), as a distribution in 5-minute bands, and the pupils beyond the norm by grade;
- the people who answer for it (principal, head teachers, send-teaching-home teachers) with phones;
- the children taught at home whose visits it runs: a count for the aggregate-only roles, a list
  (masked IDs) for the others.
Counts of children reach the page through planning.disclosure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.contrib.gis.db.models.functions import Transform
from django.db.models import Count, Q

from gaps.norms import norms, within
from gridmap import access, schooling
from gridmap.disclosure import PRIMARY, SMALL, Relation, protect
from gridmap.models import (
    Area,
    Child,
    ChildStatus,
    HomeTeachingPlan,
    Responsibility,
    Role,
    School,
    SchoolClass,
)
from gridmap.models.functions import SimplifyPreserveTopology
from planning.disclosure import WITHHELD, Decision, Key, individual
from planning.report import Count as Shown
from planning.report import exact
from routing import engine

BANDS = (5, 10, 15, 20, 30, 45, 60, 90)  # upper ends of the travel-time bands, minutes
GONE = [ChildStatus.TRANSFERRED_OUT, ChildStatus.GRADUATED]
PEOPLE_ROLES = [Role.PRINCIPAL, Role.HEAD_TEACHER, Role.HOME_TEACHER]


@dataclass
class SchoolPage:
    school: School
    years: list[int]
    grades: list[int]
    enrolment: list[dict[str, Any]]  # per school year: grade → count, total
    bands: list[dict[str, Any]]  # label, count, share (for the bar)
    beyond: list[dict[str, Any]]  # grade, pupils, beyond the norm
    measured: Shown
    off_network: Shown
    median_min: float | None
    people: list[dict[str, str]]
    home_taught: Shown
    home_taught_rows: list[dict[str, Any]] = field(default_factory=list)
    catchment_json: dict[str, Any] = field(default_factory=dict)
    norms: list[str] = field(default_factory=list)


def page(user: Any, school: School, on: date | None = None) -> SchoolPage:
    on = on or date.today()
    year = schooling.school_year(on)
    counts = (SchoolClass.objects.filter(school=school).values("school_year", "grade")
              .annotate(n=Count("children", filter=~Q(children__status__in=GONE))).order_by("school_year", "grade"))
    years = sorted({r["school_year"] for r in counts})
    grades = list(range(school.first_grade, school.last_grade + 1))
    table: dict[int, dict[int, int]] = {y: {} for y in years}
    for r in counts:
        table[r["school_year"]][r["grade"]] = table[r["school_year"]].get(r["grade"], 0) + r["n"]
    configured = norms()
    pupils = list(Child.objects.filter(school_class__school=school, school_class__school_year=year,
                                       home__isnull=False).exclude(status__in=GONE)
                  .values_list("school_class__grade", "home"))
    seconds = np.full(len(pupils), np.inf)
    grade = np.array([g for g, _h in pupils], dtype=np.int64)
    homes = np.array([(h.x, h.y) for _g, h in pupils if h is not None], dtype=np.float64).reshape(-1, 2)
    limits = np.zeros(len(pupils), dtype=np.int64)
    for nm in configured:
        rows = np.flatnonzero((grade >= nm.first_grade) & (grade <= nm.last_grade))
        limits[rows] = nm.minutes
        if len(rows):
            trips = engine.times_to(homes[rows], np.array([[school.location.x, school.location.y]]), nm.mode)
            seconds[rows] = trips.time_s
    finite = np.isfinite(seconds)
    minutes = seconds[finite] / 60
    edges = [0, *BANDS, np.inf]
    band_counts = [int(((minutes > a) & (minutes <= b)).sum()) if a else int((minutes <= b).sum())
                   for a, b in zip(edges[:-1], edges[1:], strict=True)]
    beyond_all = np.isfinite(seconds) & ~within(seconds, limits.astype(np.int64))  # off the network: counted apart
    values: dict[Key, int] = {}
    for y in years:
        for g in grades:
            values[("enrol", y, g)] = table[y].get(g, 0)
        values[("enrol", y, "total")] = sum(table[y].values())
    for i, c in enumerate(band_counts):
        values[("band", i)] = c
    values[("measured",)], values[("off",)] = int(finite.sum()), int((~finite).sum())
    for g in grades:
        values[("pupils", g)] = int((grade == g).sum())
        values[("beyond", g)] = int((beyond_all & (grade == g)).sum())
    values[("home_taught",)] = home_taught_plans(school, on).count()
    shown = exact if individual(user) else decide(values, year, grades, len(band_counts))
    enrolment = [{"year": y, "by_grade": [shown(table[y].get(g, 0), ("enrol", y, g)) for g in grades],
                  "total": shown(sum(table[y].values()), ("enrol", y, "total"))} for y in years]
    top = max(band_counts) if band_counts else 0
    labels = [f"≤{BANDS[0]}"] + [f"{a}–{b}" for a, b in zip(BANDS[:-1], BANDS[1:], strict=True)] + [f">{BANDS[-1]}"]
    bands = [{"label": lab, "count": shown(c, ("band", i)),
              "width": round(100 * c / top) if top and shown(c, ("band", i)) == c else 0}
             for i, (lab, c) in enumerate(zip(labels, band_counts, strict=True))]
    beyond = [{"grade": g, "pupils": shown(values[("pupils", g)], ("pupils", g)),
               "beyond": shown(values[("beyond", g)], ("beyond", g))} for g in grades]
    measured = shown(values[("measured",)], ("measured",))
    median = (float(np.median(minutes)) if len(minutes) and (individual(user) or (len(minutes) >= 5
              and measured == len(minutes))) else None)
    return SchoolPage(
        school=school, years=years, grades=grades, enrolment=enrolment, bands=bands, beyond=beyond,
        measured=measured, off_network=shown(values[("off",)], ("off",)),
        median_min=round(median, 1) if median is not None else None, people=people(user, school),
        home_taught=shown(values[("home_taught",)], ("home_taught",)), home_taught_rows=home_taught_rows(user, school, on),
        catchment_json=catchment_geojson(school), norms=[nm.explain() for nm in configured])


def decide(values: dict[Key, int], year: int, grades: list[int], n_bands: int, *,
           complements: bool = True) -> Decision:
    """The school page's protected decision (issue 11): a year's enrolment = its grades; the pupils
    measured = the travel-time bands; the pupils by grade = measured + off the network; beyond the norm
    <= the pupils of the grade <= the grade's enrolment this year. This year's total enrolment is the
    school's enrolment in every scenario (planning.disclosure.baseline_states): kept as decided there."""
    latent: dict[Key, int] = {}
    rels: list[Relation] = []
    for y in {k[1] for k in values if k[0] == "enrol"}:
        rels.append(Relation(("enrol", y, "total"), tuple(("enrol", y, g) for g in grades)))
    rels.append(Relation(("measured",), tuple(("band", i) for i in range(n_bands))))
    latent[("pupils",)] = values[("measured",)] + values[("off",)]
    rels.append(Relation(("pupils",), tuple(("pupils", g) for g in grades)))
    rels.append(Relation(("pupils",), (("measured",), ("off",))))
    for g in grades:
        for part, whole in ((("beyond", g), ("pupils", g)), (("pupils", g), ("enrol", year, g))):
            if whole in values and values[whole] >= values[part]:
                latent[("slack", part, whole)] = values[whole] - values[part]
                rels.append(Relation(whole, (part, ("slack", part, whole))))
    kept = [r for r in rels if sum(values.get(k, latent.get(k, 0)) for k in r.parts)
            == values.get(r.total, latent.get(r.total, -1))]
    total = ("enrol", year, "total")
    fixed: dict[Key, str | None] = {}
    if total in values:
        fixed[total] = PRIMARY if 0 < values[total] < SMALL else None
    result = protect(values, kept, fixed=fixed, complements=complements)
    hidden = dict(result.hidden)
    hidden.update(dict.fromkeys((k for k in result.unprotected if k not in fixed), WITHHELD))
    return Decision(hidden, frozenset(values))


def people(user: Any, school: School) -> list[dict[str, str]]:
    rows = (Responsibility.objects.filter(Q(school=school) | Q(school_class__school=school), role__in=PEOPLE_ROLES,
                                          end_date__isnull=True, person__in=access.visible_people(user))
            .select_related("person", "school_class").order_by("school_class__grade", "school_class__number", "role"))
    out = []
    for r in sorted(rows, key=lambda r: r.role != Role.PRINCIPAL):  # the principal first
        what = r.get_role_display()
        if r.school_class is not None:
            what = f"{what} · {r.school_class.grade}年级{r.school_class.number}班"
        person = r.person
        if person is not None:
            out.append({"role": str(what), "name": person.name, "phone": person.phone})
    return out


def home_taught_plans(school: School, on: date) -> Any:
    return HomeTeachingPlan.objects.filter(Q(end_date__isnull=True) | Q(end_date__gte=on), school=school,
                                           start_date__lte=on)


def home_taught_rows(user: Any, school: School, on: date) -> list[dict[str, Any]]:
    """The children taught at home by this school whom the login may see one by one (none for
    planners and inspectors)."""
    if not individual(user):
        return []
    plans = (home_taught_plans(school, on).filter(child__in=access.visible_children(user))
             .select_related("child", "child__group").order_by("child__group__code", "child__name"))
    return [{"child_id": p.child_id, "name": p.child.name, "id_masked": p.child.id_masked, "group": p.child.group.name,
             "place": p.get_place_display(), "visits_per_week": p.visits_per_week} for p in plans]


def catchment_geojson(school: School) -> dict[str, Any]:
    """The school and the village groups of its catchment (simplified ~10 m), for the page's map."""
    groups = (Area.objects.filter(catchment_assignments__school=school).distinct()
              .annotate(simple=SimplifyPreserveTopology(Transform("geom", 4326), 0.0001))
              .values_list("code", "name", "simple"))
    features = [{"type": "Feature", "properties": {"code": c, "name": n, "kind": "group"},
                 "geometry": json.loads(g.geojson)} for c, n, g in groups]
    features.append({"type": "Feature", "properties": {"code": school.code, "name": school.name, "kind": "school"},
                     "geometry": json.loads(school.location.geojson)})
    return {"type": "FeatureCollection", "features": features}

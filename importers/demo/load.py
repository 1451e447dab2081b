"""Write a generated CountyDataset into PostGIS in one transaction.

Small tables go through the ORM (bulk_create returns their ids); households, children and status
histories go through COPY, which is ~15x faster than bulk_create at this size (STACK.md).
Loading is idempotent: a county already present is left alone unless `replace` is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import shapely
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import transaction
from django.db.models import Q

from gridmap.cases import assign_due_schools
from gridmap.models import (
    Area,
    Case,
    CaseStep,
    CatchmentAssignment,
    Child,
    Feature,
    HomeTeachingPlan,
    HomeVisit,
    Household,
    Person,
    Responsibility,
    Road,
    School,
    SchoolClass,
)
from importers.bulk import copy_rows, reserve_ids
from importers.demo import safetynet
from importers.demo.build import CountyDataset
from importers.roads import rebuild_network


@dataclass
class LoadResult:
    county_code: str
    loaded: bool  # False: the county was there already and nothing was written
    counts: dict[str, int]


def _geos(geom: Any) -> Any:
    """A shapely geometry as the GEOS type of the field it goes into (MultiPolygon, Point...)."""
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=4326)


def county_exists(code: str) -> bool:
    return Area.objects.filter(code=code, level="county").exists()


def delete_county(code: str) -> None:
    """Remove a county and everything hanging from it (children first: PROTECT guards the rest)."""
    areas = Area.objects.filter(code__startswith=code)
    children = Child.objects.filter(group__in=areas)
    schools = School.objects.filter(township__in=areas)
    people = list(Person.objects.filter(
        Q(school__in=schools) | Q(responsibilities__area__in=areas)
        | Q(responsibilities__child__in=children), synthetic=True).values_list("pk", flat=True))
    from safetynet.models import TermCheck, TermReport

    TermCheck.objects.filter(school__in=schools).delete()
    TermReport.objects.filter(area__in=areas).delete()
    Case.objects.filter(child__in=children).delete()
    HomeTeachingPlan.objects.filter(child__in=children).delete()
    Responsibility.objects.filter(child__in=children).delete()
    children.delete()
    Household.objects.filter(group__in=areas).delete()
    Responsibility.objects.filter(Q(area__in=areas) | Q(responsible_school__in=schools)
                                  | Q(school__in=schools)).delete()
    schools.delete()
    Person.objects.filter(pk__in=people).delete()
    for level in ("group", "village", "township", "county"):
        areas.filter(level=level).delete()


@transaction.atomic
def load_dataset(ds: CountyDataset, replace: bool = False, roads: bool = True) -> LoadResult:
    """`roads=False` leaves the county's roads and the routable network to the caller:
    generate_province writes every county's roads and builds the network once, at the end."""
    if county_exists(ds.county_code):
        if not replace:
            return LoadResult(ds.county_code, False, {})
        delete_county(ds.county_code)
    area_ids = _load_areas(ds.areas)
    if roads:
        _load_roads(ds)
    school_ids = _load_schools(ds.schools, area_ids)
    CatchmentAssignment.objects.bulk_create(
        CatchmentAssignment(area_id=area_ids[r.group_code], school_id=school_ids[r.school_code],
                            stage=r.stage) for r in ds.assignments.itertuples())
    class_ids = _load_classes(ds.classes, school_ids)
    person_ids = _load_people(ds.persons, school_ids)
    household_ids = _load_households(ds.households, area_ids)
    child_ids = _load_children(ds, area_ids, household_ids, class_ids, school_ids)
    _load_history(ds.history, child_ids)
    _load_absences(ds.absences, child_ids)
    _load_responsibilities(ds.responsibilities, person_ids, area_ids, school_ids, class_ids,
                           child_ids)
    _load_cases(ds, area_ids, school_ids, person_ids, child_ids)
    _load_home_teaching(ds, school_ids, person_ids, child_ids)
    safetynet.load(ds, child_ids, school_ids)  # aid records and transfers (issue 18)
    safetynet.load_term_checks(ds)
    return LoadResult(ds.county_code, True, ds.summary())


def _load_areas(areas: pd.DataFrame) -> dict[str, int]:
    ids: dict[str, int] = {}
    for level in ("county", "township", "village", "group"):
        rows = areas[areas.level == level]
        created = Area.objects.bulk_create(
            Area(level=level, code=r.code, name=r.name,
                 parent_id=ids[r.parent_code] if isinstance(r.parent_code, str) else None, geom=_geos(r.geom),
                 urban_rural_code=r.urban_rural_code, synthetic=r.synthetic, source=r.source)
            for r in rows.itertuples())
        ids.update({a.code: a.pk for a in created})
    return ids


def _load_roads(ds: CountyDataset) -> None:
    known = set(Road.objects.filter(osm_id__isnull=False).values_list("osm_id", flat=True))
    Road.objects.bulk_create(
        Road(osm_id=r.osm_id, name=r.name[:200], ref=r.ref[:50], highway=r.highway[:30],
             oneway=r.oneway, geom=_geos(r.geom), source=ds.roads_source)
        for r in ds.roads if r.osm_id is None or r.osm_id not in known)
    for kind, name, geom, source in ds.features:
        if not Feature.objects.filter(kind=kind, name=name).exists():
            Feature.objects.create(kind=kind, name=name, geom=_geos(geom), source=source)
    rebuild_network()  # the routable network (gridmap_roadedge), as import_roads builds it


def _load_schools(schools: pd.DataFrame, area_ids: dict[str, int]) -> dict[str, int]:
    created = School.objects.bulk_create(
        School(code=s.code, name=s.name, kind=s.kind, first_grade=s.first_grade,
               last_grade=s.last_grade, capacity=s.capacity, boarding=s.boarding, status=s.status,
               location=_geos(s.location), address=s.address,
               township_id=area_ids[s.township_code], synthetic=True,
               source="generated by gridmap load_demo (synthetic)")
        for s in schools.itertuples())
    return {s.code: s.pk for s in created}


def _load_classes(classes: pd.DataFrame, school_ids: dict[str, int]) -> dict[tuple[Any, ...], int]:
    created = SchoolClass.objects.bulk_create(
        SchoolClass(school_id=school_ids[c.school_code], school_year=c.school_year, grade=c.grade,
                    number=c.number) for c in classes.itertuples())
    return {(c.school_code, c.school_year, c.grade, c.number): obj.pk
            for c, obj in zip(classes.itertuples(), created, strict=True)}


def _load_people(persons: pd.DataFrame, school_ids: dict[str, int]) -> dict[str, int]:
    created = Person.objects.bulk_create(
        Person(name=p.name, sex=p.sex, phone=p.phone, unit=p.unit, title=p.title,
               school_id=school_ids.get(p.school_code) if p.school_code else None, synthetic=True)
        for p in persons.itertuples())
    return {p.key: obj.pk for p, obj in zip(persons.itertuples(), created, strict=True)}


def _load_households(hh: pd.DataFrame, area_ids: dict[str, int]) -> list[int]:
    group_ids = [area_ids[g] for g in hh.group_code]
    copy_rows("gridmap_household", ["group_id", "number", "head_name", "address", "location", "synthetic"],
          ((gid, num, head, addr, f"SRID=4326;POINT({lon} {lat})", True)
           for gid, num, head, addr, lon, lat in zip(group_ids, hh.number, hh.head_name, hh.address,
                                                      hh.lon, hh.lat, strict=True)))
    ids = dict(((g, n), pk) for pk, g, n in Household.objects.filter(
        group_id__in=set(group_ids)).values_list("pk", "group_id", "number"))
    return [ids[(g, n)] for g, n in zip(group_ids, hh.number, strict=True)]


KG_FIELDS = ["kg_poverty_relief", "kg_at_risk", "kg_sudden_hardship", "kg_min_allowance",
             "kg_disabled", "kg_disabled_parents", "kg_left_behind", "kg_migrant", "kg_orphan",
             "kg_in_difficulty"]


def _load_children(ds: CountyDataset, area_ids: dict[str, int], household_ids: list[int],
                   class_ids: dict[tuple[Any, ...], int], school_ids: dict[str, int]) -> list[int]:
    ch = ds.children
    school_codes = ds.schools.code.to_numpy()
    year = ds.classes.school_year.iloc[0] if len(ds.classes) else 0
    ids = reserve_ids("gridmap_child", len(ch))
    columns = ["id", "id_hash", "id_masked", "name", "sex", "birth_date", "household_id", "group_id",
               "residence_basis", "home", "school_class_id", "status", "disability_category",
               *KG_FIELDS, "synthetic"]

    def rows() -> Iterable[Sequence[Any]]:
        kg = ch[KG_FIELDS].to_numpy()
        for i, r in enumerate(ch[["id_hash", "id_masked", "name", "sex", "birth_date", "household",
                                  "group_code", "residence_basis", "lon", "lat", "class_number",
                                  "school_index", "grade", "status", "disability_category"]]
                              .itertuples(index=False, name=None)):
            (id_hash, masked, name, sex, birth, hh, group, basis, lon, lat, number, si, grade,
             status, category) = r
            class_id = class_ids[(school_codes[si], year, grade, number)] if number else None
            yield (ids[i], id_hash, masked, name, sex, birth, household_ids[hh], area_ids[group], basis,
                   f"SRID=4326;POINT({lon} {lat})", class_id, status, category,
                   *(bool(v) for v in kg[i]), True)

    copy_rows("gridmap_child", columns, rows())
    return ids


def _load_history(history: pd.DataFrame, child_ids: list[int]) -> None:
    copy_rows("gridmap_childstatuschange",
          ["child_id", "date", "from_status", "to_status", "reason", "destination", "until", "recorded_at"],
          ((child_ids[r.child], r.date, r.from_status, r.to_status, r.reason, r.destination, r.until, "now")
           for r in history.itertuples()))


def _load_absences(absences: pd.DataFrame, child_ids: list[int]) -> None:
    copy_rows("gridmap_absence", ["child_id", "date", "excused", "reason", "recorded_at"],
              ((child_ids[r.child], r.date, False, "", "now") for r in absences.itertuples()))


def _load_responsibilities(resp: pd.DataFrame, person_ids: dict[str, int], area_ids: dict[str, int],
                           school_ids: dict[str, int], class_ids: dict[tuple[Any, ...], int],
                           child_ids: list[int]) -> None:
    def value(row: Any, name: str) -> Any:
        v = getattr(row, name, None)
        return None if v is None or (isinstance(v, float) and pd.isna(v)) else v

    Responsibility.objects.bulk_create(
        Responsibility(
            role=r.role,
            person_id=person_ids[value(r, "person")] if value(r, "person") else None,
            responsible_school_id=school_ids[value(r, "school_by")] if value(r, "school_by") else None,
            area_id=area_ids[value(r, "area_code")] if value(r, "area_code") else None,
            school_id=school_ids[value(r, "school_code")] if value(r, "school_code") else None,
            school_class_id=class_ids[value(r, "class_key")] if value(r, "class_key") else None,
            child_id=child_ids[int(value(r, "child"))] if value(r, "child") is not None else None,
            start_date=r.start_date,
        )
        for r in resp.itertuples())


def _load_cases(ds: CountyDataset, area_ids: dict[str, int], school_ids: dict[str, int],
                person_ids: dict[str, int], child_ids: list[int]) -> None:
    if ds.cases.empty:
        return
    cases = Case.objects.bulk_create(
        Case(child_id=child_ids[c.child], opened_on=c.opened_on, status=c.status,
             closed_on=c.closed_on if c.status == "closed" else None,
             township_id=area_ids[c.township], village_id=area_ids[c.village],
             school_id=school_ids.get(c.school)) for c in ds.cases.itertuples())
    through = Case.members.through
    through.objects.bulk_create(
        through(case_id=case.pk, person_id=person_ids[key])
        for case, c in zip(cases, ds.cases.itertuples(), strict=True) for key in c.members)
    assign_due_schools(Case.objects.filter(pk__in=[c.pk for c in cases]))
    CaseStep.objects.bulk_create(
        CaseStep(case_id=cases[s.case].pk, step=s.step, date=s.date, person_id=person_ids[s.person],
                 document_number=s.document_number,
                 deadline=None if pd.isna(s.deadline) else s.deadline, notes=s.notes)
        for s in ds.case_steps.itertuples())


def _load_home_teaching(ds: CountyDataset, school_ids: dict[str, int], person_ids: dict[str, int],
                        child_ids: list[int]) -> None:
    if ds.plans.empty:
        return
    # The county's welfare home and rehabilitation centre, in its seat (beside the first school of the
    # first township: the seat's district in every county gridmap makes), where their children are taught.
    seat = School.objects.filter(pk__in=school_ids.values()).order_by("code").first()
    places = {"welfare_home": (f"{ds.county_name}儿童福利院", (0.004, 0.003)),
              "rehab": (f"{ds.county_name}残疾人康复中心", (-0.003, 0.004))}

    def where(kind: str) -> tuple[str, Point | None]:
        if kind not in places or seat is None or seat.location is None:
            return "", None
        name, (dx, dy) = places[kind]
        return name, Point(seat.location.x + dx, seat.location.y + dy, srid=4326)

    plans = HomeTeachingPlan.objects.bulk_create(
        HomeTeachingPlan(child_id=child_ids[p.child], school_id=school_ids[p.school], place=p.place,
                         place_name=where(p.place)[0], place_location=where(p.place)[1],
                         start_date=p.start_date, plan=p.plan) for p in ds.plans.itertuples())
    HomeTeachingPlan.teachers.through.objects.bulk_create(
        HomeTeachingPlan.teachers.through(hometeachingplan_id=plan.pk, person_id=person_ids[key])
        for plan, p in zip(plans, ds.plans.itertuples(), strict=True) for key in p.teachers)
    if ds.visits.empty:
        return
    visits = HomeVisit.objects.bulk_create(
        HomeVisit(plan_id=plans[v.plan].pk, date=v.date, minutes=v.minutes, content=v.content)
        for v in ds.visits.itertuples())
    HomeVisit.teachers.through.objects.bulk_create(
        HomeVisit.teachers.through(homevisit_id=visit.pk, person_id=person_ids[key])
        for visit, v in zip(visits, ds.visits.itertuples(), strict=True) for key in v.teachers)

"""What a sheet shows, fetched per sheet (so a batch's memory does not grow with its length): the map
features inside the sheet's extent (spatial SQL of the atlas, all here), the title block's names,
codes and responsible people, and the household checklist — children only for logins allowed to
see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.db.models.functions import Transform
from django.contrib.gis.geos import Polygon
from django.db.models import Max
from django.utils import timezone
from pyproj import Transformer

from atlas.plan import SheetSpec
from gridmap import access, numerals, responsibilities, schooling
from gridmap.models import (
    Area,
    AreaLevel,
    AtlasPer,
    CatchmentAssignment,
    Child,
    ChildStatusChange,
    Feature,
    Household,
    Person,
    Road,
    Role,
    School,
    SchoolStatus,
    Stage,
)

ROAD_CLASSES = ["motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
                "motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link", "service", "track"]


@dataclass
class MapData:
    """Everything drawn on a sheet's map, in metres."""

    cell: Any
    groups: list[tuple[str, str, Any]]  # code, short name, geometry
    villages: list[tuple[str, str, Any]]
    townships: list[tuple[str, str, Any]]
    roads: list[tuple[str, str, Any]]  # class, name, geometry
    rivers: list[tuple[str, Any]]
    schools: list[tuple[str, str, str, Any, bool]]  # code, name, kind, point, highlighted
    households: list[tuple[str, Any]]  # number, point


@dataclass
class ChecklistRow:
    number: str
    head: str = ""
    child: Child | None = None
    grade_due: int | None = None
    expected_school: str = ""


@dataclass
class SheetFacts:
    county: str
    township: str
    township_code: str
    village: str
    village_code: str
    title: str  # the cell's own name
    code: str
    school: str  # responsible school (village) or the catchment's school
    school_code: str
    people: list[tuple[str, Person]]  # role label, person
    rows: list[ChecklistRow] = field(default_factory=list)
    children_shown: bool = False
    households: int = 0


@lru_cache(maxsize=1)
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(settings.GRIDMAP_METRIC_SRID, 4326, always_xy=True)


def _bbox_4326(extent: tuple[float, float, float, float]) -> Polygon:
    """The sheet's extent as a lon/lat polygon for index filtering (the densified edge keeps it exact
    enough; the drawing clips to the frame anyway)."""
    box = shapely.segmentize(shapely.box(*extent), max((extent[2] - extent[0]) / 8, 1.0))
    lonlat = shapely.transform(box, lambda xy: _stack(_to_wgs84().transform(xy[:, 0], xy[:, 1])))
    return Polygon(list(lonlat.exterior.coords), srid=4326)


def _stack(xy: tuple[Any, Any]) -> Any:
    return np.column_stack(xy)


def _shape(geom: Any) -> Any:
    return shapely.from_wkb(bytes(geom.wkb))


def _metric(qs: Any, field_name: str = "geom") -> Any:
    return qs.annotate(metric=Transform(field_name, settings.GRIDMAP_METRIC_SRID))


def map_data(spec: SheetSpec, user: Any, highlight: frozenset[str] = frozenset()) -> MapData:
    """The sheet's map features; `highlight`: codes of the schools to ring (the responsible one)."""
    box = _bbox_4326(spec.extent)
    areas = _metric(Area.objects.filter(geom__bboverlaps=box)).only("code", "name", "level")
    groups, villages, townships = [], [], []
    for a in areas:
        shape = _shape(a.metric)
        if a.level == AreaLevel.GROUP:
            groups.append((a.code, a.name, shape))
        elif a.level == AreaLevel.VILLAGE:
            villages.append((a.code, a.name, shape))
        elif a.level == AreaLevel.TOWNSHIP:
            townships.append((a.code, a.name, shape))
    roads = [(r.highway.removesuffix("_link"), r.name or r.ref, _shape(r.metric)) for r in
             _metric(Road.objects.filter(geom__bboverlaps=box, highway__in=ROAD_CLASSES)).only("highway", "name", "ref")]
    rivers = [(f.name, _shape(f.metric)) for f in
              _metric(Feature.objects.filter(geom__bboverlaps=box, kind="river")).only("name")]
    schools = [(s.code, s.name, s.kind, _shape(s.metric), s.code in highlight) for s in
               _metric(School.objects.filter(location__bboverlaps=box).exclude(status=SchoolStatus.CLOSED),
                       "location").only("code", "name", "kind")]
    households = [(h.number, _shape(h.metric)) for h in
                  _metric(sheet_households(spec, user).filter(location__isnull=False), "location").only("number")]
    return MapData(spec.geom, groups, villages, townships, roads, rivers, schools, households)


def sheet_households(spec: SheetSpec, user: Any) -> Any:
    """The households a sheet's team walks: of the cell's group(s) in the login's scope."""
    cells = access.visible_cells(user)
    if spec.per == AtlasPer.CATCHMENT:
        cells = cells.filter(catchment_assignments__school_id=spec.school_id or 0)
    else:
        cells = cells.filter(code__startswith=spec.code)
    return Household.objects.filter(group__in=cells.values("pk")).order_by("group__code", "number")


def facts(spec: SheetSpec, user: Any, on: date | None = None) -> SheetFacts:
    on = on or timezone.localdate()
    county = Area.objects.filter(code=settings.GRIDMAP_COUNTY_CODE).values_list("name", flat=True).first() or ""
    people: list[tuple[str, Person]] = []
    if spec.per == AtlasPer.CATCHMENT:
        school: Any = School.objects.select_related("township").get(pk=spec.school_id or 0)
        township, village, title, code = school.township, None, f"{school.name}学区", spec.code
    else:
        area = Area.objects.select_related("parent__parent").get(code=spec.code)
        village = area if area.level == AreaLevel.VILLAGE else area.parent
        assert village is not None and village.parent is not None
        township, title, code = village.parent, area.name, area.code
        school = responsibilities.holder(Role.RESPONSIBLE_SCHOOL, village)
        duties = [(Role.VILLAGE_LEADER, "包村领导", village)]
        if area.level == AreaLevel.GROUP:
            duties.append((Role.GROUP_CADRE, "包组干部", area))
        for role, label, target in duties:
            holder = responsibilities.holder(role, target)
            if isinstance(holder, Person):
                people.append((label, holder))
    if isinstance(school, School):
        principal = responsibilities.holder(Role.PRINCIPAL, school)
        if isinstance(principal, Person):
            people.append(("校长", principal))
    else:
        school = None
    out = SheetFacts(county, township.name if township else "", township.code if township else "",
                     village.name if village else "", village.code if village else "", title, code,
                     school.name if school else "", school.code if school else "", people)
    _checklist(out, spec, user, on)
    return out


def _checklist(out: SheetFacts, spec: SheetSpec, user: Any, on: date) -> None:
    """One row per household; with the children aged 6-15 (by the 31 August rule) under it for
    logins that may see children, household numbers alone otherwise."""
    households = list(sheet_households(spec, user).select_related("group"))
    out.households = len(households)
    out.children_shown = access.scope_of(user).individual_children
    if not out.children_shown:
        out.rows = [ChecklistRow(_number(h, spec)) for h in households]
        return
    children: dict[int, list[Child]] = {}
    for child in (access.visible_children(user).school_age_on(on)  # type: ignore[attr-defined]
                  .filter(household__in=[h.pk for h in households]).order_by("birth_date")):
        children.setdefault(child.household_id, []).append(child)
    expected = _expected_schools([h.group_id for h in households], out.county)
    for h in households:
        kids = children.get(h.pk, [])
        if not kids:
            out.rows.append(ChecklistRow(_number(h, spec), h.head_name))
        for i, child in enumerate(kids):
            grade = schooling.expected_grade(child.birth_date, on)
            stage = Stage.PRIMARY if grade <= 6 else Stage.JUNIOR
            out.rows.append(ChecklistRow(_number(h, spec) if i == 0 else "", h.head_name if i == 0 else "", child,
                                         grade, expected.get((h.group_id, stage), "")))


def _number(household: Household, spec: SheetSpec) -> str:
    """The household's number as walked: "12" within a group sheet, "3组-12" on village and catchment
    sheets (numbers repeat across groups)."""
    if spec.per == AtlasPer.GROUP:
        return household.number
    return f"{numerals.short_group_name(household.group.name)}-{household.number}"


def _expected_schools(group_ids: list[int], county: str) -> dict[tuple[int, str], str]:
    rows = CatchmentAssignment.objects.filter(area_id__in=set(group_ids)).values_list("area_id", "stage", "school__name")
    # "东阳市南马中心小学" → "南马中心小学": the county is the same on every row
    return {(area, stage): name.removeprefix(county) if county else name for area, stage, name in rows}


def data_as_of() -> date | None:
    """The day of the newest ledger entry: what the checklist's statuses are as of."""
    latest = ChildStatusChange.objects.aggregate(latest=Max("recorded_at"))["latest"]
    return timezone.localdate(latest) if latest else None


def township_outline(code: str, tolerance_m: float = 15.0) -> tuple[Any, list[tuple[str, Any]]]:
    """A township's outline and its villages (metres, simplified for a 40 mm locator)."""
    from gridmap.models.functions import SimplifyPreserveTopology

    def shapes(qs: Any) -> list[tuple[str, Any]]:
        rows = qs.annotate(metric=SimplifyPreserveTopology(Transform("geom", settings.GRIDMAP_METRIC_SRID),
                                                           tolerance_m)).only("code")
        return [(a.code, _shape(a.metric)) for a in rows]

    township = shapes(Area.objects.filter(code=code))
    villages = shapes(Area.objects.filter(parent__code=code, level=AreaLevel.VILLAGE))
    return (township[0][1] if township else shapely.Polygon()), villages


def area_outline(area: Area) -> Any:
    row: Any = Area.objects.filter(pk=area.pk).annotate(metric=Transform("geom", settings.GRIDMAP_METRIC_SRID))[0]
    return _shape(row.metric)


def village_names(codes: list[str]) -> dict[str, str]:
    return dict(Area.objects.filter(code__in={c[:12] for c in codes}, level=AreaLevel.VILLAGE)
                .values_list("code", "name"))

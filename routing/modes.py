"""How pupils travel: walking, cycling, school bus / car — speeds by road class, and the rules of each.

Every default is cited here; gridmap/settings.py reads the overrides from the environment
(GRIDMAP_WALK_KMH, GRIDMAP_CYCLE_KMH, GRIDMAP_BUS_KMH, GRIDMAP_ACCESS_MAX_M).

Walking, 4.0 km/h (1.11 m/s). The pace of the youngest pupils, whom the 30-minute norm of grades
1-3 protects:
- Moran et al., "Expectations for walking speeds: standards for students in elementary schools",
  Pediatric Physical Therapy 17(2):120-127, 2005 (doi:10.1097/01.pep.0000163074.89545.fa): 370
  class-line leaders walked 50 ft in 13.5 s in kindergarten (1.13 m/s = 4.1 km/h) and 10.6 s in
  grade 6 (1.44 m/s = 5.2 km/h);
- the US National Center for Safe Routes to School (saferoutesinfo.org, "What distances are
  reasonable to expect elementary school students to bike to school?"), after McDonald, "Children's
  mode choice for the school trip", Transportation 35(1), 2008: a typical walking rate of
  school-aged children is about 2.7 mph (4.3 km/h).
A 30-minute walk with a school bag on rural roads is slower than a hallway walk and the adult
5 km/h planners often assume: 4.0 km/h is the conservative end.

Cycling, 12 km/h: the same Safe Routes source assumes 8 mph (12.9 km/h) for a child, noting that
the common 12 mph is an adult figure. Cyclists keep one-way rules (非机动车 are vehicles under the
Road Traffic Safety Law, 《道路交通安全法》 第五十七条) and push their bikes on steps and footways.

School bus / car: the importer's speeds by OpenStreetMap class, capped by the School Bus Safety
Regulations (《校车安全管理条例》, 国务院令第617号, 2012, 第三十五条): a school bus carrying pupils drives
at most 80 km/h on expressways and 60 km/h on other roads, 20 km/h on sharp bends, steep or narrow
roads and bridges. Lower classes take design speeds of the Highway Technical Standard (JTG B01-2014:
三级公路 30-40, 四级公路 20-30 km/h); unpaved tracks 10 km/h.

Nobody walks or cycles on an expressway (《道路交通安全法》 第六十七条 bars pedestrians and non-motor
vehicles from 高速公路); a bus does not drive on footways, paths, steps or cycleways.
Walkers ignore one-way signs, which bind vehicles only. No trip starts or ends on an expressway or
its ramps (NO_ACCESS): homes and schools join the network on the ordinary roads.

The access leg — from a home to the nearest point of the network, and from the network to a school
— is a straight line walked at the walking speed, in every mode; a home farther than
GRIDMAP_ACCESS_MAX_M (default 1,000 m) from any road the mode may use is reported as off the
network, never silently snapped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

WALK_KMH = 4.0
CYCLE_KMH = 12.0
ACCESS_MAX_M = 1000.0

# School bus / car (km/h) by OpenStreetMap highway class; None: not drivable.
BUS_KMH: dict[str, float | None] = {
    "motorway": 80, "motorway_link": 50, "trunk": 60, "trunk_link": 40, "primary": 50,
    "primary_link": 35, "secondary": 40, "secondary_link": 30, "tertiary": 30, "tertiary_link": 25,
    "unclassified": 25, "residential": 20, "living_street": 10, "service": 15, "road": 20,
    "track": 10, "path": None, "footway": None, "pedestrian": None, "steps": None,
    "cycleway": None, "bridleway": None,
}
BUS_DEFAULT_KMH = 20.0  # a class missing from the table: a minor road
NO_WALKING = ("motorway", "motorway_link")  # 《道路交通安全法》 第六十七条
PUSHED = ("steps", "footway", "pedestrian", "path", "bridleway")  # cyclists walk their bikes here
# Access-controlled roads: no home or school opens onto an expressway or its ramps, so no trip
# starts or ends on one (a bus may still drive them between junctions).
NO_ACCESS = ("motorway", "motorway_link")


@dataclass(frozen=True)
class Mode:
    """A way of travelling the network: a speed per road class, and whether one-way streets bind."""

    key: str
    label: Any  # lazily translated name
    kmh: Mapping[str, float | None]  # per OSM highway class; None or absent-with-no-default: not usable
    default_kmh: float | None  # for classes not in `kmh`
    oneway: bool  # respects one-way streets
    walk_kmh: float  # speed of the access legs (home → road, road → school)

    def speed(self, highway: str) -> float | None:
        value = self.kmh.get(highway, self.default_kmh)
        return value if value and value > 0 else None

    @property
    def walk_mps(self) -> float:
        return self.walk_kmh / 3.6

    def fingerprint(self) -> str:
        """Changes whenever anything that changes a travel time changes (part of the cache key)."""
        text = json.dumps([self.key, sorted(self.kmh.items()), self.default_kmh, self.oneway, self.walk_kmh])
        return hashlib.sha1(text.encode()).hexdigest()[:12]


def _walk(kmh: float) -> Mode:
    return Mode("walk", _("walking"), {c: None for c in NO_WALKING}, kmh, oneway=False, walk_kmh=kmh)


def _cycle(kmh: float, walk_kmh: float) -> Mode:
    table: dict[str, float | None] = {c: None for c in NO_WALKING}
    table.update({c: walk_kmh for c in PUSHED})
    return Mode("cycle", _("cycling"), table, kmh, oneway=True, walk_kmh=walk_kmh)


def _bus(overrides: Mapping[str, float | None], walk_kmh: float) -> Mode:
    return Mode("bus", _("school bus / car"), {**BUS_KMH, **overrides}, BUS_DEFAULT_KMH, oneway=True,
                walk_kmh=walk_kmh)


def modes() -> dict[str, Mode]:
    """The modes as configured now (settings may differ between processes, never within one)."""
    walk = float(getattr(settings, "GRIDMAP_WALK_KMH", WALK_KMH))
    cycle = float(getattr(settings, "GRIDMAP_CYCLE_KMH", CYCLE_KMH))
    bus = parse_speed_table(getattr(settings, "GRIDMAP_BUS_KMH", "") or "")
    return {m.key: m for m in (_walk(walk), _cycle(cycle, walk), _bus(bus, walk))}


def mode(key: str | Mode) -> Mode:
    if isinstance(key, Mode):
        return key
    try:
        return modes()[key]
    except KeyError:
        raise ValueError(f"unknown travel mode {key!r}: one of {', '.join(modes())}") from None


def access_max_m() -> float:
    return float(getattr(settings, "GRIDMAP_ACCESS_MAX_M", ACCESS_MAX_M))


def parse_speed_table(text: str) -> dict[str, float | None]:
    """"primary=45,tertiary=25,track=0" → {"primary": 45.0, ...}; 0 makes a class unusable."""
    table: dict[str, float | None] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _sep, value = item.partition("=")
        speed = float(value)
        if not name.strip() or speed < 0 or speed > 200:
            raise ValueError(f"bad speed {item!r}: class=km/h, 0-200")
        table[name.strip()] = speed or None
    return table

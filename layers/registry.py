"""The layers of the county map, bottom to top (one place to add a layer)."""

from layers.base import MapLayer
from layers.boundaries import CountyLayer, TownshipLayer, VillageLayer
from layers.context import RoadLayer, WaterLayer
from layers.grid import GroupLayer
from layers.schools import SchoolLayer

COUNTY_MAP_LAYERS: list[type[MapLayer]] = [
    WaterLayer, GroupLayer, RoadLayer, VillageLayer, TownshipLayer, CountyLayer, SchoolLayer,
]

"""The layers of the grid map, bottom to top (one place to add a layer)."""

from layers.aggregates import TownshipAggregateLayer, VillageAggregateLayer
from layers.base import MapLayer
from layers.boundaries import CountyLayer, TownshipLayer, VillageLayer
from layers.context import RoadLabelLayer, RoadLayer, WaterLayer
from layers.coverage import CoverageLayer
from layers.grid import CatchmentLayer, CellLayer, LabelLayer, VillageGapLayer
from layers.home_routes import HomeRouteLayer
from layers.hotspots import HotspotLayer
from layers.safetynet import LateTransferLayer
from layers.schools import SchoolLayer

GRID_MAP_LAYERS: list[type[MapLayer]] = [
    WaterLayer, TownshipAggregateLayer, VillageAggregateLayer, CellLayer, RoadLayer, VillageLayer, TownshipLayer,
    CountyLayer, VillageGapLayer, CatchmentLayer, CoverageLayer, SchoolLayer, LabelLayer, RoadLabelLayer, HotspotLayer,
    HomeRouteLayer,  # send-teaching-home routes (hometeaching), for logins that may see children
    LateTransferLayer,  # 流转未到 at the home cells (issue 18)
]

"""A local transverse Mercator (metres) for generating and measuring one county's geometry."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

G = TypeVar("G", bound=BaseGeometry)


class LocalMetric:
    def __init__(self, central_meridian: float) -> None:
        crs = CRS.from_proj4(f"+proj=tmerc +lon_0={central_meridian} +ellps=GRS80 +units=m +no_defs")
        self._fwd = Transformer.from_crs(4326, crs, always_xy=True)
        self._inv = Transformer.from_crs(crs, 4326, always_xy=True)

    def forward_xy(self, lon: float, lat: float) -> tuple[float, float]:
        x, y = self._fwd.transform(lon, lat)
        return float(x), float(y)

    def forward_array(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = self._fwd.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def inverse_array(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = self._inv.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def forward(self, geom: G) -> G:
        return shapely.transform(geom, self.forward_array)  # type: ignore[no-any-return]

    def inverse(self, geom: G) -> G:
        return shapely.transform(geom, self.inverse_array)  # type: ignore[no-any-return]

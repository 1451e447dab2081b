"""System checks for gridmap's own settings (django-cors-headers style: one function per check)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from pyproj import CRS
from pyproj.exceptions import CRSError


@register(Tags.compatibility)
def check_database_is_postgis(app_configs: Any, **kwargs: Any) -> list[Error]:
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.contrib.gis.db.backends.postgis":
        return [Error(f"gridmap needs PostGIS; DATABASES['default'] uses {engine}.",
                      hint="Set DATABASE_URL=postgis://user:password@host:port/db", id="gridmap.E001")]
    return []


@register()
def check_metric_srid(app_configs: Any, **kwargs: Any) -> list[Error]:
    try:
        crs = CRS.from_epsg(settings.GRIDMAP_METRIC_SRID)
    except CRSError:
        return [Error(f"GRIDMAP_METRIC_SRID={settings.GRIDMAP_METRIC_SRID} is not an EPSG code.",
                      id="gridmap.E002")]
    if not crs.is_projected or crs.axis_info[0].unit_name not in {"metre", "meter"}:
        return [Error(f"GRIDMAP_METRIC_SRID={settings.GRIDMAP_METRIC_SRID} must be a projected CRS "
                      "in metres (e.g. 4549, CGCS2000 / 3-degree Gauss-Kruger CM 120E).",
                      id="gridmap.E003")]
    return []


@register()
def check_tile_attribution(app_configs: Any, **kwargs: Any) -> list[Error]:
    if settings.GRIDMAP_TILE_URL and not settings.GRIDMAP_TILE_ATTRIBUTION:
        return [Error("GRIDMAP_TILE_URL is set without GRIDMAP_TILE_ATTRIBUTION.",
                      hint="Tiles must be credited; set the attribution line.", id="gridmap.E004")]
    return []


@register(Tags.security, deploy=True)
def check_id_hash_key(app_configs: Any, **kwargs: Any) -> list[Error]:
    if len(settings.GRIDMAP_ID_HASH_KEY or "") < 32:
        return [Error("GRIDMAP_ID_HASH_KEY must be a secret of at least 32 characters.",
                      id="gridmap.E005")]
    return []

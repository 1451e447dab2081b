"""Import roads and rebuild the routable network; validates and reports, writes only with --commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from importers.management.commands.import_areas import finish
from importers.roads import RoadImportParams, import_roads


class Command(BaseCommand):
    help = "导入道路（OSM .osm/.osm.pbf、GeoJSON、Shapefile）并重建 pgRouting 路网：先校验并报告，加 --commit 才写入。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--coords", default="wgs84", choices=["wgs84", "cgcs2000", "gcj02", "bd09"])
        parser.add_argument("--srid", type=int, help="文件无 .prj 时的坐标系 EPSG 代码")
        parser.add_argument("--snap", type=float, default=3.0, help="断头路端点吸附到他路节点的距离（米），默认 3")
        parser.add_argument("--errors-xlsx", type=Path)
        parser.add_argument("--commit", action="store_true")

    def handle(self, *args: Any, **o: Any) -> None:
        report = import_roads(RoadImportParams(path=o["file"], coords=o["coords"], srid=o["srid"],
                                               snap_m=o["snap"], commit=o["commit"]))
        finish(self, report, o["errors_xlsx"])

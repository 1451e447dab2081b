"""Import the schools list; validates and reports, writes only with --commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from importers.management.commands.import_areas import finish
from importers.schools import SchoolImportParams, import_schools


class Command(BaseCommand):
    help = "导入学校名录（.xlsx/.csv，中文表头）：先校验并报告，加 --commit 才写入。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--coords", default="wgs84", choices=["wgs84", "cgcs2000", "gcj02", "bd09"],
                            help="经纬度的坐标体系（高德/腾讯为 gcj02，百度为 bd09）")
        parser.add_argument("--errors-xlsx", type=Path, help="把问题清单另存为 Excel 工作簿")
        parser.add_argument("--commit", action="store_true")

    def handle(self, *args: Any, **o: Any) -> None:
        report = import_schools(SchoolImportParams(path=o["file"], coords=o["coords"], commit=o["commit"]))
        finish(self, report, o["errors_xlsx"])

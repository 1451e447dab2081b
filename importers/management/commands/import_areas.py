"""Import boundaries of one level; validates and reports, writes only with --commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from importers.areas import AreaImportParams, import_areas
from importers.readers import VectorOptions


class Command(BaseCommand):
    help = "导入区划边界（县/乡镇/行政村/村民小组）：先校验并报告，加 --commit 才写入（整体一个事务）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="Shapefile（.shp 或 .zip）、GeoPackage、GeoJSON、KML")
        parser.add_argument("--level", required=True, choices=["county", "township", "village", "group"])
        parser.add_argument("--code-field", help="代码字段（默认自动识别：代码/编码/CODE/adcode…）")
        parser.add_argument("--name-field", help="名称字段（默认：名称/NAME…）")
        parser.add_argument("--parent-field", help="上级代码字段；不给则按位置查找上级")
        parser.add_argument("--encoding", help="属性表编码（无 .cpg 时自动识别 GBK/UTF-8）")
        parser.add_argument("--srid", type=int, help="文件无 .prj 时的坐标系 EPSG 代码")
        parser.add_argument("--coords", default="wgs84", choices=["wgs84", "cgcs2000", "gcj02", "bd09"])
        parser.add_argument("--fix-invalid", action="store_true", help="自动修复无效几何")
        parser.add_argument("--errors-xlsx", type=Path, help="把问题清单另存为 Excel 工作簿")
        parser.add_argument("--commit", action="store_true", help="校验通过后写入数据库")

    def handle(self, *args: Any, **o: Any) -> None:
        report = import_areas(AreaImportParams(
            path=o["file"], level=o["level"], code_field=o["code_field"], name_field=o["name_field"],
            parent_field=o["parent_field"], fix_invalid=o["fix_invalid"], commit=o["commit"],
            vector=VectorOptions(encoding=o["encoding"], srid=o["srid"], coords=o["coords"])))
        finish(self, report, o["errors_xlsx"])


def finish(command: BaseCommand, report: Any, errors_xlsx: Path | None) -> None:
    """Print the report; the workbook if asked; a non-zero exit when the file has errors."""
    command.stdout.write(report.text())
    if report.ok and not report.committed:
        command.stdout.write("加 --commit 写入数据库。")
    if errors_xlsx and report.problems:
        report.to_workbook(errors_xlsx)
        command.stdout.write(f"问题清单：{errors_xlsx}")
    if not report.ok:
        raise CommandError(f"{len(report.errors)} 条错误，未写入任何数据")

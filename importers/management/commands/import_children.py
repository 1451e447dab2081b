"""Import the student-registry export of children; validates and reports, writes only with --commit."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from importers.children import ChildImportParams, import_children
from importers.management.commands.import_areas import finish


class Command(BaseCommand):
    help = "导入适龄儿童台账（学籍/户籍导出 .xlsx/.csv）：先校验并报告，加 --commit 才写入。身份证号只存脱敏形式和加密散列。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--as-of", type=date.fromisoformat, help="台账日期（默认今天），用于年龄核对")
        parser.add_argument("--errors-xlsx", type=Path, help="把问题清单另存为 Excel 工作簿")
        parser.add_argument("--commit", action="store_true")

    def handle(self, *args: Any, **o: Any) -> None:
        report = import_children(ChildImportParams(path=o["file"], commit=o["commit"], as_of=o["as_of"]))
        finish(self, report, o["errors_xlsx"])

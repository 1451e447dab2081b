"""Import the student-aid workbook; validates and reports, writes only with --commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from importers.aid import AidImportParams, import_aid
from importers.management.commands.import_areas import finish


class Command(BaseCommand):
    help = ("导入学生资助发放名册（.xlsx/.csv）：先校验并报告，加 --commit 才写入。按身份证号的加密散列匹配台账中的儿童，"
            "报告中只出现脱敏号码。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--errors-xlsx", type=Path, help="把问题清单另存为 Excel 工作簿")
        parser.add_argument("--commit", action="store_true")

    def handle(self, *args: Any, **o: Any) -> None:
        report = import_aid(AidImportParams(path=o["file"], commit=o["commit"]))
        finish(self, report, o["errors_xlsx"])

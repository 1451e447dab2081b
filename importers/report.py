"""What an import found: one Problem per thing wrong, in words a county clerk understands.

Every importer validates the whole file first and fills an ImportReport; it writes only when the
report has no errors and the user asked for it (--commit). The same report is printed by the
management commands, shown by the admin upload page and exported as an error workbook.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from gridmap.access import EVERYWHERE, WriteScope
from gridmap.exports import xlsx_row  # a file's own values come back in the problem list: keep them inert


class Severity(StrEnum):
    ERROR = "错误"  # the import cannot be applied
    WARNING = "警告"  # applied, but look at it


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None  # 1-based data row or feature number; None for the whole file
    field: str
    value: str
    message: str  # what is wrong (Chinese)
    hint: str  # what to do (Chinese)
    severity: Severity = Severity.ERROR

    def line(self) -> str:
        where = f"{self.file}" + (f" 第{self.row}行" if self.row is not None else "")
        what = f"「{self.field}」" if self.field else ""
        value = f"（值：{self.value}）" if self.value else ""
        return f"[{self.severity.value}] {where}{what}{value}：{self.message}。{self.hint}"


@dataclass(kw_only=True)
class ImportSource:
    """What every importer's parameters share: the name the user knows the file by (an upload is
    stored under another) and where the import may write (the login's scope; the command line
    writes everywhere)."""

    name: str = ""
    scope: WriteScope = EVERYWHERE

    @property
    def display_name(self) -> str:
        return self.name or self.path.name  # type: ignore[attr-defined]


OUT_OF_SCOPE = "不在您的管理范围内"
OUT_OF_SCOPE_HINT = "只能导入本辖区的数据；其他乡镇的行请交县级管理员导入"


class ImportError_(Exception):
    """The file cannot be read at all; carries the problem that says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.line())
        self.problem = problem


@dataclass
class ImportReport:
    file: str
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # read, created, updated, unchanged...
    committed: bool = False

    def error(self, row: int | None, field_: str, value: Any, message: str, hint: str) -> None:
        self.problems.append(Problem(self.file, row, field_, _text(value), message, hint))

    def warn(self, row: int | None, field_: str, value: Any, message: str, hint: str) -> None:
        self.problems.append(Problem(self.file, row, field_, _text(value), message, hint,
                                     Severity.WARNING))

    def shown_as(self, stored: str, shown: str) -> None:
        """Name the user's file everywhere: readers name the file they opened, which for an upload
        is its stored name (data.xlsx), not the name the user knows."""
        def fix(text: str) -> str:
            return text.replace(stored, shown)

        self.file = fix(self.file)
        self.problems = [replace(p, file=fix(p.file), value=fix(p.value), message=fix(p.message), hint=fix(p.hint))
                         for p in self.problems]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        counts = "，".join(f"{k} {v}" for k, v in self.counts.items())
        state = ("已写入数据库" if self.committed else
                 "校验通过，尚未写入" if self.ok else "有错误，未写入任何数据")
        return f"{self.file}：{counts}；错误 {len(self.errors)} 条，警告 {len(self.warnings)} 条；{state}"

    def text(self, limit: int = 200) -> str:
        lines = [p.line() for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"……另有 {len(self.problems) - limit} 条，见错误清单工作簿")
        return "\n".join([*lines, self.summary()])

    def to_workbook(self, path: Path) -> Path:
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "问题清单"
        ws.append(["级别", "文件", "行/要素", "字段", "值", "问题", "处理办法"])

        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
        for p in self.problems:
            ws.append(xlsx_row(ws, [p.severity.value, p.file, p.row, p.field, p.value, p.message, p.hint]))
        for column, width in zip("ABCDEFG", (8, 28, 9, 14, 24, 48, 48), strict=True):
            ws.column_dimensions[column].width = width
        ws.freeze_panes = "A2"
        wb.save(path)
        return path


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "…"

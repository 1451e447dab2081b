"""The coverage gaps of an area as an Excel workbook, as a login may see them (gaps.tables).

Sheets: 说明 (the norms and the totals), 乡镇 (a county's townships), 学校 (own ways, per school),
网格 (per village group), and — only for logins that may see children — 儿童 (every child of theirs
beyond a norm, ID numbers masked as stored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from gaps.compute import Coverage, Progress
from gaps.tables import Row, by_school, by_township, cell_figures, total, visible
from gridmap import access
from gridmap.models import KEY_GROUPS, Area, AreaLevel, Child, ChildStatus


def _header(ws: Any, headers: list[str]) -> None:
    cells = []
    for text in headers:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cells.append(cell)
    ws.append(cells)


def _unit_sheet(wb: Workbook, title: str, unit: str, rows: list[Row]) -> None:
    ws: Any = wb.create_sheet(title)
    _header(ws, [unit, _("Children"), _("Beyond the norm"), *[_("Grade %(g)s") % {"g": g} for g in range(1, 10)],
                 _("Key groups"), *[str(v) for v in KEY_GROUPS.values()], _("Own school beyond the norm"),
                 _("Off the road network"), _("No school reachable by road"), _("On no school's roll")])
    for r in rows:
        ws.append([r.name, r.children, r.gap, *r.by_grade, r.key_group_gap, *r.by_key_group, r.roll_beyond,
                   r.off_network, r.unreachable, r.not_on_roll])


def workbook(user: Any, area: Area, cov: Coverage, path: Path, progress: Progress | None = None) -> int:
    """Write the workbook; returns the number of data rows written."""
    wb = Workbook(write_only=True)  # tens of thousands of rows: streamed, not held as cell objects
    info: Any = wb.create_sheet(_("Notes")[:31])
    t = total(user, cov, area.name)
    info.column_dimensions["A"].width = 60
    title = WriteOnlyCell(info, value=_("Coverage gaps: %(area)s (%(code)s)") % {"area": area.name, "code": area.code})
    title.font = Font(size=14, bold=True)
    info.append([title])
    info.append([_("Date"), cov.as_of.isoformat()])
    info.append([_("School-age children with a home on the ledger"), t.children])
    info.append([_("No school teaching their grade within the norm"), t.gap])
    info.append([_("Own school beyond the norm"), t.roll_beyond])
    info.append([_("Off the road network"), t.off_network])
    info.append([_("No school reachable by road"), t.unreachable])
    info.append([])
    info.append([_("The norms")])
    for norm in cov.norms:
        info.append([norm.explain()])
    written = 0
    if area.level == AreaLevel.COUNTY:
        rows = by_township(user, cov)
        _unit_sheet(wb, _("Townships"), _("Township"), rows)
        written += len(rows)
    schools = by_school(user, cov)
    _unit_sheet(wb, _("Schools"), _("School"), schools)
    written += len(schools)
    written += _cells(wb, user, area, cov)
    written += _children(wb, user, cov, progress or (lambda _s, _d, _t: None))
    wb.save(path)
    return written


def _cells(wb: Workbook, user: Any, area: Area, cov: Coverage) -> int:
    ws: Any = wb.create_sheet(_("Cells"))
    _header(ws, [_("Group code"), _("Village group"), _("Children"), _("Beyond the norm"), _("Share"),
                 _("Off the road network"), _("On no school's roll")])
    read, n_of, gap_of = cell_figures(user, cov)
    cells = list(access.visible_cells(user).filter(code__startswith=area.code).order_by("code")
                 .values_list("pk", "code", "parent__name", "name"))
    for pk, code, village, name in cells:
        n, gap = n_of.get(pk, 0), gap_of.get(pk, 0)
        sn, sg, off, unrolled = read(pk, code)
        share = round(gap / n, 3) if isinstance(sn, int) and isinstance(sg, int) and n else None
        ws.append([code, f"{village}{name}", sn, sg, share, off, unrolled])
    return len(cells)


def _children(wb: Workbook, user: Any, cov: Coverage, progress: Progress) -> int:
    rows = np.flatnonzero(visible(user, cov) & (cov.gap | cov.roll_beyond))
    if not access.scope_of(user).individual_children:
        return 0
    ws: Any = wb.create_sheet(_("Children"))
    _header(ws, [_("ID number (masked)"), _("Name"), _("Village group"), _("Grade"), _("Status"), _("Key groups"),
                 _("Norm (minutes)"), _("Nearest school teaching the grade"), _("Minutes"), _("km"),
                 _("Own school"), _("Minutes"), _("km"), _("Beyond the norm"), _("Own school beyond the norm"),
                 _("Off the road network")])
    ids = [int(cov.child_id[i]) for i in rows]
    info = {c["pk"]: c for c in Child.objects.filter(pk__in=ids).values(
        "pk", "id_masked", "name", "group__name", "group__parent__name")}
    limits = cov.limit_minutes()
    yes, no = _("yes"), _("no")

    def minutes(s: float) -> float | None:
        return round(s / 60, 1) if np.isfinite(s) else None

    def km(m: float) -> float | None:
        return round(m / 1000, 2) if np.isfinite(m) else None

    for k, i in enumerate(rows):
        if k % 2000 == 0:
            progress("write", k, len(rows))
        c = info[int(cov.child_id[i])]
        near, roll = int(cov.nearest_school[i]), int(cov.roll_school[i])
        groups = "、".join(str(label) for f, label in KEY_GROUPS.items() if cov.key_groups[f][i])
        ws.append([c["id_masked"], c["name"], f"{c['group__parent__name']}{c['group__name']}", int(cov.grade[i]),
                   str(ChildStatus(cov.status[i]).label), groups, int(limits[i]),
                   cov.schools[near].name if near >= 0 else "", minutes(cov.nearest_s[i]), km(cov.nearest_m[i]),
                   cov.schools[roll].name if roll >= 0 else "", minutes(cov.roll_s[i]), km(cov.roll_m[i]),
                   yes if cov.gap[i] else no, yes if cov.roll_beyond[i] else no, yes if cov.off_network[i] else no])
    progress("write", len(rows), len(rows))
    return len(rows)

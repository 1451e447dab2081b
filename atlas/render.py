"""An atlas as one PDF: cover, index map and table of contents, then per sheet a map page and a
household checklist page (more if the households do not fit).

Sheets are rendered by WeasyPrint in chunks, each written to its own file and forgotten, so memory
stays flat however long the batch; the chunks and the front matter are then joined by poppler's
`pdfunite`. Page numbers run through the whole atlas (each chunk's first page counter is set to
where it starts), and the table of contents gives each sheet's first page.
"""

from __future__ import annotations

import base64
import io
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from atlas import content, draw
from atlas.plan import PAGES_MM, SheetSpec, plan
from gridmap.models import Area, AtlasPer

CHUNK = 10  # sheets per WeasyPrint document: bounds memory, keeps the font subset shared
CHUNK_ROWS = 300  # checklist rows per document, for sheets with many households
PER_LABELS = {AtlasPer.GROUP: "按村民小组分幅", AtlasPer.VILLAGE: "按行政村分幅", AtlasPer.CATCHMENT: "按学校学区分幅"}
TOC_ROWS_PER_PAGE = 38

Progress = Callable[[int, int], None]


class AtlasError(ValueError):
    pass


@dataclass
class AtlasResult:
    path: Path
    sheets: int
    pages: int
    seconds: float
    first_pages: dict[int, int]  # sheet number → page of its map


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def qr_svg(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=1, xmldecl=False)
    return str(buffer.getvalue().decode())


LOOPBACK_URL = "http://127.0.0.1:8000"


def base_url(opened_from: str = "") -> str:
    """The address printed in the QR codes: GRIDMAP_BASE_URL when set, else the address the atlas page
    was opened from, else the development server's (a loopback no phone can reach: see is_loopback)."""
    return (settings.GRIDMAP_BASE_URL or opened_from or LOOPBACK_URL).rstrip("/")


def is_loopback(url: str) -> bool:
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cell_url(spec: SheetSpec, facts: content.SheetFacts, base: str = LOOPBACK_URL) -> str:
    code = facts.township_code if spec.per == AtlasPer.CATCHMENT else spec.code
    return f"{base}/grid/{code}/"


class SheetRenderer:
    """Renders sheets for one atlas, caching what sheets share (legend, township locator bases)."""

    def __init__(self, user: Any, printed_on: date | None = None, base: str = "") -> None:
        self.user = user
        self.base = base or base_url()
        self.printed_on = printed_on or timezone.localdate()
        self.as_of = content.data_as_of()
        self.legend = data_uri(draw.legend())
        self._townships: dict[str, tuple[Any, list[tuple[str, Any]]]] = {}

    def township(self, code: str) -> tuple[Any, list[tuple[str, Any]]]:
        if code not in self._townships:
            self._townships[code] = content.township_outline(code)
        return self._townships[code]

    def context(self, spec: SheetSpec, total: int) -> dict[str, Any]:
        facts = content.facts(spec, self.user, self.printed_on)
        highlight = frozenset({facts.school_code} - {""})
        drawn = draw.sheet_map(spec, content.map_data(spec, self.user, highlight))
        outline, villages = self.township(facts.township_code)
        url = cell_url(spec, facts, self.base)
        w_mm, h_mm = spec.frame_mm
        return {
            "spec": spec, "facts": facts, "total": total, "map": data_uri(drawn.svg), "map_w": w_mm, "map_h": h_mm,
            "side_w": PAGES_MM[spec.paper][1] - 16 - w_mm - 4,
            "bar": drawn.bar_label, "locator": data_uri(draw.locator(outline, villages, facts.village_code, spec.geom)),
            "qr": data_uri(qr_svg(url)), "url": url, "legend": self.legend,
            "blank_rows": range(3), "printed_on": self.printed_on, "as_of": self.as_of,
        }


def _pdf(html: str, out: Path) -> Any:
    from weasyprint import HTML  # pango loads only when something is printed

    document = HTML(string=html, base_url=str(settings.BASE_DIR)).render()
    document.write_pdf(out)
    return document


def _sheet_starts(document: Any, first_page: int) -> dict[int, int]:
    starts: dict[int, int] = {}
    for index, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith("sheet-"):
                starts.setdefault(int(anchor.removeprefix("sheet-")), first_page + index)
    return starts


def build(user: Any, area: Area, per: str, paper: str, out: Path, same_scale: bool = False,
          progress: Progress | None = None, chunk: int = CHUNK, specs: list[SheetSpec] | None = None,
          work_parent: Path | None = None, qr_base: str = "") -> AtlasResult:
    """Print the atlas to `out` (0600). Chunks are written under `work_parent` (a job's own folder,
    so that a killed job's leftovers can be found and removed) or the system's temporary folder; the
    QR codes point to `qr_base` (base_url() when empty)."""
    started = time.perf_counter()
    specs = specs if specs is not None else plan(user, area, per, paper, same_scale)
    if not specs:
        raise AtlasError(f"{area.name}（{area.code}）没有可打印的图幅")
    if progress:
        progress(0, len(specs))  # the page shows "0/N" at once
    renderer = SheetRenderer(user, base=qr_base)
    page_w, page_h = PAGES_MM[paper]
    common = {"paper": paper, "page_w": page_w, "page_h": page_h, "area": area, "per_label": PER_LABELS[AtlasPer(per)],
              "printed_on": renderer.printed_on, "as_of": renderer.as_of, "user": user, "sheets": specs,
              "same_scale": same_scale}
    if work_parent is not None:
        work_parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix="atlas-", dir=work_parent) as tmp:
        workdir = Path(tmp)
        # the front's length depends only on the number of sheets: render it once to learn it
        front_pages = len(_pdf(_front_html(common, specs, {}, area), workdir / "front.pdf").pages)
        starts: dict[int, int] = {}
        parts: list[Path] = []
        next_page = front_pages + 1
        items: list[dict[str, Any]] = []
        rows = 0
        for done, spec in enumerate(specs, start=1):
            item = renderer.context(spec, len(specs))
            items.append(item)
            rows += len(item["facts"].rows)
            # a chunk ends after `chunk` sheets, or sooner when its checklists grow long (catchments)
            if len(items) < chunk and rows < CHUNK_ROWS and done < len(specs):
                continue
            html = render_to_string("atlas/sheets.html", {**common, "first_page": next_page, "items": items})
            part = workdir / f"body-{len(parts):05d}.pdf"
            document = _pdf(html, part)
            starts.update(_sheet_starts(document, next_page))
            next_page += len(document.pages)
            parts.append(part)
            items, rows = [], 0
            del document, html
            if progress:
                progress(done, len(specs))
        _pdf(_front_html(common, specs, starts, area), workdir / "front.pdf")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdfunite", str(workdir / "front.pdf"), *map(str, parts), str(out)], check=True)
        out.chmod(0o600)  # names and masked IDs: for the one who printed it
    return AtlasResult(out, len(specs), next_page - 1, time.perf_counter() - started, starts)


def _front_html(common: dict[str, Any], specs: list[SheetSpec], starts: dict[int, int], area: Area) -> str:
    page_w, _page_h = common["page_w"], common["page_h"]
    outline = content.area_outline(area)
    index_svg = draw.index_map(outline, [(s.number, s.geom) for s in specs], page_w - 20, page_w * 1.1)
    villages = content.village_names([s.code for s in specs]) if common["sheets"][0].per != AtlasPer.CATCHMENT else {}
    rows = [(s, villages.get(s.code[:12], ""), starts.get(s.number, "")) for s in specs]
    toc_pages = [rows[i:i + TOC_ROWS_PER_PAGE] for i in range(0, len(rows), TOC_ROWS_PER_PAGE)]
    return render_to_string("atlas/front.html", {**common, "index_map": data_uri(index_svg), "toc_pages": toc_pages,
                                                 "scales": sorted({s.scale for s in specs})})

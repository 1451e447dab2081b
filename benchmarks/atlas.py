"""Atlas benchmark: the largest demo township's door-to-door atlas, one sheet per village group (A4).

    python -m benchmarks.atlas            (or: make bench)

Prints seconds per sheet for the whole township and the peak memory (RSS) of the printing process
for the first 10 sheets and for 300 sheets, each printed in a fresh process by the print_atlas path
(benchmarks.peak measures it), so the two can be compared: flat memory means chunks are freed.
Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from benchmarks.grid_page import largest_township  # noqa: E402
from benchmarks.results import record  # noqa: E402
from gridmap.models import Area  # noqa: E402


def print_sheets(code: str, sheets: int, out: Path) -> tuple[float, int, int]:
    """Print the first `sheets` sheets in a child process; (seconds, pages, peak RSS in MB)."""
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "benchmarks.peak", sys.executable, "-m", "benchmarks.atlas",
                          "--child", code, str(sheets), str(out)], capture_output=True, text=True, check=True)
    peak_kb = int(re.search(r"PEAK_RSS_KB (\d+)", run.stdout).group(1))  # type: ignore[union-attr]
    pages = int(re.search(r"PAGES (\d+)", run.stdout).group(1))  # type: ignore[union-attr]
    return time.perf_counter() - started, pages, peak_kb // 1024


def child(code: str, sheets: int, out: str) -> None:
    from atlas import plan, render

    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    area = Area.objects.get(code=code)
    specs = plan.plan(user, area, "group", "A4")[:sheets]
    result = render.build(user, area, "group", "A4", Path(out), specs=specs)
    print(f"PAGES {result.pages}")


def main() -> None:
    town, groups = largest_township()
    if not get_user_model().objects.filter(is_superuser=True).exists():
        call_command("ensure_demo_admin")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"atlas of {town.name} ({town.code}), {groups} village groups, A4, one sheet per group")
        first_peak = None
        for sheets in (10, 300, groups):
            out = Path(tmp) / f"atlas-{sheets}.pdf"
            seconds, pages, peak_mb = print_sheets(town.code, sheets, out)
            record("atlas", f"{sheets} sheets", seconds / sheets, "s/sheet")
            record("atlas", f"{sheets} sheets: peak memory", peak_mb, "MB", baseline=first_peak,
                   baseline_label="10 sheets" if first_peak else "")
            first_peak = first_peak or peak_mb
            print(f"  {sheets:>4} sheets: {seconds:6.1f} s  {seconds / sheets:5.2f} s/sheet  {pages:5} pages  "
                  f"{out.stat().st_size / 2**20:6.1f} MB PDF  peak RSS {peak_mb} MB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()

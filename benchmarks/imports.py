"""Import benchmark: a 6,000-polygon village-group layer and a 200,000-row children ledger.

    python -m benchmarks.imports            (or: make bench)

Runs in a scratch database `gridmap_bench` on the same cluster (created, migrated, left for a
look afterwards; dropped at the next run). Each measured import runs as its own process, so the
peak memory printed is that import's alone. ogr2ogr loads the same polygon file into the same
database as the baseline. Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

from benchmarks.results import record

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "var" / "bench"
GROUPS = 6_000
CHILDREN = 200_000


def cluster_url(db: str) -> str:
    out = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "url", db], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-qc", sql], check=True)


def measured(label: str, cmd: list[str], env: dict[str, str], rows: int) -> tuple[float, float]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "benchmarks.peak", *cmd], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        print(result.stdout[-3000:], result.stderr[-3000:])
        raise SystemExit(f"{label} failed")
    peak_mb = int(result.stdout.rsplit("PEAK_RSS_KB ", 1)[1]) / 1024
    print(f"{label:<44} {rows:>8,} rows {seconds:8.1f} s {rows / seconds:>10,.0f} rows/s"
          f"   peak RSS {peak_mb:,.0f} MB")
    summary = [line for line in result.stdout.splitlines() if "：读取" in line]
    if summary:
        print(f"    {summary[-1]}")
    return seconds, peak_mb


def main() -> None:
    admin = cluster_url("postgres")
    psql(admin, "DROP DATABASE IF EXISTS gridmap_bench")
    psql(admin, "CREATE DATABASE gridmap_bench")
    url = cluster_url("gridmap_bench")
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgis://")}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    print("preparing inputs (not timed)…")
    subprocess.run([sys.executable, "-m", "benchmarks.prepare", str(WORK), str(GROUPS), str(CHILDREN)],
                   cwd=ROOT, env=env, check=True)
    groups_file, children_file = WORK / "groups.gpkg", WORK / "children.xlsx"
    groups = int((WORK / "groups.count").read_text())  # as many as prepare wrote (about GROUPS)
    manage = [sys.executable, "manage.py"]
    print(f"\n{'import':<44} {'':>8}      {'time':>10} {'speed':>14}   memory")
    areas_s, areas_mb = measured("import_areas --level group --commit", [
        *manage, "import_areas", str(groups_file), "--level", "group", "--commit"], env, groups)
    again_s, _mb = measured("import_areas again (idempotent re-run)", [*manage, "import_areas", str(groups_file),
                                                                       "--level", "group", "--commit"], env, groups)
    ogr_s = None
    if shutil.which("ogr2ogr"):
        p = urlparse(url)
        pg = f"PG:host={p.hostname} port={p.port} dbname=gridmap_bench user={p.username} password={p.password}"
        ogr_s, _mb = measured("ogr2ogr (baseline, same file, same database)",
                 ["ogr2ogr", "-f", "PostgreSQL", pg, str(groups_file), "-nln", "bench_ogr_groups", "-overwrite",
                  "-lco", "GEOMETRY_NAME=geom", "-gt", "65536"], env, groups)
    else:
        print("ogr2ogr not installed (Debian gdal-bin): baseline skipped")
    children_s, children_mb = measured("import_children --commit", [
        *manage, "import_children", str(children_file), "--commit", "--as-of", date.today().isoformat()], env, CHILDREN)
    rerun_s, rerun_mb = measured("import_children again (idempotent re-run)", [
        *manage, "import_children", str(children_file), "--commit"], env, CHILDREN)
    record("imports", f"{groups:,} village-group polygons", areas_s, "s", baseline=ogr_s,
           baseline_label="ogr2ogr, same file" if ogr_s else "")
    record("imports", "village groups: re-run", again_s, "s", baseline=areas_s, baseline_label="first run")
    record("imports", "village groups: peak memory", areas_mb, "MB")
    record("imports", f"{CHILDREN:,} children", CHILDREN / children_s, "rows/s")
    record("imports", "children: peak memory", children_mb, "MB")
    record("imports", "children: re-run", rerun_s, "s", baseline=children_s, baseline_label="first run")


if __name__ == "__main__":
    main()

"""A province on one server: generation, size and the hot queries at 1, 10 and 100 counties.

    python -m benchmarks.province            (or: make bench; BENCH=province for this one alone)

Three scratch databases on the app's server, each made by `generate_province` (seed 1, 19 townships
× 20 villages and 100,000 children per county): gridmap_province1 (1 county), gridmap_province10
(10 counties, ~1 million children) and gridmap_province (100 counties, ~10 million children, ~360,000
village groups). **They are kept**: a database that already holds its whole province is not generated
again (its generation figures are those stamped in var/bench/province-<db>.json by the run that made
it). GRIDMAP_BENCH_PROVINCE=regenerate makes them again; GRIDMAP_BENCH_PROVINCE_COUNTIES=30 makes the
big one smaller. **A first run takes about an hour on this 2-core machine** (the province alone
25-55 minutes, depending on what else runs; the partitioned copy ~10 minutes); later runs ~10 minutes.

Figures (same-run baselines):
- generation: wall time (target < 30 min), CPU seconds of the generator and of PostgreSQL, peak memory
  of the generator's processes (target < 4 GB; PostgreSQL's shared buffers are 256 MB more), time per
  county against the 1-county run's;
- size: database bytes per county against the 1-county database;
- the hot queries (benchmarks.hot_queries) on the largest township of the first county, each against
  the same on the 1-county database: the township grid page, a cell card, a ledger page, the
  township and county monthly reports, the dashboard (trend), the hotspot counts and layer, the
  coverage's children query; the month-end counts' build (12 months of a county), a status change
  with and without its trigger, the first read after it;
- tiles and the grid page on the 100 counties (benchmarks.tiles with DATABASE_URL pointed at them);
- partition pruning (importers.partitioned, on the province): a township's status snapshot on the
  copy partitioned by county code, with the key (one partition) and without, against the app's tables.
Figures are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

from django.db import connection  # noqa: E402

from benchmarks.results import record  # noqa: E402
from importers.management.commands.generate_province import database_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "var" / "bench"
SEED = 1
COUNTIES = int(os.environ.get("GRIDMAP_BENCH_PROVINCE_COUNTIES", "100"))
REGENERATE = os.environ.get("GRIDMAP_BENCH_PROVINCE", "") == "regenerate"
SETS = [("gridmap_province1", 1), ("gridmap_province10", 10), ("gridmap_province", COUNTIES)]
HZ = os.sysconf("SC_CLK_TCK")


def complete(db: str, counties: int) -> bool:
    """Whether the database holds its whole province: every county and the network built once."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db])
        if cursor.fetchone() is None:
            return False
    env = {**os.environ, "DATABASE_URL": database_url(db)}
    probe = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                            "from gridmap.models import Area, RoadEdge; "
                            "print(Area.objects.filter(level='county').count(), RoadEdge.objects.exists())"],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    # the last line: `shell` prints its automatic imports first (Django 5.2)
    lines = probe.stdout.strip().splitlines()
    return probe.returncode == 0 and bool(lines) and lines[-1].split() == [str(counties), "True"]


class TreeSampler(threading.Thread):
    """Peak summed RSS of a process and its descendants, and the CPU of this database's backends."""

    def __init__(self, pid: int, db: str) -> None:
        super().__init__(daemon=True)
        self.pid, self.db, self.peak_kb, self.backend_cpu = pid, db, 0, dict[int, float]()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in _tree(self.pid)))
            for pid in _pids():
                cmd = _read(f"/proc/{pid}/cmdline").replace("\0", " ")
                if cmd.startswith("postgres: ") and f" {self.db} " in cmd:
                    stat = _read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()
                    if len(stat) > 12:
                        self.backend_cpu[pid] = (int(stat[11]) + int(stat[12])) / HZ


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _tree(pid: int) -> list[int]:
    out = [pid]
    for task in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else []:
        for child in _read(f"/proc/{pid}/task/{task}/children").split():
            out += _tree(int(child))
    return out


def _rss_kb(pid: int) -> int:
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def generate(db: str, counties: int) -> dict[str, Any]:
    stamp = WORK / f"province-{db}.json"
    if not REGENERATE and complete(db, counties) and stamp.exists():
        figures: dict[str, Any] = json.loads(stamp.read_text(encoding="utf-8"))
        print(f"{db}: {counties} counties there already (generated {figures['when']}: "
              f"{figures['seconds'] / 60:.1f} min); GRIDMAP_BENCH_PROVINCE=regenerate makes it again")
        return figures | {"reused": True}
    as_of = date.today()
    print(f"{db}: generating {counties} counties (as of {as_of})…", flush=True)
    before = os.times()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "manage.py", "generate_province", "--counties", str(counties),
                                "--seed", str(SEED), "--as-of", as_of.isoformat(), "--database", db, "--replace"],
                               cwd=ROOT)
    sampler = TreeSampler(process.pid, db)
    sampler.start()
    code = process.wait()
    seconds = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    after = os.times()
    if code:
        raise SystemExit(f"generate_province failed for {db} (exit {code})")
    figures = {"when": as_of.isoformat(), "counties": counties, "seconds": seconds,
               "python_cpu_s": (after.children_user + after.children_system) - (before.children_user + before.children_system),
               "postgres_cpu_s": sum(sampler.backend_cpu.values()), "peak_rss_mb": sampler.peak_kb / 1024}
    WORK.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return figures | {"reused": False}


def hot_queries(db: str, extra: list[str]) -> dict[str, Any]:
    out = WORK / f"hot-{db}.json"
    env = {**os.environ, "DATABASE_URL": database_url(db)}
    print(f"\n{db}: the hot queries", flush=True)
    subprocess.run([sys.executable, "-m", "benchmarks.hot_queries", "--json", str(out), *extra], cwd=ROOT, env=env,
                   check=True)
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def partitions(db: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url(db)}
    probe = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                            "from django.db import connection; c = connection.cursor(); "
                            "c.execute(\"SELECT to_regclass('province_child')\"); print(c.fetchone()[0])"],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    kept = probe.stdout.strip().endswith("province_child")  # after the automatic imports `shell` prints
    args = ["--explain-only"] if kept and not REGENERATE else []
    print(f"\n{db}: partitioned copy by county code" + (" (kept from an earlier run)" if args else " (building)"),
          flush=True)
    done = subprocess.run([sys.executable, "manage.py", "partition_province", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    print(done.stdout)
    return done.stdout


def main() -> None:
    generated = {db: generate(db, n) for db, n in SETS}
    one = generated["gridmap_province1"]
    for db, n in SETS[1:]:
        g = generated[db]
        note = f"generated {g['when']}" + (" (kept: not generated in this run)" if g["reused"] else "")
        record("province", f"generation, {n} counties", g["seconds"] / 60, "min", baseline=n * one["seconds"] / 60,
               baseline_label=f"{n} × the 1-county generation", target="< 30 min" if n >= 100 else "", note=note)
        record("province", f"generation CPU, {n} counties (Python + PostgreSQL)",
               (g["python_cpu_s"] + g["postgres_cpu_s"]) / 60, "CPU-min", baseline=g["seconds"] / 60,
               baseline_label="wall time", note="÷ 2 cores = the wall time on an idle machine, at best")
        record("province", f"generation peak memory, {n} counties", g["peak_rss_mb"], "MB",
               baseline=one["peak_rss_mb"], baseline_label="1 county", target="< 4 GB" if n >= 100 else "")
    hot = {db: hot_queries(db, ["--month-ends"] + (["--explain", "3"] if db == "gridmap_province" else []))
           for db, _n in SETS}
    base = hot["gridmap_province1"]
    record("province", f"database size per county, {COUNTIES} counties",
           hot["gridmap_province"]["bytes"] / COUNTIES / 2**20, "MB", baseline=base["bytes"] / 2**20,
           baseline_label="the 1-county database")
    for db, n in SETS[1:]:
        for path, ref in zip(hot[db]["paths"], base["paths"], strict=True):
            record("province", f"{path['name']}, {n} counties", path["median_s"], "s", baseline=ref["median_s"],
                   baseline_label="the same on 1 county")
        costs, ref_costs = hot[db]["month_ends"], base["month_ends"]
        record("province", f"month-end counts: 12 months of one county built, {n} counties", costs["build_12_months_s"],
               "s", baseline=ref_costs["build_12_months_s"], baseline_label="the same on 1 county")
        record("province", f"a status change with its month-end trigger, {n} counties", costs["status_change_s"], "s",
               baseline=costs["status_change_without_trigger_s"], baseline_label="the same without the trigger")
        if "status_change_after_bulk_s" in costs:
            record("province", f"a status change right after a bulk write on its connection, {n} counties",
                   costs["status_change_after_bulk_s"], "s", baseline=costs["status_change_s"],
                   baseline_label="a status change on a fresh connection")
        record("province", f"first read after a status change (one village, the months since), {n} counties",
               costs["first_read_after_change_s"], "s", baseline=ref_costs["first_read_after_change_s"],
               baseline_label="the same on 1 county")
    # Tiles and the grid page on the province's data set (the county and province zooms' targets):
    # benchmarks.tiles itself, pointed at the 100 counties; its figures join this run's table.
    print(f"\ngridmap_province: tiles and the grid page (benchmarks.tiles, {COUNTIES} counties)", flush=True)
    subprocess.run([sys.executable, "-m", "benchmarks.tiles"], cwd=ROOT, check=True,
                   env={**os.environ, "DATABASE_URL": database_url("gridmap_province")})
    text = partitions("gridmap_province")
    times = {}
    for line in text.splitlines():
        if line.startswith("status snapshot"):
            label = line[17:37].strip()
            times[label] = float(line[37:].split("ms")[0])
    if len(times) == 3:
        record("province", "township status snapshot, partitioned by county code, keyed (one partition)",
               times["partitioned, keyed"] / 1000, "s", baseline=times["app's tables"] / 1000,
               baseline_label="the app's tables")
        record("province", "township status snapshot, partitioned, without the key (every partition)",
               times["partitioned, no key"] / 1000, "s", baseline=times["partitioned, keyed"] / 1000,
               baseline_label="keyed")


if __name__ == "__main__":
    main()

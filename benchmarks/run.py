"""make bench: every benchmark, each in its own process, then one table (printed) and its JSON.

    python -m benchmarks.run                    # all
    python -m benchmarks.run load routing       # only these modules (BENCH=… in make bench)

The modules run on the app's database with the demo county (some make scratch databases of
their own, and say so). The JSON goes to var/bench/bench-<time>.json with the machine and the
commit, so that two runs can be compared figure by figure.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import datetime

from benchmarks.results import ROOT, read, table

# In the order they run; each must be runnable as `python -m benchmarks.<name>`.
MODULES = ["imports", "grid_page", "tiles", "reports", "exports", "disclosure", "gaps_disclosure", "atlas", "hotspots",
           "load", "routing", "home_routes", "planning", "safetynet", "province"]


def main(only: list[str]) -> int:
    modules = [m for m in MODULES if not only or m in only]
    unknown = sorted(set(only) - set(MODULES))
    if unknown:
        print(f"unknown benchmarks: {', '.join(unknown)}; known: {', '.join(MODULES)}", file=sys.stderr)
        return 2
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / f"bench-{stamp}.jsonl"
    failed = []
    for name in modules:
        print(f"\n=== benchmarks.{name}", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], cwd=ROOT,
                              env={**os.environ, "GRIDMAP_BENCH_RESULTS": str(results)})
        print(f"=== benchmarks.{name}: {time.perf_counter() - started:.0f} s"
              + ("" if done.returncode == 0 else f", FAILED (exit {done.returncode})"), flush=True)
        if done.returncode:
            failed.append(name)
    figures = read(results)
    print("\n" + table(figures))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    summary = {"when": stamp, "commit": commit.stdout.strip(), "machine": {
        "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "failed": failed, "figures": [asdict(f) | {"ratio": f.ratio} for f in figures]}
    out = folder / f"bench-{stamp}.json"
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\n{len(figures)} figures → {out}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

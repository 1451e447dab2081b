"""Planning benchmark: one consolidation scenario and one suggested plan on a generated county of
150,000 children and about 150 open schools.

    python -m benchmarks.planning            (or: make bench)

The county (`generate_county --townships 28 --children 150000 --seed 150`, code 990150) lives in a
scratch database `gridmap_bench_planning` on the same cluster, generated once and kept (not timed).
Everything runs in one fresh process (a cold network cache). Timed:

- precomputation (once): planning.baseline — the coverage computation, then every child's travel
  time and distance to every school (routing.engine.times_to, one search per school and mode);
- scenario: evaluating "close the 5 smallest primary schools" (planning.evaluate, rule "next") and
  building its full report (planning.report) after the precomputation — the median of 5 runs;
  figures against the precomputation (the ratio is what the one-off saves each scenario);
- suggested plan: close 10 schools, capacities on, total travel time (planning.suggest →
  planning.closures.solve_p_median, solver time limit 45 s so that the whole suggestion — building
  the instance included — stays under a minute), with the gap it reports; against the same model
  without pruning (solve_full_model, time limit 120 s) in the same run.
Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.scratch import county_database

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = "gridmap_bench_planning"
CODE = "990150"
GENERATE = ["generate_county", "--townships", "28", "--children", "150000", "--seed", "150"]
FULL_MODEL_LIMIT_S = 120.0
SOLVER_LIMIT_S = 45.0


def prepare() -> dict[str, str]:
    return county_database(SCRATCH, CODE, GENERATE)


def worker() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
    import django

    django.setup()
    import numpy as np

    from gridmap.models import Area
    from planning import baseline, evaluate, report, suggest
    from planning.closures import solve_full_model

    county = Area.objects.get(code=CODE)
    today = date.today()
    t = time.perf_counter()
    base = baseline.baseline(county, today)
    pre = time.perf_counter() - t
    s = base.schools
    n_open = int(s.open.sum())
    prim = np.flatnonzero(s.open & (s.first_grade == 1) & (s.last_grade <= 6) & (s.enrolment > 0))
    small = prim[np.argsort(s.enrolment[prim], kind="stable")[:5]]
    changes = [evaluate.Change(evaluate.CLOSE, str(s.code[j])) for j in small]
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        table = baseline.school_table(CODE, today)
        out = evaluate.evaluate(base, changes, evaluate.NEXT, schools=table)
        rep = report.build(base, out, changes)
        runs.append(time.perf_counter() - t)
    scenario = statistics.median(runs)
    print(f"county {CODE}: {len(base):,} children with a home, {n_open} open schools ({len(s)} in all); "
          f"travel-time matrix {base.time_s.shape[0]:,} × {base.time_s.shape[1]} "
          f"({(base.time_s.nbytes + base.distance_m.nbytes + base.boarding_s.nbytes) / 2**20:.0f} MB)")
    print(f"  precomputation (once): {pre:.1f} s")
    print(f"  one scenario (close the 5 smallest primary schools: {rep.totals['moved']} pupils move), evaluation "
          f"and full report: {scenario:.2f} s (median of 5; min {min(runs):.2f} s) — "
          f"{scenario / pre:.3f} × the precomputation")
    target = suggest.Target(close=10, objective=suggest.TIME, capacities=True, time_limit_s=SOLVER_LIMIT_S)
    t = time.perf_counter()
    found = suggest.suggest(base, baseline.school_table(CODE, today), target)
    plan = time.perf_counter() - t
    r = found.result
    print(f"  suggested plan, close 10 of {n_open} (capacitated, total travel time): {plan:.1f} s in all, solver "
          f"{r.seconds:.1f} s, {r.status}, objective {r.objective:,.1f} pupil-minutes, lower bound "
          f"{r.lower_bound:,.1f}, gap {100 * r.gap:.4f} %; {found.instance_size['points']:,} demand points "
          f"(village group × grade class), {r.pairs:,} of {r.pairs_total:,} assignment pairs in the model, "
          f"{r.rounds} MILP round(s)")
    inst = suggest.instance(base, baseline.school_table(CODE, today), suggest.TIME, True)
    t = time.perf_counter()
    full = solve_full_model(inst.cost, inst.demand, len(inst.sites) - 10, inst.capacity, (), FULL_MODEL_LIMIT_S)
    full_s = time.perf_counter() - t
    print(f"  baseline, the same model unpruned: {full_s:.1f} s, {full.status}, objective {full.objective:,.1f}, "
          f"gap {100 * full.gap:.4f} % — pruned/unpruned time {r.seconds / full_s:.2f}×")
    t = time.perf_counter()
    unc = suggest.suggest(base, baseline.school_table(CODE, today),
                          suggest.Target(close=10, objective=suggest.TIME, capacities=False, time_limit_s=60))
    print(f"  uncapacitated, close 10: {time.perf_counter() - t:.1f} s, {unc.result.status}, gap "
          f"{100 * unc.result.gap:.4f} %, {unc.result.pairs:,} pairs")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory: {peak:.0f} MB")
    from benchmarks.results import record

    record("planning", "150k children: precomputation (once)", pre, "s")
    record("planning", "150k children: one scenario, evaluation + report", scenario, "s", baseline=pre,
           baseline_label="precomputation", target="< 2 s")
    record("planning", f"suggested plan, close 10 of {n_open}, capacitated", plan, "s", baseline=full_s,
           baseline_label="unpruned model", target="< 60 s", note=f"gap {100 * r.gap:.3f} % ({r.status})")
    record("planning", "suggested plan: reported gap", 100 * r.gap, "%")
    record("planning", "peak memory", peak, "MB")


def main() -> None:
    env = prepare()
    print("planning: one scenario and a suggested plan on a 150,000-child county", flush=True)
    subprocess.run([sys.executable, "-m", "benchmarks.planning", "--worker"], cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker()
    else:
        main()

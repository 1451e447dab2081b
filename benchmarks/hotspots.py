"""Dropout hotspot benchmark: the whole demo county (3,630 village groups, 90,000 children) and a
generated county of ~6,000 groups, with 9,999 permutations.

    python -m benchmarks.hotspots            (or: make bench)

Per county, for last month (a past month, from the status history):
- the counts (one snapshot query, as the monthly report) and the geometry version;
- the Queen weights, built cold;
- the whole analysis cold (weights cached, Gi* not), and warm (Gi* cached: what a second login or a
  filter switched back costs);
- the layer endpoint through Django's full stack as the county administrator: cold, warm, and a
  revalidation with If-None-Match (304);
and, as baselines in the same run: esda.G_Local alone on the same arrays (no Django, no query) with
9,999 and with 999 permutations, and how many groups pass at 95 % with 999 / 9,999 permutations,
before and after the FDR correction. The demo county's 12-month timeline is timed cold and warm.
The generated county is written inside a transaction that is rolled back. Figures are printed,
never asserted.
"""

from __future__ import annotations

import os
import resource
import time
import warnings
from collections.abc import Callable
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

import esda  # noqa: E402
import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks.grid_page import Rollback, largest_township  # noqa: E402
from benchmarks.results import record  # noqa: E402
from gridmap import reports  # noqa: E402
from gridmap.models import Area, AreaLevel  # noqa: E402
from hotspots import data, stats, timeline, views  # noqa: E402

SEED_6000 = 6000  # generated county 996000


def clock(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def forget() -> None:
    for cache in (data.WEIGHTS, data.CLUSTERS, views.BODIES):
        cache._items.clear()


def bare_esda(y: np.ndarray, w: Any, permutations: int) -> tuple[float, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clock(lambda: esda.G_Local(y, w, transform="B", star=True, permutations=permutations, seed=stats.SEED,
                                          n_jobs=1, keep_simulations=False))


def county(label: str, key: str, root: Area, month: str, chief: Any) -> None:
    forget()
    t_prepare, inputs = clock(lambda: data.prepare(chief, root, month, data.Filters()))
    t_weights, w = clock(lambda: data.weights(inputs.queryset, inputs.version))
    t_cold, analysis = clock(lambda: data.analyse(inputs))
    t_warm, _ = clock(lambda: data.analyse(inputs))
    m = analysis.meta
    n, children = m["cells"], sum(c.school_age for c in inputs.counts)
    print(f"{label}: {n:,} village groups, {children:,} school-age children at the end of {month}, "
          f"{w.mean_neighbors:.1f} neighbours on average, {len(w.islands)} islands; "
          f"permutations {m['permutations']:,}, seed {m['seed']}")
    print(f"  counts (snapshot query) + geometry version   {t_prepare:6.2f} s")
    print(f"  Queen weights, cold                           {t_weights:6.2f} s")
    print(f"  analysis, Gi* cold (weights cached)           {t_cold:6.2f} s")
    print(f"  analysis, Gi* cached                          {t_warm:6.2f} s")
    y = 100 * stats.smoothed_rates(np.array([c.off_school for c in inputs.counts]),
                                   np.array([c.school_age for c in inputs.counts]),
                                   np.array([c.township_code for c in inputs.cells]))
    t_bare, g = bare_esda(y, w, 9_999)
    t_bare999, g999 = bare_esda(y, w, 999)
    print(f"  baseline: esda.G_Local alone, 9,999 perm.     {t_bare:6.2f} s   → analysis cold / esda alone = "
          f"{t_cold / t_bare:.2f}×; with the queries {(t_prepare + t_weights + t_cold) / t_bare:.2f}×")
    print(f"  baseline: esda.G_Local alone,   999 perm.     {t_bare999:6.2f} s   → 9,999 / 999 = {t_bare / t_bare999:.1f}×")
    name = f"hotspots {key} ({n:,} groups)"
    record(name, "analysis cold: counts + weights + Gi* 9,999 perm.", t_prepare + t_weights + t_cold, "s",
           baseline=t_bare, baseline_label="esda.G_Local alone on the same arrays")
    record(name, "esda.G_Local alone, 9,999 permutations", t_bare, "s", baseline=t_bare999,
           baseline_label="999 permutations")
    tested = analysis.clusters.tested
    for perms, result in ((999, g999), (9_999, g)):
        p = np.minimum(1, 2 * result.p_sim)[tested]
        print(f"  {perms:>5,} permutations: {int((p <= 0.05).sum()):4d} groups at p ≤ 0.05 without correction, "
              f"{int((p <= esda.fdr(p, 0.05)).sum()):4d} after FDR (smallest p {p.min():.4f})")
    print(f"  classes after FDR: {m['hot']} hot, {m['cold']} cold (95 %: {m['significant_after_fdr'].get('95')})")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(chief)
    url = f"/hotspots/{root.code}/layer.geojson?month={month}"
    forget()
    t_page_cold, response = clock(lambda: client.get(url))
    views.BODIES._items.clear()
    t_page_warm, _ = clock(lambda: client.get(url))
    t_page_304, again = clock(lambda: client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]))
    record(name, "layer endpoint, Gi* cached", t_page_warm, "s", baseline=t_page_cold, baseline_label="cold")
    record(name, "layer endpoint, If-None-Match (304)", t_page_304, "s", baseline=t_page_cold, baseline_label="cold")
    print(f"  endpoint cold {t_page_cold:5.2f} s, Gi* cached {t_page_warm:5.2f} s, If-None-Match {t_page_304:5.2f} s "
          f"(HTTP {again.status_code}); {len(response.content) / 1024:,.0f} KB GeoJSON")


def main() -> None:
    town, _groups = largest_township()
    demo = town.parent
    assert demo is not None
    month = reports.previous_months(f"{timezone.localdate():%Y-%m}", 2)[1]  # last month: history, not today
    try:
        with transaction.atomic():
            chief = get_user_model().objects.create_superuser("bench-hotspots", "", "x-bench-password-1")
            county("demo county " + demo.name, "demo county", demo, month, chief)
            forget()
            t_cold, result = clock(lambda: timeline.build(chief, demo, month, data.Filters()))
            t_warm, _ = clock(lambda: timeline.build(chief, demo, month, data.Filters()))
            record("hotspots demo county (3,630 groups)", "12-month timeline, months cached", t_warm, "s",
                   baseline=t_cold, baseline_label="cold")
            print(f"  12-month timeline: cold {t_cold:.1f} s, months cached {t_warm:.1f} s, "
                  f"SVG {len(result.svg) / 1024:,.0f} KB, {len(result.strips)} groups hot or cold in some month")
            started = time.perf_counter()
            call_command("generate_county", townships=30, villages_per_township=22, children=120_000,
                         seed=SEED_6000, verbosity=0)
            big = Area.objects.get(code=f"99{SEED_6000 % 10000:04d}", level=AreaLevel.COUNTY)
            print(f"(generated county {big.code} in {time.perf_counter() - started:.0f} s)")
            county(f"generated county {big.code}", "generated county", big, month, chief)
            raise Rollback
    except Rollback:
        pass
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()

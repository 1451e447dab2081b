"""Small-count protection benchmark on the demo county (90,000 children).

    python -m benchmarks.disclosure            (or: make bench)

For the current month and the month before, on the app's database (demo loaded first if missing):
the un-protected report computation (the county report, and all 18 township reports with their
schools, as the exact pages compute them), the figures model without complements (primary
suppression only), and the whole decision aggregate-only logins read (gridmap.published.build):
seconds, hidden values (primaries, complements, forced), LPs solved, rounds, and the ratio of the
decision to the un-protected report computation measured in the same run. Then the cached read
(data stamp + cache hit) that every page pays. Figures are printed, never asserted.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

from django.core.cache import cache  # noqa: E402

from benchmarks.grid_page import largest_township, timed  # noqa: E402
from benchmarks.results import record  # noqa: E402
from gridmap import published, reports  # noqa: E402
from gridmap.models import Area, Child  # noqa: E402


def main() -> None:
    town, _groups = largest_township()
    county = town.parent
    now = published.current_month()
    months = [reports.previous_months(now, 2)[1], now]
    print(f"small-count protection: {county.name} ({Child.objects.count():,} children)")
    townships = list(Area.objects.filter(parent=county).order_by("code"))
    for month in months:
        county_report, _b, _r = timed(lambda m=month: reports.report_units(county, m), runs=1)
        all_reports, _b, _r = timed(lambda m=month: [reports.report_units(t, m) for t in [county, *townships]], runs=1)
        primary_only, _b, alone = timed(lambda m=month: published.build(county, m, complements=False), runs=1)
        decided, _b, result = timed(lambda m=month: published.build(county, m), runs=1)
        s = result.stats
        print(f"  {month}: county report {county_report:.2f} s; county + {len(townships)} township reports "
              f"{all_reports:.2f} s; model with primaries only {primary_only:.2f} s "
              f"({alone.stats['primary']:,} primaries)")
        print(f"  {month}: protected decision {decided:.2f} s (of which reports {result.report_seconds:.2f} s, "
              f"protection {decided - result.report_seconds:.2f} s) = {decided / all_reports:.1f}× the reports, "
              f"{decided / county_report:.1f}× the county report; {len(result.hidden):,} hidden of "
              f"{s['values']:,} figures: {s['primary']:,} primaries, {s['complement']:,} complements, "
              f"{s['forced']:,} forced; {s['relations']:,} relations; {result.lps:,} LPs in {result.rounds} "
              f"rounds; unprotected {s['unprotected']}")
        record("disclosure", f"decision {month}", decided, "s", baseline=all_reports,
               baseline_label="the reports it protects", note=f"{s['primary']} primaries, {s['complement']} "
               f"complements, {s['forced']} forced, {result.lps} LPs, {result.rounds} rounds")
        record("disclosure", f"protection alone {month}", decided - result.report_seconds, "s",
               baseline=county_report, baseline_label="county report")
    cache.clear()
    published.figures_for(county, now)
    cached, _b, _r = timed(lambda: published.figures_for(county, now), runs=5)
    stamp, _b, _r = timed(published.data_stamp, runs=5)
    print(f"  cached read (data stamp {stamp * 1000:.0f} ms + cache hit): {cached * 1000:.0f} ms per page")
    record("disclosure", "cached read per page", cached * 1000, "ms")


if __name__ == "__main__":
    main()

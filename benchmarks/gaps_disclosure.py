"""Small-count protection of the coverage gaps (issue 11) on the demo county (90,000 children).

    python -m benchmarks.gaps_disclosure            (or: make bench BENCH=gaps_disclosure)

On the app's database with the demo county: the county's coverage computed cold (every child's way to
school over the roads: what the decision protects; the baseline), the month's published figures the
decision is kept consistent with (gridmap.published.build), the model with primary suppression only,
and the whole decision aggregate-only logins read (gaps.disclosure.build), cold: seconds, hidden
values, LPs, rounds, and the decision's ratio to the coverage computation in the same run. Then the
cached read a page pays. Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()


from benchmarks.results import record  # noqa: E402
from gaps import compute, disclosure  # noqa: E402
from gridmap import published  # noqa: E402
from gridmap.models import Area, AreaLevel, Child  # noqa: E402


def once(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    county = Area.objects.filter(level=AreaLevel.COUNTY).order_by("code").first()
    assert county is not None, "load the demo county first (manage.py load_demo)"
    print(f"coverage-gap protection: {county.name} ({Child.objects.count():,} children)")
    compute._cache.clear()
    coverage, cov = once(lambda: compute.compute(county))
    month = published.current_month()
    figures, pub = once(lambda: published.build(county, month))
    alone_s, alone = once(lambda: disclosure.build(county, cov, pub, complements=False))
    decided, result = once(lambda: disclosure.build(county, cov, pub))
    s = result.stats
    print(f"  coverage cold {coverage:.2f} s; published figures {figures:.2f} s; primaries only {alone_s:.2f} s "
          f"({alone.stats['primary']:,} primaries)")
    print(f"  decision cold {decided:.2f} s = {decided / coverage:.2f}× the coverage; {len(result.hidden):,} hidden "
          f"of {s['values']:,} figures: {s['primary']:,} primaries, {s['complement']:,} complements, "
          f"{s['forced']:,} forced (cells the grid hides); {s['relations']:,} relations; {s['lps']:,} LPs in "
          f"{s['rounds']} rounds; unprotected {s['unprotected']}")
    record("gaps_disclosure", "decision cold", decided, "s", baseline=coverage, baseline_label="county coverage cold",
           note=f"{s['primary']} primaries, {s['complement']} complements, {s['forced']} forced, {s['lps']} LPs")
    record("gaps_disclosure", "decision cold vs published figures", decided, "s", baseline=figures,
           baseline_label="published figures (gridmap.published.build)")

    from django.contrib.auth import get_user_model

    from gridmap.models import Profile, UserRole

    user, made = get_user_model().objects.get_or_create(username="bench-gaps-planner")
    if made:
        Profile.objects.create(user=user, role=UserRole.COUNTY_PLANNER)

    def cached_read() -> disclosure.GapFigures | None:
        return disclosure.figures_for(user, compute.compute)

    cached_read()
    read, _r = once(cached_read)
    print(f"  cached read per page: {read * 1000:.0f} ms")
    record("gaps_disclosure", "cached read per page", read * 1000, "ms")


if __name__ == "__main__":
    main()

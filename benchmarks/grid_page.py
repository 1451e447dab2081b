"""Grid page benchmark: the largest demo township's /grid/<code>/ as its township official gets it.

    python -m benchmarks.grid_page            (or: make bench)

Runs on the app's own database with the demo county (loaded first if missing), inside a
transaction that is rolled back, so the bench user and its audit events leave nothing behind.
Prints server time (median and best of N requests through Django's full stack), the HTML size as
sent (gzip) and raw, and where the time goes. Figures are printed, never asserted.
"""

from __future__ import annotations

import gzip
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402

from benchmarks.results import record  # noqa: E402
from gridmap import grid  # noqa: E402
from gridmap.models import Area, AreaLevel, Profile, UserRole  # noqa: E402
from layers.maps import grid_map, render  # noqa: E402

RUNS = 10


def timed(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, float, Any]:
    fn()  # warm: first-request imports and template compilation are not the page's cost
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


class Rollback(Exception):
    pass


def largest_township() -> tuple[Area, int]:
    """The demo county's township with the most village groups (loading the demo if missing)."""
    if not Area.objects.filter(level=AreaLevel.COUNTY).exists():
        call_command("load_demo")
    largest = (Area.objects.filter(level=AreaLevel.GROUP).values("parent__parent__code")
               .annotate(n=Count("pk")).order_by("-n").first())
    return Area.objects.get(code=largest["parent__parent__code"]), largest["n"]


def main() -> None:
    town, groups = largest_township()
    county = town.parent
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user("bench-township-official")
            Profile.objects.create(user=user, role=UserRole.TOWNSHIP_OFFICIAL).areas.set([town])
            admin = get_user_model().objects.create_user("bench-county-admin")
            Profile.objects.create(user=admin, role=UserRole.COUNTY_ADMIN)
            client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_ENCODING="gzip")
            client.force_login(user)
            report(f"/grid/{town.code}/ ({town.name}, {groups} cells), township official", client,
                   f"/grid/{town.code}/", user, town)
            cell = Area.objects.filter(code__startswith=town.code, level=AreaLevel.GROUP).annotate(
                n=Count("children_registered")).order_by("-n").first()
            median, best, response = timed(lambda: client.get(f"/grid/cell/{cell.code}/",
                                                              HTTP_X_REQUESTED_WITH="fetch"))
            print(f"  cell card {cell.code} ({cell.n} children): median {median * 1000:.0f} ms, "
                  f"best {best * 1000:.0f} ms, {len(response.content) / 1024:.0f} KB")
            county_client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_ENCODING="gzip")
            county_client.force_login(admin)
            report(f"/grid/{county.code}/ ({county.name}, whole county), county administrator", county_client,
                   f"/grid/{county.code}/", admin, county, runs=3)
            raise Rollback
    except Rollback:
        pass


def report(title: str, client: Client, url: str, user: Any, area: Area, runs: int = RUNS) -> None:
    median, best, response = timed(lambda: client.get(url), runs)
    floor, _best, _r = timed(lambda: client.get("/login/"), runs)  # the stack's own cost: a page doing nothing
    record("grid_page", f"{area.name} grid page ({user.get_username()})", median, "s", baseline=floor,
           baseline_label="/login/ in the same run")
    assert response.status_code == 200, response.status_code
    sent = len(response.content)
    raw = len(gzip.decompress(response.content)) if response.get("Content-Encoding") == "gzip" else sent
    print(title)
    print(f"  server time: median {median:.3f} s, best {best:.3f} s over {runs} requests")
    print(f"  HTML: {sent / 1024:,.0f} KB sent (gzip), {raw / 1024:,.0f} KB raw")
    record("grid_page", f"{area.name} grid page size (gzip)", sent / 1024, "KB")
    cells_time, _b, cells = timed(lambda: grid.cells(user, area), runs)
    map_time, _b, fmap = timed(lambda: grid_map(area, user, cells), runs)
    render_time, _b, _r = timed(lambda: render(fmap.map), runs)
    print(f"  of which: cells, counts and gaps {cells_time * 1000:.0f} ms; map layers "
          f"{map_time * 1000:.0f} ms; folium render {render_time * 1000:.0f} ms")


if __name__ == "__main__":
    main()

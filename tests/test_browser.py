"""Headless Chromium after a real login: the county grid drawn from vector tiles (layers.served) with no
request leaving the machine and none refused, and a township official clicking a cell whose card shows
the counts that SQL finds.

Saves var/screenshots/home.png and var/screenshots/grid-card.png for a person to look at.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make deps`")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API beside the live server
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


# A click that submits a form waits for the next page: the county's grid page, on a machine shared with
# other work, can take longer than Playwright's default 30 s (what the test checks is not the time).
SLOW_MACHINE_MS = 90_000

def test_map_renders_in_chromium(live_server, browser):
    from django.contrib.auth import get_user_model

    from tests.conftest import load_small_demo

    load_small_demo()  # transactional tests start from a flushed database
    from gridmap.models import Profile, UserRole

    viewer = get_user_model().objects.create_user("viewer", password="a-long-test-password")
    Profile.objects.create(user=viewer, role=UserRole.COUNTY_PLANNER)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(SLOW_MACHINE_MS)
    outside, refused = [], []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((live_server.url, "data:")) else None)
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    failed = []
    page.on("response", lambda r: failed.append((r.url, r.status)) if "/tiles/" in r.url and r.status >= 400 else None)
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "viewer")
    page.fill("#id_password", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_function("() => window.gmGridReady === true", timeout=30_000)
    assert page.url.endswith("/grid/330783/")
    # The tiles' SVG paths: townships summed from their cells, villages, roads, schools (each feature once
    # per tile it crosses), in the tile layers' own panes.
    tiled = '[class*="leaflet-gm-tiles-"] svg path'
    page.wait_for_function("() => gmGrid.drawn().townships === 18", timeout=30_000)
    page.wait_for_function(f"() => document.querySelectorAll('{tiled}').length > 1500", timeout=30_000)
    assert page.evaluate("gmGrid.level()") == "township"
    assert page.evaluate("gmGrid.drawn().cells") == 0
    # Zoom in to the cells. The page's first fit may still be animating (it defers itself to zoomend), and
    # would undo a zoom made now: zoom again on each poll until the map holds zoom 13 and draws the cells.
    page.wait_for_function("""() => {
        const map = window[JSON.parse(document.getElementById("gm-config").textContent).map];
        if (!map._animatingZoom && map.getZoom() !== 13) map.setZoom(13, {animate: false});
        return map.getZoom() === 13 && gmGrid.level() === "group"; }""", timeout=30_000, polling=250)
    cells = '.leaflet-gm-tiles-cells-pane svg path.leaflet-interactive'
    page.wait_for_function(f"() => document.querySelectorAll('{cells}').length > 300 && gmGrid.drawn().cells > 300",
                           timeout=30_000)
    assert page.locator(".gm-label-township").count() == 18
    page.hover(".leaflet-control-layers")
    assert "村民小组（网格）" in page.inner_text(".leaflet-control-layers")
    # A click on a cell's path opens that cell's card (the planner's: its two protected figures).
    page.mouse.move(0, 0)
    path = page.locator(cells).nth(200)
    path.click(force=True)
    page.wait_for_selector(".gm-card[data-code]", timeout=10_000)
    code = page.get_attribute(".gm-card", "data-code")
    assert len(code) == 15 and code.startswith("330783")
    assert page.locator(f'.gm-cell-item.active[data-code="{code}"]').count() == 1  # the list follows the map
    assert outside == []
    assert failed == []
    assert refused == []  # every inline script carries the page's nonce
    shots = Path(settings.VAR_DIR) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.wait_for_function("() => gmTiles.idle()", timeout=30_000)
    page.wait_for_timeout(400)  # the tiles' fade-in
    page.screenshot(path=str(shots / "home.png"))


def test_township_official_clicks_a_cell_and_reads_its_card(live_server, browser):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from gridmap.models import Area, Profile, UserRole
    from tests.conftest import load_small_demo

    load_small_demo()
    town = "330783118"  # 南马镇, the largest township
    official = get_user_model().objects.create_user("nanma", password="a-long-test-password")
    Profile.objects.create(user=official, role=UserRole.TOWNSHIP_OFFICIAL).areas.set(
        Area.objects.filter(code=town))
    with connection.cursor() as cursor:  # the cell with most children, and its counts by status
        cursor.execute("""SELECT g.code FROM gridmap_area g JOIN gridmap_child c ON c.group_id = g.id
                          WHERE g.code LIKE %s GROUP BY g.code ORDER BY count(*) DESC, g.code LIMIT 1""",
                       [town + "%"])
        (code,) = cursor.fetchone()
        cursor.execute("""SELECT c.status, count(*) FROM gridmap_child c JOIN gridmap_area g
                          ON g.id = c.group_id WHERE g.code = %s GROUP BY c.status""", [code])
        by_status = dict(cursor.fetchall())
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(SLOW_MACHINE_MS)
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "nanma")
    page.fill("#id_password", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_function("() => window.gmGridReady === true", timeout=30_000)
    assert page.url.endswith(f"/grid/{town}/")
    # Zoom to the cell's village, then click the map where the cell's label point lies.
    page.fill("#gm-search", code[:12])
    # The search zooms to the village's cells (their extent from the server); wait for the cell's tile.
    page.wait_for_function("""code => {
        const map = window[JSON.parse(document.getElementById("gm-config").textContent).map];
        return map.getZoom() >= 13 && !map._animatingZoom && gmGrid.labelPoint(code) !== null
            && map.getBounds().contains(gmGrid.labelPoint(code)); }""", arg=code, timeout=30_000)
    page.wait_for_timeout(600)
    point = page.evaluate("""code => {
        const map = window[JSON.parse(document.getElementById("gm-config").textContent).map];
        const p = map.latLngToContainerPoint(gmGrid.labelPoint(code));
        const box = map.getContainer().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y];
    }""", code)
    page.mouse.click(*point)
    page.wait_for_selector(f'.gm-card[data-code="{code}"]', timeout=10_000)
    shown = {row.locator("th").inner_text(): int(row.locator("td").inner_text())
             for row in page.locator(".gm-status-counts tr").all()}
    from gridmap.models import ChildStatus

    assert shown == {str(ChildStatus(s).label): n for s, n in by_status.items()}
    assert int(page.get_attribute(".gm-card", "data-total")) == sum(by_status.values())
    assert page.locator(".gm-children tbody tr").count() == sum(by_status.values())
    # pinyin search: 南马 → nanma finds the township's own villages, not another's
    page.click(".gm-back")
    page.fill("#gm-search", "baita")
    page.wait_for_timeout(300)
    visible = page.locator(".gm-cell-item:visible").count()
    assert visible == Area.objects.filter(parent__name="柏塔村委会", code__startswith=town).count() > 0
    # the village and the group in one query, numerals either way; 3组 is not 13组
    garden = Area.objects.get(code=f"{town}307")  # 花园村
    third = Area.objects.get(parent=garden, name="第三村民小组")
    for query in ("花园 3组", "花园三组", "花园村第3组", "huayuan 3", "花园 第三组"):
        page.fill("#gm-search", query)
        page.wait_for_timeout(200)
        found = [el.get_attribute("data-code") for el in page.locator(".gm-cell-item:visible").all()]
        assert found == [third.code], (query, found)
    page.fill("#gm-search", "")
    page.click('.gm-cell-item >> nth=0')
    page.wait_for_selector(".gm-card")
    page.evaluate(f"gmGrid.open('{code}', true)")
    page.wait_for_selector(f'.gm-card[data-code="{code}"]')
    page.wait_for_timeout(800)
    page.wait_for_function("() => gmTiles.idle()", timeout=30_000)
    page.wait_for_timeout(400)
    shots = Path(settings.VAR_DIR) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "grid-card.png"))


def test_phones_and_desktops_get_a_usable_grid_card_and_case(live_server, browser):
    """At 390×844 the menu folds, the map sits above the list, cards and pages fit the width; at the
    county's zoom the map shows townships summed from their cells and a click drills down.
    Screenshots of the grid, a cell card and a case page at 1400×900 and 390×844 go to
    var/screenshots/ to be looked at."""
    from django.contrib.auth import get_user_model

    from gridmap.models import Area, Case, Profile, UserRole
    from tests.conftest import load_small_demo

    load_small_demo()
    case = Case.objects.filter(status="open").order_by("pk").first()
    town = case.child.group.code[:9]
    official = get_user_model().objects.create_user("nanma-phone", password="a-long-test-password")
    Profile.objects.create(user=official, role=UserRole.TOWNSHIP_OFFICIAL).areas.set(Area.objects.filter(code=town))
    get_user_model().objects.create_superuser("county-desk", "", "a-long-test-password")
    cell = case.child.group.code
    shots = Path(settings.VAR_DIR) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)

    def session(name, width, height):
        context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=width < 500,
                                      has_touch=width < 500)
        page = context.new_page()
        page.set_default_timeout(SLOW_MACHINE_MS)
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", name)
        page.fill("#id_password", "a-long-test-password")
        page.click("button[type=submit]")
        page.wait_for_function("() => window.gmGridReady === true", timeout=30_000)
        return page

    phone = session("nanma-phone", 390, 844)
    assert not phone.locator(".gm-logout button").is_visible()  # the menu is folded
    phone.click(".navbar-toggler")
    phone.wait_for_selector(".gm-logout button", state="visible")
    box = phone.locator(".gm-logout button").bounding_box()
    assert box["x"] + box["width"] <= 390
    phone.wait_for_selector("#gm-nav.show:not(.collapsing)")  # Bootstrap ignores a toggle mid-animation
    phone.click(".navbar-toggler")
    phone.wait_for_selector(".gm-logout button", state="hidden")
    map_box, side_box = phone.locator("#gm-map-container").bounding_box(), phone.locator("#gm-side").bounding_box()
    assert map_box["y"] + map_box["height"] <= side_box["y"] + 1 and map_box["height"] > 300  # map above the list
    assert not phone.locator("#gm-legend-box").get_attribute("open")  # the legend is folded
    phone.wait_for_function("() => gmTiles.idle()", timeout=30_000)
    phone.wait_for_timeout(400)
    phone.screenshot(path=str(shots / "phone-grid.png"))
    phone.evaluate(f"gmGrid.open('{cell}', true)")
    phone.wait_for_selector(f'.gm-card[data-code="{cell}"]')
    phone.wait_for_timeout(800)
    assert phone.locator(".gm-card").bounding_box()["width"] >= 360  # the card takes the width
    phone.screenshot(path=str(shots / "phone-card.png"))
    for url in (f"/case/{case.pk}/", f"/children/{case.child.pk}/", f"/ledgers/{town}/school_age/", f"/cases/{town}/",
                f"/grid/cell/{cell}/"):
        phone.goto(f"{live_server.url}{url}")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, url  # nothing wider than the phone
        if url.startswith("/case/"):
            phone.screenshot(path=str(shots / "phone-case.png"))

    desk = session("county-desk", 1400, 900)
    assert desk.url.endswith("/grid/330783/") and desk.evaluate("gmGrid.level()") == "township"
    desk.wait_for_function("() => gmGrid.drawn().townships === 18", timeout=30_000)
    drawn = desk.evaluate("gmGrid.drawn()")
    assert drawn["cells"] == 0 and drawn["townships"] == 18  # townships summed, not a speckle of 3,600 cells
    desk.wait_for_function("() => gmTiles.idle()", timeout=30_000)
    desk.wait_for_timeout(400)  # the tiles' fade-in
    desk.screenshot(path=str(shots / "desk-grid-county.png"))
    desk.goto(f"{live_server.url}/grid/{town}/?cell={cell}")
    desk.wait_for_function("() => window.gmGridReady === true", timeout=30_000)
    desk.wait_for_selector(f'.gm-card[data-code="{cell}"]')
    desk.wait_for_timeout(800)
    desk.screenshot(path=str(shots / "desk-card.png"))
    # the county administrator's full menu (nine entries, import, administration, log out) fits on one row at
    # 1,400 px, and folds behind the button on an office laptop's 1,200 px: 退出 is never off-screen
    box = desk.locator(".gm-logout button").bounding_box()
    assert desk.locator(".gm-logout button").is_visible() and box["x"] + box["width"] <= 1400
    assert desk.evaluate("document.documentElement.scrollWidth") <= 1400
    desk.set_viewport_size({"width": 1200, "height": 900})
    assert not desk.locator(".gm-logout button").is_visible() and desk.locator(".navbar-toggler").is_visible()
    desk.click(".navbar-toggler")
    desk.wait_for_selector(".gm-logout button", state="visible")
    box = desk.locator(".gm-logout button").bounding_box()
    assert box["x"] + box["width"] <= 1200
    desk.set_viewport_size({"width": 1400, "height": 900})
    desk.goto(f"{live_server.url}/case/{case.pk}/")
    desk.screenshot(path=str(shots / "desk-case.png"))
    desk.goto(f"{live_server.url}/grid/330783/")
    desk.wait_for_function("() => window.gmGridReady === true", timeout=30_000)
    desk.wait_for_function("code => gmGrid.labelPoint(code) !== null", arg=town, timeout=30_000)
    desk.wait_for_timeout(800)
    point = desk.evaluate("""code => {
        const map = window[JSON.parse(document.getElementById("gm-config").textContent).map];
        const p = map.latLngToContainerPoint(gmGrid.labelPoint(code));
        const box = map.getContainer().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y];
    }""", town)
    desk.mouse.click(*point)
    desk.wait_for_timeout(1500)
    assert desk.evaluate("gmGrid.level()") in ("village", "group")  # drilled down into the township

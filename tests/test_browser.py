"""Headless Chromium loads the demo county map after a real login, with no request leaving the machine.

Saves var/screenshots/home.png for a person to look at.
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


def test_map_renders_in_chromium(live_server, browser):
    from django.contrib.auth import get_user_model

    from tests.conftest import load_small_demo

    load_small_demo()  # transactional tests start from a flushed database
    from gridmap.models import Profile, UserRole

    viewer = get_user_model().objects.create_user("viewer", password="a-long-test-password")
    Profile.objects.create(user=viewer, role=UserRole.COUNTY_PLANNER)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    outside = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((live_server.url, "data:")) else None)
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "viewer")
    page.fill("#id_password", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_selector(".leaflet-overlay-pane svg path", timeout=30_000)
    paths = page.locator(".leaflet-overlay-pane svg path").count()
    assert paths > 3000  # village groups, villages, townships, roads, schools
    assert page.locator(".gm-label-township").count() == 18
    assert "村民小组（按包保学校着色）" in page.inner_text(".leaflet-control-layers")
    page.locator(".leaflet-overlay-pane svg path.leaflet-interactive").nth(2000).click(force=True)
    assert outside == []
    shots = Path(settings.VAR_DIR) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "home.png"))

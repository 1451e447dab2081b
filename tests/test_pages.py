"""The first page: login required, the county drawn, Chinese by default, nothing loaded from outside."""

import json
import re

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def in_page(text, html):
    """folium writes map strings as JSON inside its script, with non-ASCII escaped."""
    return text in html or json.dumps(text)[1:-1] in html
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.fixture
def client_in(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_login_is_required(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_page_is_chinese_even_for_an_english_browser(client):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"
    assert "登录 gridmap" in response.content.decode()


def test_home_opens_the_county_grid_offline(client_in):
    response = client_in.get("/")
    assert response.status_code == 302 and response["Location"] == "/grid/330783/"
    html = client_in.get("/grid/330783/").content.decode()
    assert "东阳市" in html and "330783" in html
    assert in_page("村民小组（网格）", html)  # layer control entry, in Chinese
    assert "L.geoJson" in html and "L.control.layers" in html
    assert "3630 个网格" in html
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "/static/vendor/leaflet-1.9.3/leaflet.js" in html
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):  # every asset is really served
        assert client_in.get(url).status_code == 200, url


def test_english_is_available(client_in):
    client_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client_in.get("/grid/330783/").content.decode()
    assert in_page("Village groups (grid cells)", html) and "3630 cells" in html


def test_configured_tile_url_is_used(client_in, settings):
    settings.GRIDMAP_TILE_URL = "http://tiles.bureau.lan/{z}/{x}/{y}.png"
    settings.GRIDMAP_TILE_ATTRIBUTION = "县自然资源局"
    html = client_in.get("/grid/330783118/").content.decode()
    assert in_page("http://tiles.bureau.lan/{z}/{x}/{y}.png", html) and in_page("县自然资源局", html)


@pytest.mark.parametrize("url", ["/admin/gridmap/area/", "/admin/gridmap/school/",
                                 "/admin/gridmap/child/", "/admin/gridmap/case/"])
def test_admin_lists_render(client_in, url):
    assert client_in.get(url).status_code == 200


def test_admin_map_widget_is_offline(client_in):
    from gridmap.models import School

    html = client_in.get(f"/admin/gridmap/school/{School.objects.first().pk}/change/").content.decode()
    assert "vendor/ol-7.2.2/ol.js" in html
    assert "cdn.jsdelivr" not in html and "ol.source.OSM" not in html

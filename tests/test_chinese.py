"""Every page renders in Chinese: the visible text of each page (and the titles, placeholders and
labels a user reads) holds no English word beyond the technical names users meet as they are (file
formats, coordinate systems, the product's name, HTTP methods) and data values shown as stored.

Skipped, and why: data cells of the admin's lists and read-only fields (OpenStreetMap road classes,
data sources, JSON of the audit log are data, not UI); the `alt` text Django's admin hardcodes in
English ("Search", "True", "False"); the audit log's filter by object type (model identifiers, as
stored); the permission lists of Django's user and group forms (Django
stores permission names in English; logins are managed on /logins/, which has none). The bare 403
page is not checked here (it is replaced by the project's own error pages elsewhere).
"""

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client

from gridmap.models import Area, Case, Child, Profile, UserRole
from tests.test_access import A

pytestmark = pytest.mark.django_db

ALLOWED = {
    # the product, file formats, coordinate systems, map and data credits, HTTP
    "gridmap", "Excel", "CSV", "PDF", "JSON", "GeoJSON", "KML", "Shapefile", "GeoPackage", "zip", "xlsx", "csv",
    "prj", "WGS", "GPS", "CGCS", "GCJ", "BD", "GBK", "UTF", "EPSG", "OpenStreetMap", "ODbL", "CC", "BY", "OSM",
    "contributors", "chenhang", "dongyangCIM", "Vonng", "adcode", "Leaflet", "GET", "HTTP", "API", "QR", "ID",
    "English",  # the language switch offers English by its own name
    "Gi", "FDR", "GB",  # the hotspot statistic (Getis-Ord Gi*) and its correction; GB national standards
}
# Django's admin writes these alt texts in English whatever the language.
DJANGO_ALTS = {"Search", "True", "False", "None"}


class VisibleText(HTMLParser):
    SKIP_TAGS = {"script", "style", "pre", "code", "svg", "textarea", "noscript"}

    def __init__(self):
        super().__init__()
        self.stack = []  # (tag, skipped)
        self.out = []

    def skipping(self):
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        skip = (tag in self.SKIP_TAGS or "readonly" in classes or any(c.startswith("field-") for c in classes)
                or "object_type=" in (a.get("href") or "")
                or a.get("name") in ("permissions", "user_permissions") or a.get("id") in ("id_permissions_from",
                                                                                          "id_user_permissions_from"))
        if not self.skipping():
            for key in ("title", "placeholder", "aria-label", "alt"):
                value = a.get(key)
                if value and not (key == "alt" and value in DJANGO_ALTS):
                    self.out.append(value)
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.out.append(a["value"])
        if tag not in ("br", "img", "input", "meta", "link", "hr", "col", "source", "wbr"):
            self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, _skip = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        if not self.skipping():
            self.out.append(data)


def english(html):
    parser = VisibleText()
    parser.feed(html)
    return sorted({w for w in re.findall(r"[A-Za-z][A-Za-z'’]+", " ".join(parser.out)) if w not in ALLOWED})


def pages():
    village = Area.objects.filter(code__startswith=A, level="village").order_by("code").first()
    cell = Area.objects.filter(parent=village).order_by("code").first()
    case = Case.objects.filter(child__group__code__startswith=A).order_by("pk").first()
    child = Child.objects.filter(group__code__startswith=A, status="suspected").order_by("pk").first() or case.child
    own = [f"/grid/{A}/", f"/grid/{village.code}/", f"/grid/cell/{cell.code}/", f"/ledgers/{A}/school_age/",
           f"/ledgers/{A}/suspected/", f"/ledgers/{A}/dropped_out/", f"/children/{child.pk}/", f"/case/{case.pk}/",
           f"/cases/{A}/", f"/cases/{A}/?show=closed", f"/discrepancies/{A}/", f"/reports/{A}/", f"/atlas/{A}/"]
    county = ["/grid/330783/", "/reports/330783/", "/dashboard/", "/admin/", "/admin/import/", "/logins/", "/logins/new/",
              "/api/v1/", "/api/v1/areas/?level=township", "/api/v1/schools/", f"/api/v1/cells/?q={cell.code}",
              f"/api/v1/children/?q={child.name}", f"/api/v1/children/{child.pk}/"]
    county.append(f"/logins/{get_user_model().objects.order_by('pk').first().pk}/")
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        county.append(base)
        obj = model.objects.order_by("pk").first()
        if obj is not None:
            county.append(f"{base}{obj.pk}/change/")
    return own, county


def test_every_page_is_in_chinese():
    chief = get_user_model().objects.create_superuser("县管理员", "", "pw-long-enough-1")
    own, county = pages()
    as_chief = Client()
    as_chief.force_login(chief)
    found = {}
    official = get_user_model().objects.create_user("歌山镇干部", password="pw-long-enough-1")
    Profile.objects.create(user=official, role=UserRole.TOWNSHIP_OFFICIAL).areas.set(Area.objects.filter(code=A))
    as_official = Client()
    as_official.force_login(official)
    for client, urls in ((as_official, own), (as_chief, own + county),
                         (Client(), ["/login/"])):
        for url in urls:
            response = client.get(url, HTTP_ACCEPT="text/html")
            assert response.status_code == 200, (url, response.status_code)
            words = english(response.content.decode())
            if words:
                found[url] = words
    assert not found, "\n".join(f"{url}: {words}" for url, words in found.items())


def test_the_checker_finds_english():
    """The check above can fail: English UI text is caught, data cells are not."""
    assert english('<p>Save changes</p><td class="field-highway">primary</td>') == ["Save", "changes"]
    assert english('<input type="submit" value="Log in"><img alt="Search">') == ["Log", "in"]
    assert english("<p>保存 Excel</p>") == []


def test_the_words_the_review_found():
    chief = get_user_model().objects.create_superuser("县管理员2", "", "pw-long-enough-1")
    client = Client()
    client.force_login(chief)
    api = client.get("/api/v1/", HTTP_ACCEPT="text/html").content.decode()
    assert "gridmap 数据接口" in api and "Api Root" not in api and "DefaultRouter" not in api
    assert "gridmap 管理" in client.get("/admin/").content.decode()
    assert client.get("/admin/import/").content.decode().count("Shapefile 请打包为 .zip") == 1
    case = Case.objects.filter(status="open").order_by("pk").first()
    card = client.get(f"/grid/cell/{case.child.group.code}/").content.decode()
    cases = card[card.index('class="small gm-cases"'):]
    assert "在办" in cases and "开办" not in cases and "查看案件" in cases
    assert "<th>姓名</th>" in card and "<th>名称</th>" not in card

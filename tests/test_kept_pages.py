"""The rendered parts kept between requests (layers.served.part_key): the grid page's map and the cell
cards. A kept part must never be stale (a write anywhere in the county, a household's number, a
transfer make new keys), never cross logins (another role or area builds its own), carry each
session's own CSRF token and each request's own CSP nonce, and every read of a kept children's list
is still audited."""

import re
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client

from gridmap.models import Area, AuditEvent, Child, Household, Person, Profile, Role, UserRole
from gridmap.models.safetynet import Transfer
from gridmap.responsibilities import hand_over
from layers import served, versions
from layers.models import Source

pytestmark = pytest.mark.django_db
COUNTY = "330783"
TOWN = "330783118"  # 南马镇
PASSWORD = "a-long-test-password"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def login(role, name, areas=()):
    user = get_user_model().objects.create_user(name, password=PASSWORD)
    Profile.objects.create(user=user, role=role).areas.set(Area.objects.filter(code__in=areas))
    return user


def client_of(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def busy_cell():
    """The first cell of the township with children on it."""
    group = (Child.objects.filter(group__code__startswith=TOWN).order_by("group__code")
             .values_list("group__code", flat=True).first())
    return Area.objects.get(code=group)


def card(client, code):
    response = client.get(f"/grid/cell/{code}/", HTTP_X_REQUESTED_WITH="fetch")
    assert response.status_code == 200
    return response.content.decode()


def tokenless(html):
    """The card without its CSRF tokens (masked anew on every response)."""
    return TOKEN.sub("", html)


def test_a_kept_card_follows_every_write_of_the_county():
    chief = get_user_model().objects.create_superuser("kept-chief", "", PASSWORD)
    client = client_of(chief)
    cell = busy_cell()
    first = card(client, cell.code)
    assert tokenless(card(client, cell.code)) == tokenless(first)  # kept: the same card
    hand_over(chief, Role.GROUP_CADRE, cell, Person.objects.create(name="新接手的干部", sex="f"), date(2026, 9, 1))
    assert "新接手的干部" in card(client, cell.code)
    household = Household.objects.filter(group=cell).order_by("pk").first()
    household.number = "H-kept-77"
    household.save()
    assert "H-kept-77" in card(client, cell.code)


def test_a_household_or_a_transfer_makes_a_new_version_of_the_county():
    everything = [str(s) for s in Source]
    before = versions.read(COUNTY).of(everything)
    household = Household.objects.filter(group__code__startswith=COUNTY).order_by("pk").first()
    household.address = household.address + "（改）"
    household.save()
    after_household = versions.read(COUNTY).of(everything)
    assert after_household != before
    transfer = Transfer.objects.order_by("pk").first()
    if transfer is None:
        pytest.skip("the demo county has no transfer")
    transfer.save()
    assert versions.read(COUNTY).of(everything) != after_household


def test_a_kept_card_carries_each_sessions_own_csrf_token_and_each_read_is_audited():
    first, second = (login(UserRole.TOWNSHIP_OFFICIAL, f"kept-official-{i}", [TOWN]) for i in (1, 2))
    cell = busy_cell()
    caches[served.PAGES].clear()
    one = client_of(first, enforce_csrf_checks=True)
    two = client_of(second, enforce_csrf_checks=True)
    audited = AuditEvent.objects.filter(summary__contains=cell.code).count()
    html_one, html_two = card(one, cell.code), card(two, cell.code)  # built by the first, kept for the second
    assert AuditEvent.objects.filter(summary__contains=cell.code).count() == audited + 2
    assert served.csrf_placeholder() not in html_one + html_two
    tokens_two = set(TOKEN.findall(html_two))
    assert tokens_two and not tokens_two & set(TOKEN.findall(html_one))
    # the second session's token is accepted for the second session's hand-over, the first's is refused
    post = {"cadre-person": "", "cadre-new_name": "凭令牌接手", "cadre-new_sex": "M", "cadre-new_phone": "13800000000",
            "cadre-new_unit": "", "cadre-start_date": "2026-09-01", "root": TOWN}
    refused = two.post(f"/grid/cell/{cell.code}/assign/cadre/",
                       {**post, "csrfmiddlewaretoken": TOKEN.findall(html_one)[0]})
    assert refused.status_code == 403
    accepted = two.post(f"/grid/cell/{cell.code}/assign/cadre/", {**post, "csrfmiddlewaretoken": tokens_two.pop()})
    assert accepted.status_code == 302
    assert "凭令牌接手" in card(one, cell.code)


def test_kept_cards_never_cross_roles_or_areas():
    cell = busy_cell()
    caches[served.PAGES].clear()
    admin = login(UserRole.COUNTY_ADMIN, "kept-admin", [COUNTY])
    inspector = login(UserRole.INSPECTOR, "kept-inspector", [COUNTY])
    neighbour = login(UserRole.TOWNSHIP_OFFICIAL, "kept-neighbour", ["330783116"])
    full = card(client_of(admin), cell.code)
    assert "gm-edit" in full and "gm-children" in full
    aggregate = card(client_of(inspector), cell.code)
    assert "gm-edit" not in aggregate and "gm-children" not in aggregate and "gm-published-counts" in aggregate
    assert client_of(neighbour).get(f"/grid/cell/{cell.code}/").status_code == 404
    assert tokenless(card(client_of(admin), cell.code)) == tokenless(full)  # not replaced by the inspector's


def test_the_kept_map_gets_each_requests_own_nonce():
    official = login(UserRole.TOWNSHIP_OFFICIAL, "kept-map", [TOWN])
    client = client_of(official)
    nonces = []
    for _ in range(2):
        response = client.get(f"/grid/{TOWN}/")
        header = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        html = response.content.decode()
        scripts = re.findall(r"<script[^>]*>", html)
        inline = [s for s in scripts if "src=" not in s and "application/json" not in s]  # JSON runs nothing
        assert inline and all(f'nonce="{header}"' in s for s in inline)
        nonces.append(header)
    assert nonces[0] != nonces[1]


@pytest.mark.parametrize("code", ["abc", "330783118001001\x00", "1" * 400, "33078311800100%27"])
def test_absurd_cell_codes_are_404(client, code):
    client.force_login(get_user_model().objects.create_superuser("kept-absurd", "", PASSWORD))
    assert client.get(f"/grid/cell/{code}/").status_code in (400, 404)

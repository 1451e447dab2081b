"""What a bureau's server runs with: `check --deploy` clean of the HTTPS warnings when
GRIDMAP_HTTPS=1; security headers on every page; no debug pages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[1]


def deploy_check(**env: str) -> str:
    environment = {**os.environ, "GRIDMAP_SECRET_KEY": "k" * 30 + "-Zq9!x" * 5, "GRIDMAP_ID_HASH_KEY": "h" * 40, **env}
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=environment,
                          capture_output=True, text=True)
    return done.stdout + done.stderr


def test_check_deploy_is_clean_of_the_https_warnings_with_https_on():
    without = set(re.findall(r"security\.W0\d\d", deploy_check(GRIDMAP_HTTPS="0")))
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= without  # the control
    with_https = set(re.findall(r"security\.W0\d\d", deploy_check(GRIDMAP_HTTPS="1")))
    assert not with_https & {"security.W004", "security.W008", "security.W012", "security.W016", "security.W018"}


@pytest.mark.django_db
def test_pages_carry_security_headers_and_no_debug_detail():
    client = Client()
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "script-src 'self' 'nonce-" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff" and response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert client.get("/login/")["Content-Security-Policy"] != csp  # a new nonce per request
    assert nonce not in client.get("/login/")["Content-Security-Policy"]
    missing = client.get("/no/such/page/")
    body = missing.content.decode()
    assert missing.status_code == 404 and "页面不存在" in body
    assert "URLconf" not in body and "api/v1/" not in body  # Django's debug 404 listed every pattern

"""The app as `make demo` serves it (gunicorn, gridmap/gunicorn.conf.py, its connection pool), on
127.0.0.1: 20 threads × 10 requests end in no 500 and no refused connection; after every database
connection is cut (as a restart does) the next requests still succeed; with the database gone, the
answer is the Chinese "service busy" page, not a traceback."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from gridmap.models import Area, Child, Profile, UserRole
from tests.conftest import load_small_demo

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[1]
A = "330783108"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(database_url: str, tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, "HOST": "127.0.0.1", "PORT": str(port),
                   "GRIDMAP_WORKERS": "2", "GRIDMAP_THREADS": "4", "GRIDMAP_LOG_DIR": str(tmp_path), **env}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gridmap/gunicorn.conf.py", "gridmap.wsgi"],
                            cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            assert proc.poll() is None, proc.communicate()[0].decode()[-3000:]
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


def get(port: int, path: str, cookie: str = "") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def database_url() -> str:
    db = connection.settings_dict
    return f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_served_app_under_concurrency_restart_and_outage(tmp_path):
    load_small_demo()  # transactional tests start from a flushed database
    user = get_user_model().objects.create_user("official", password="pw-long-enough-1")
    Profile.objects.create(user=user, role=UserRole.TOWNSHIP_OFFICIAL).areas.set(Area.objects.filter(code=A))
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    cell = Area.objects.filter(code__startswith=A, level="group").order_by("code").first()
    child = Child.objects.filter(group__code__startswith=A).order_by("pk").first()
    paths = [f"/grid/{A}/", f"/grid/cell/{cell.code}/", f"/ledgers/{A}/school_age/", "/api/v1/cells/?page_size=50",
             "/api/v1/children/", f"/children/{child.pk}/", f"/reports/{A}/", "/static/gridmap/grid.js", "/login/",
             f"/grid/{A}/cells.csv"]
    proc, port = serve(database_url(), tmp_path)
    try:
        def worker(i: int) -> list[tuple[str, int | str]]:
            out: list[tuple[str, int | str]] = []
            for j in range(10):
                path = paths[(i + j) % len(paths)]
                try:
                    out.append((path, get(port, path, cookie)[0]))
                except OSError as error:  # refused or reset: exactly what must not happen
                    out.append((path, repr(error)))
            return out

        with ThreadPoolExecutor(20) as pool:
            results = [r for batch in pool.map(worker, range(20)) for r in batch]
        assert len(results) == 200
        assert all(status == 200 for _path, status in results), [r for r in results if r[1] != 200][:5]

        # A database restart, as the app sees it: every one of its connections is cut.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            mine = cursor.fetchone()[0]  # this test's own connection stays
        with psycopg.connect(database_url().replace("postgis://", "postgresql://"), autocommit=True) as admin:
            cut = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s) "
                                "AND backend_type = 'client backend'", [mine]).fetchone()[0]
        assert cut >= 1
        after = [get(port, paths[i % 3], cookie)[0] for i in range(16)]  # every worker's every thread
        assert after == [200] * 16
    finally:
        proc.terminate()
        proc.wait(30)

    # The database is gone (nothing listens on its port): a 503 in Chinese, no traceback.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    db = connection.settings_dict
    down, port = serve(f"postgis://{db['USER']}:x@127.0.0.1:{dead_port}/{db['NAME']}", tmp_path,
                       GRIDMAP_DB_POOL_TIMEOUT="2")
    try:
        status, body = get(port, "/", cookie)
        assert status == 503, body[:500]
        assert "数据库暂时无法使用" in body
        assert "Traceback" not in body and "OperationalError" not in body
    finally:
        down.terminate()
        down.wait(30)
    assert "database unavailable" in (tmp_path / "gridmap.log").read_text(errors="replace")  # logged for the admin

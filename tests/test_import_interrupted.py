"""Killing an import half-way leaves the database exactly as it was.

Deterministic, not a race: another connection holds a row lock on the schools table; the import's
boundary updates fire the catchment trigger, which waits for that lock inside the import's open
transaction. The test kills the import process (SIGKILL) while it waits, then releases the lock.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
from django.db import connection

from gridmap.models import Area
from tests.conftest import load_small_demo

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[1]


def digest(cursor):
    cursor.execute("SELECT count(*), md5(string_agg(code || md5(ST_AsEWKB(geom)), ',' ORDER BY code)) "
                   "FROM gridmap_area")
    return cursor.fetchone()


def test_killed_import_changes_nothing(tmp_path):
    load_small_demo()  # transactional tests start from a flushed database
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    groups = list(Area.objects.filter(level="group", code__startswith="330783108",
                                      catchment_assignments__isnull=False).distinct()[:40])
    frame = gpd.GeoDataFrame(
        {"代码": [g.code for g in groups], "名称": [g.name for g in groups]},
        geometry=[shapely.from_wkb(bytes(g.geom.wkb)).simplify(1e-4) for g in groups], crs=4326)
    path = tmp_path / "groups.geojson"
    frame.to_file(path)

    with psycopg.connect(url, autocommit=True) as watcher, psycopg.connect(url) as locker:
        before = digest(watcher.cursor())
        locker.execute("SELECT id FROM gridmap_school FOR UPDATE")  # held until rollback
        env = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgis://")}
        proc = subprocess.Popen([sys.executable, "manage.py", "import_areas", str(path), "--level", "group",
                                 "--commit"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        waiting = None
        for _ in range(600):
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchone()
            if row:
                waiting = row[0]
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        assert waiting, f"the import never reached its write: {proc.communicate()[0].decode()[-2000:]}"
        # The import has written its area rows and is inside the trigger: kill it there.
        proc.kill()
        proc.wait()
        locker.rollback()
        for _ in range(200):  # the server notices the dead client and rolls back
            if not watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [waiting]).fetchone():
                break
            time.sleep(0.05)
        assert digest(watcher.cursor()) == before
        # Control: left to finish, the same import does change the boundaries.
        done = subprocess.run([sys.executable, "manage.py", "import_areas", str(path), "--level", "group",
                               "--commit"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert int(re.search(r"，更新 (\d+)", done.stdout).group(1)) > 0
        assert digest(watcher.cursor()) != before

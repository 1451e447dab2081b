"""A backup restores: back up the small county, drop the database, restore, and every table's row
count and checksum are what they were; the archive is private and carries the ID-hash key."""

from __future__ import annotations

import stat
import tarfile

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from gridmap.backup import Target
from tests.conftest import load_small_demo

pytestmark = pytest.mark.django_db(transaction=True)


def table_digests() -> dict[str, tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        tables = [row[0] for row in cursor.fetchall()]
        digests = {}
        for table in tables:
            cursor.execute(f'SELECT count(*), coalesce(md5(string_agg(t::text, \'|\' ORDER BY t::text)), \'\') '
                           f'FROM "{table}" t')
            digests[table] = cursor.fetchone()
    return digests


def test_backup_drop_restore_gives_the_same_database(tmp_path, capsys):
    load_small_demo()  # transactional tests start from a flushed database
    before = table_digests()
    assert before["gridmap_child"][0] > 1000 and before["gridmap_area"][0] > 100
    call_command("backup", dir=tmp_path)
    archive = next(tmp_path.glob("gridmap-*.tar"))
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        assert {"database.dump", "manifest.json", "keys/id-hash-key"} <= names
        assert tar.extractfile("keys/id-hash-key").read() == (settings.VAR_DIR / "id-hash-key").read_bytes()

    name = connection.settings_dict["NAME"]
    target = Target.of(connection.settings_dict)
    connections.close_all()  # the database is dropped and made again, empty
    with psycopg.connect(target.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("DROP DATABASE {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'gridmap%%'")
        assert cursor.fetchone()[0] == 0  # really empty

    call_command("restore", str(archive), yes=True)
    assert table_digests() == before

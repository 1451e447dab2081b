"""Backups that restore: the database as a pg_dump custom archive and the keys without which it is
unreadable, in one timestamped tar file (0600) under var/backups/.

What "the files that matter" are: the ID-hash key (every child is matched by an HMAC under it — a
database restored without its key can never match a re-imported ledger again) and the secret key
(sessions, signed links). Printed atlases and uploads are deliberately left out: they are
short-lived copies of what the database holds. Restoring replaces the whole database.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings

KEY_FILES = ("id-hash-key", "secret-key")  # in var/, when the keys are not set in the environment
PG_BIN = Path(os.environ.get("GRIDMAP_PG_BIN", "/usr/lib/postgresql/15/bin"))


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    """Where the database is: from the connection's settings (a test database included)."""

    name: str
    user: str
    password: str
    host: str
    port: str

    @classmethod
    def of(cls, settings_dict: dict[str, Any]) -> Target:
        return cls(settings_dict["NAME"], settings_dict["USER"], settings_dict["PASSWORD"] or "",
                   settings_dict["HOST"] or "127.0.0.1", str(settings_dict["PORT"] or 5432))

    def env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password, "PGHOST": self.host, "PGPORT": self.port,
                "PGUSER": self.user}

    def conninfo(self, dbname: str) -> str:
        return psycopg.conninfo.make_conninfo(dbname=dbname, user=self.user, password=self.password,
                                              host=self.host, port=self.port)


def _tool(name: str) -> str:
    local = PG_BIN / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def backup(target: Target, folder: Path | None = None) -> Path:
    folder = folder or settings.VAR_DIR / "backups"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = folder / f"gridmap-{target.name}-{stamp}.tar"
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "database.dump"
        done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                               f"--file={dump}", target.name], env=target.env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump: {done.stderr.strip()}")
        keys: list[str] = []
        manifest = {"database": target.name, "made": stamp, "keys": keys}
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            tar.add(dump, arcname="database.dump")
            for key in KEY_FILES:
                path = settings.VAR_DIR / key
                if path.exists():
                    tar.add(path, arcname=f"keys/{key}")
                    keys.append(key)
            data = json.dumps(manifest, ensure_ascii=False).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    keep = settings.GRIDMAP_BACKUP_KEEP
    for old in sorted(folder.glob(f"gridmap-{target.name}-*.tar"))[:-keep] if keep > 0 else []:
        old.unlink()  # the oldest go; the newest `keep` stay
    return out


def restore(archive: Path, target: Target) -> list[str]:
    """Replace the database `target.name` by the archive's (drop, create, pg_restore) and put back
    its keys. Returns notes for the operator. The caller closes its own connections first."""
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        if "database.dump" not in members:
            raise BackupError(f"{archive.name}: not a gridmap backup (no database.dump)")
        tar.extractall(tmp, members=[m for m in members.values() if m.isfile()], filter="data")
        with psycopg.connect(target.conninfo("postgres"), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()", [target.name])
            name = psycopg.sql.Identifier(target.name)
            admin.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
            admin.execute(psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(name))
        done = subprocess.run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                               f"--dbname={target.name}", str(Path(tmp) / "database.dump")],
                              env=target.env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore: {done.stderr.strip()}")
        for key in KEY_FILES:
            saved = Path(tmp) / "keys" / key
            if not saved.exists():
                continue
            current = settings.VAR_DIR / key
            if current.exists() and current.read_bytes() == saved.read_bytes():
                continue
            if key == "id-hash-key" and os.environ.get("GRIDMAP_ID_HASH_KEY"):
                notes.append("GRIDMAP_ID_HASH_KEY is set in the environment and differs from the backup's key: "
                             "set it to the backup's (keys/id-hash-key in the archive) or re-imports will not match.")
                continue
            settings.VAR_DIR.mkdir(exist_ok=True)
            fd = os.open(current, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(saved.read_bytes())
            notes.append(f"var/{key} restored from the backup (it belongs to this database).")
    return notes

"""Scratch databases for the benchmarks that need a county larger than the demo's: made once on the
project's private cluster, migrated, filled by a command (e.g. generate_county), and kept for later runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cluster_url(db: str) -> str:
    out = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "url", db], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def county_database(db: str, county_code: str, command: list[str]) -> dict[str, str]:
    """The environment (DATABASE_URL) of scratch database `db`, made and migrated if needed and filled
    by `manage.py <command>` unless it already holds the county `county_code`."""
    admin = cluster_url("postgres")
    exists = subprocess.run(["psql", admin, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{db}'"],
                            capture_output=True, text=True, check=True).stdout.strip()
    if not exists:
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {db}"], check=True)
    env = {**os.environ, "DATABASE_URL": cluster_url(db).replace("postgresql://", "postgis://")}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    loaded = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                             f"from gridmap.models import Area; print(Area.objects.filter(code='{county_code}').exists())"],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip()
    if not loaded.endswith("True"):  # the last line: `shell` prints its automatic imports first
        print(f"generating county {county_code} in {db} (once, not timed)…", flush=True)
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
    return env

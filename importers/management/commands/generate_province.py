"""Generate a synthetic province into a scratch database of its own (importers.province says how).

    python manage.py generate_province --counties 100 --seed 1          # ~10 million children
    python manage.py generate_province --counties 3 --children 2000     # a small one

Writes into the database `--database` (default gridmap_province) on the same server as the app's,
created and migrated if missing — never into the app's database. `--workers` processes (default 2)
share the counties; a county is written in one transaction, so a run that stops is restarted with
the same arguments and goes on where it stopped (`--replace` drops the database and starts again).
Afterwards every county's roads and the roads between county seats are written and the routable
network is built once. Point the app or a benchmark at the result with

    DATABASE_URL=postgis://USER:PASSWORD@HOST:PORT/gridmap_province
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from importers import province

ROOT = Path(__file__).resolve().parents[3]
DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def database_url(name: str) -> str:
    """The app's database URL with another database name (same server, same login)."""
    db = settings.DATABASES["default"]
    user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"] or "", safe="")
    return f"postgis://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


class Command(BaseCommand):
    help = "Generate a synthetic province (~100 counties, ~10 million children) into a scratch database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--counties", type=int, default=100)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--townships", type=int, default=19, help="per county")
        parser.add_argument("--villages-per-township", type=int, default=20)
        parser.add_argument("--children", type=int, default=100_000, help="per county")
        parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                            help="date the ledgers describe (default: today)")
        parser.add_argument("--database", default="gridmap_province",
                            help="scratch database on the app's server (default gridmap_province)")
        parser.add_argument("--workers", type=int, default=2, help="processes writing counties (default 2)")
        parser.add_argument("--replace", action="store_true", help="drop the scratch database and start again")
        parser.add_argument("--no-network", action="store_true", help="write the roads, skip the routable network")
        # Internal: the steps each worker process runs inside the scratch database.
        parser.add_argument("--step", choices=["counties", "roads"], default=None, help="(internal)")
        parser.add_argument("--part", default="0/1", help="(internal) k/n: counties whose index ≡ k mod n")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("counties", "townships", "villages_per_township", "children", "workers"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} 须为正整数")
        if options["counties"] > 990:
            raise CommandError("--counties 至多 990")
        params = province.ProvinceParams(
            counties=options["counties"], seed=options["seed"], townships=options["townships"],
            villages_per_township=options["villages_per_township"], children=options["children"],
            as_of=options["as_of"])
        if options["step"]:
            self._step(params, options)
        else:
            self._run(params, options)

    # --- the parent: the scratch database, the workers, the progress bar --------------------------
    def _run(self, params: province.ProvinceParams, options: dict[str, Any]) -> None:
        name = options["database"]
        if not DB_NAME.match(name):
            raise CommandError("--database：数据库名只能由小写字母、数字和下划线组成")
        if name == settings.DATABASES["default"]["NAME"]:
            raise CommandError(f"{name} 是应用本身的数据库：省级数据生成到单独的数据库（--database）")
        self._ensure_database(name, options["replace"])
        env = {**os.environ, "DATABASE_URL": database_url(name)}
        started = time.perf_counter()
        base = [sys.executable, str(ROOT / "manage.py"), "generate_province", *self._param_args(params)]
        bar = _Bar(self.stderr, params.counties, params.children)
        workers = [subprocess.Popen([*base, "--step", "counties", "--part", f"{k}/{options['workers']}"],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
                   for k in range(min(options["workers"], params.counties))]
        readers = [threading.Thread(target=bar.follow, args=(w.stdout,)) for w in workers]
        for r in readers:
            r.start()
        codes = [w.wait() for w in workers]
        for r in readers:
            r.join()
        bar.close()
        if any(codes):
            raise CommandError(f"生成中断（进程退出码 {codes}）：以同样的参数再运行一次即从中断处继续")
        counties_s = time.perf_counter() - started
        self.stdout.write("roads and the routable network (once, for the whole province)…")
        roads = subprocess.run([*base, "--step", "roads", *(["--no-network"] if options["no_network"] else [])],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        if roads.returncode:
            raise CommandError("道路或路网写入失败：以同样的参数再运行一次即可重试")
        total = time.perf_counter() - started
        self.stdout.write(roads.stdout.strip())
        self.stdout.write(self.style.SUCCESS(
            f"Province in {name}: {params.counties} counties, {bar.children:,} children written now "
            f"({bar.skipped} counties already there); counties {counties_s / 60:.1f} min, total {total / 60:.1f} min.\n"
            f"DATABASE_URL={database_url(name).replace(settings.DATABASES['default']['PASSWORD'] or '', '…')}"))

    def _param_args(self, params: province.ProvinceParams) -> list[str]:
        args = ["--counties", str(params.counties), "--seed", str(params.seed), "--townships", str(params.townships),
                "--villages-per-township", str(params.villages_per_township), "--children", str(params.children)]
        return args + (["--as-of", params.as_of.isoformat()] if params.as_of else [])

    def _ensure_database(self, name: str, replace: bool) -> None:
        with connection.cursor() as cursor:
            if replace:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')  # name checked against DB_NAME
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                # Copies template1, where the private cluster keeps PostGIS and pgRouting.
                cursor.execute(f'CREATE DATABASE "{name}"')
        env = {**os.environ, "DATABASE_URL": database_url(name)}
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    # --- a worker inside the scratch database -----------------------------------------------------
    def _step(self, params: province.ProvinceParams, options: dict[str, Any]) -> None:
        if options["step"] == "roads":
            roads, edges = province.write_roads(params, network=not options["no_network"])
            province.analyze()
            self.stdout.write(f"{roads:,} roads, {edges:,} network edges (network built once)")
            return
        k, n = (int(x) for x in options["part"].split("/"))

        def report(done: province.CountyDone, total: int) -> None:
            self.stdout.write(f"COUNTY {done.index} {done.code} {done.children} {done.seconds:.2f} {int(done.skipped)}")
            self.stdout.flush()

        try:
            province.write_counties(params, (k, n), report)
        except province.ProvinceError as exc:
            raise CommandError(str(exc)) from exc


class _Bar:
    """One progress bar on stderr for the workers' "COUNTY …" lines."""

    def __init__(self, out: Any, total: int, per_county: int) -> None:
        self.out, self.total, self.per_county = out, total, per_county
        self.done = self.skipped = self.children = 0
        self.started = time.perf_counter()
        self.lock = threading.Lock()

    def follow(self, stream: Any) -> None:
        for line in stream:
            if not line.startswith("COUNTY "):
                continue
            _tag, _index, _code, children, _seconds, skipped = line.split()
            with self.lock:
                self.done += 1
                self.children += int(children)
                self.skipped += int(skipped)
                self._draw()

    def _draw(self) -> None:
        width = 30
        filled = width * self.done // self.total
        elapsed = time.perf_counter() - self.started
        fresh = self.done - self.skipped
        eta = elapsed / fresh * (self.total - self.done) if fresh else 0.0
        self.out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} counties, "
                       f"{self.children:,} children, {elapsed / 60:.1f} min, ~{eta / 60:.0f} min to go", ending="")
        self.out.flush()

    def close(self) -> None:
        self.out.write("")

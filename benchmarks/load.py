"""Fifty township officials at once: the served app under load, as `make demo` serves it.

    python -m benchmarks.load            (or: make bench; GRIDMAP_BENCH_LOAD_SECONDS, default 60)

Starts gunicorn with gridmap/gunicorn.conf.py on a free port of 127.0.0.1 (or uses
GRIDMAP_BENCH_URL), logs in 50 township officials spread over the demo county's townships, and
lets each loop without pause over its grid page, a cell card of its township, its suspected-
dropout ledger and the API's cell list, each thread on its own keep-alive connection (a bounded
load generator of our own: no external tool, nothing leaves 127.0.0.1). Each official opens the
cards of five cells of its township in turn, so the first opening of each builds the card and later
ones find it kept (layers.served.part_key); the cache of rendered parts is emptied before the run.
Baseline, in the same run: the same requests one at a time on the idle server (the card both built
and kept); the ratio loaded p95 ÷ idle median is how much the load costs. Figures are recorded
(benchmarks.results), never asserted.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from benchmarks.results import record  # noqa: E402
from gridmap.models import Area, AreaLevel, Profile, UserRole  # noqa: E402
from layers import served  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
USERS = 50
SECONDS = float(os.environ.get("GRIDMAP_BENCH_LOAD_SECONDS", "60"))
KINDS = ["grid page", "cell card", "ledger", "API cell list"]
CARDS = 5  # cells whose cards each official opens in turn
NAME = "load"


def logins() -> list[tuple[str, dict[str, list[str]]]]:
    """(session cookie, {kind: path}) for each bench official, creating what is missing."""
    if not Area.objects.filter(level=AreaLevel.COUNTY).exists():
        call_command("load_demo")
    townships = list(Area.objects.filter(level=AreaLevel.TOWNSHIP).order_by("code"))
    rng = random.Random(17)
    out = []
    User = get_user_model()
    for i in range(USERS):
        town = townships[i % len(townships)]
        user, _made = User.objects.get_or_create(username=f"bench-load-{i:02d}")
        # scope set on every run: a demo reloaded since (load_demo --replace) has new areas, and an
        # official left without any gets 404 for every page
        profile, _made = Profile.objects.update_or_create(user=user, defaults={"role": UserRole.TOWNSHIP_OFFICIAL})
        profile.areas.set([town])
        client = Client()
        client.force_login(user)
        cells = list(Area.objects.filter(level=AreaLevel.GROUP, code__startswith=town.code).values_list("code", flat=True))
        paths = {"grid page": [f"/grid/{town.code}/"],
                 "cell card": [f"/grid/cell/{code}/" for code in rng.sample(cells, min(CARDS, len(cells)))],
                 "ledger": [f"/ledgers/{town.code}/suspected/"], "API cell list": ["/api/v1/cells/?page_size=100"]}
        out.append((f"sessionid={client.cookies['sessionid'].value}", paths))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve() -> tuple[subprocess.Popen[bytes] | None, str, int]:
    given = os.environ.get("GRIDMAP_BENCH_URL")
    if given:
        parts = urlsplit(given)
        return None, parts.hostname or "127.0.0.1", parts.port or 80
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gridmap/gunicorn.conf.py", "gridmap.wsgi"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, "127.0.0.1", port
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


class Session:
    """One official's browser: a keep-alive connection, its cookie, gzip like a browser."""

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.conn = http.client.HTTPConnection(host, port, timeout=120)

    def get(self, path: str) -> tuple[int | str, float]:
        start = time.perf_counter()
        try:
            self.conn.request("GET", path, headers={"Cookie": self.cookie, "Accept-Encoding": "gzip"})
            response = self.conn.getresponse()
            response.read()
            status: int | str = response.status
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
        except (OSError, http.client.HTTPException) as error:
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            status = type(error).__name__
        return status, time.perf_counter() - start


def idle_baseline(host: str, port: int, users: list[tuple[str, dict[str, list[str]]]]) -> dict[str, float]:
    """Median of each kind, one request at a time on the idle server (after one warm-up each); the
    card also as first opened (built: the last official's cards, which the load then finds kept)."""
    cookie, paths = users[-1]
    session = Session(host, port, cookie)
    times: dict[str, list[float]] = defaultdict(list)
    for path in paths["cell card"]:
        times["cell card (built)"].append(session.get(path)[1])
    for kind in KINDS:
        session.get(paths[kind][0])
    for _ in range(5):
        for kind in KINDS:
            times[kind].append(session.get(paths[kind][0])[1])
    return {kind: statistics.median(t) for kind, t in times.items()}


Official = tuple[str, dict[str, list[str]]]  # session cookie, {kind: paths}


def load(host: str, port: int, users: list[Official]) -> tuple[dict[str, list[float]], dict[str, int], int]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    stop = time.perf_counter() + SECONDS
    done = [0]

    def official(cookie: str, paths: dict[str, list[str]], offset: int) -> None:
        session = Session(host, port, cookie)
        n = offset
        while time.perf_counter() < stop:
            kind = KINDS[n % len(KINDS)]
            choices = paths[kind]
            path = choices[(n // len(KINDS)) % len(choices)]
            n += 1
            status, seconds = session.get(path)
            with lock:
                done[0] += 1
                if status == 200:
                    latencies[kind].append(seconds)
                else:
                    errors[f"{kind}: {status}"] += 1

    threads = [threading.Thread(target=official, args=(c, p, i)) for i, (c, p) in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, done[0]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def main() -> None:
    users = logins()
    caches[served.PAGES].clear()  # every card is built once in the run, as on the first day of a month
    proc, host, port = serve()
    try:
        idle = idle_baseline(host, port, users)
        started = time.perf_counter()
        latencies, errors, total = load(host, port, users)
        elapsed = time.perf_counter() - started
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
    record(NAME, f"{USERS} officials for {SECONDS:.0f} s: requests", total, "requests")
    record(NAME, "throughput", total / elapsed, "req/s")
    record(NAME, "errors (non-200 or refused)", sum(errors.values()), "requests", target="0",
           note="; ".join(f"{k} ×{v}" for k, v in sorted(errors.items())))
    everything = [s for values in latencies.values() for s in values]
    if everything:
        record(NAME, "all requests p95", p95(everything), "s", target="< 1 s")
    record(NAME, "cell card idle median, built (first opening)", idle["cell card (built)"], "s")
    for kind in KINDS:
        values = latencies.get(kind, [])
        if not values:
            continue
        record(NAME, f"{kind} median", statistics.median(values), "s", baseline=idle[kind], baseline_label="idle median")
        record(NAME, f"{kind} p95", p95(values), "s", baseline=idle[kind], baseline_label="idle median",
               target="< 1 s")


if __name__ == "__main__":
    main()

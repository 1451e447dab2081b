"""gunicorn's settings for `make demo` and for a bureau's server (deploy/gridmap.service).

Threaded workers, one per core (each is one Python interpreter: its threads share one core's worth
of Python, and overlap where a request waits on the database), four threads each; each worker keeps
a database connection pool of its own, as large as its threads but never more than 40 connections in
all (GRIDMAP_DB_POOL_SIZE, read by gridmap/settings.py) — 8 on a 2-core machine, well under
PostgreSQL's 50 — and every connection is checked when taken from the pool (a database restart
costs no request).

Measured with fifty officials at once (`make bench BENCH=load`, 2 cores):
- No keep-alive: a browser's keep-alive connection stays with the worker that accepted it, and the
  fifty connections were split 13/37 between two workers (5 workers: worse) — those on the crowded
  worker waited 2–5 s while the others were served in 0.2 s. A new connection per request goes to
  whichever worker accepts first, so every official waits about as long (on 127.0.0.1 or a LAN a
  connection costs well under a millisecond; behind nginx, deploy/, nginx keeps the browsers'
  connections open and spreads the requests itself). GRIDMAP_KEEPALIVE (seconds) turns it back on.
- Four threads, not eight: the same throughput with 18 ms of worker CPU per request instead of 28
  (eight threads spent the difference contending for the interpreter lock).
"""

import multiprocessing
import os
from pathlib import Path

_cores = multiprocessing.cpu_count()
# GRIDMAP_WORKERS (default one per core, at most 8), GRIDMAP_THREADS (default 4 per worker).
workers = int(os.environ.get("GRIDMAP_WORKERS", str(min(_cores, 8))))
threads = int(os.environ.get("GRIDMAP_THREADS", "4"))
worker_class = "gthread"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
keepalive = int(os.environ.get("GRIDMAP_KEEPALIVE", "0"))
# Without keep-alive a worker takes a connection only when one of its threads is free: a worker that
# accepted more queued them behind its busy threads while the other worker had idle ones (the tail of
# the fifty officials' wait). With keep-alive the idle connections count too: gunicorn's default.
worker_connections = threads if keepalive == 0 else 1000
timeout = 120  # the slowest page (a county export) finishes well within it
graceful_timeout = 30
max_requests = 5000  # recycle workers now and then: memory stays flat over weeks
max_requests_jitter = 500
os.environ.setdefault("GRIDMAP_DB_POOL_SIZE", str(max(1, min(threads, 40 // workers))))

_log_dir = Path(os.environ.get("GRIDMAP_LOG_DIR", Path(__file__).resolve().parent.parent / "var" / "log"))
_log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
accesslog = str(_log_dir / "access.log")
errorlog = "-"


def on_starting(server: object) -> None:
    """Empty the kept parts of pages (CACHES["pages"], layers.served.part_key) when the server starts:
    their keys hold the data, not the code, and a restart is how new code or templates arrive."""
    import django
    from django.core.cache import caches

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
    django.setup()
    caches["pages"].clear()

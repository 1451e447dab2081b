"""gunicorn's settings for `make demo` and for a bureau's server (deploy/gridmap.service).

Threaded workers, one per core (each is one Python interpreter: its threads share one core's worth
of Python, and overlap where a request waits on the database); each worker keeps a database
connection pool of its own, as large as its threads but never more than 40 connections in all
(GRIDMAP_DB_POOL_SIZE, read by gridmap/settings.py) — 16 on a 2-core machine, under PostgreSQL's 50
— and every connection is checked when taken from the pool (a database restart costs no request).

Why one worker per core and not 2 × cores + 1: a browser's keep-alive connection stays with the
worker that accepted it, and with five workers on two cores fifty officials were split unevenly —
those on a crowded worker waited 5 s while the others were served in 0.2 s (`make bench
BENCH=load`: p95 5.5 s at a median of 0.15 s). With as many workers as cores each holds about as
many connections as the others and shares a core's time among them evenly: p95 0.9 s at the same
throughput. Behind nginx (deploy/), nginx spreads the requests itself.
"""

import multiprocessing
import os
from pathlib import Path

_cores = multiprocessing.cpu_count()
# GRIDMAP_WORKERS (default one per core, at most 8), GRIDMAP_THREADS (default 8 per worker).
workers = int(os.environ.get("GRIDMAP_WORKERS", str(min(_cores, 8))))
threads = int(os.environ.get("GRIDMAP_THREADS", "8"))
worker_class = "gthread"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
keepalive = int(os.environ.get("GRIDMAP_KEEPALIVE", "0"))
timeout = 120  # the slowest page (a county export) finishes well within it
graceful_timeout = 30
max_requests = 5000  # recycle workers now and then: memory stays flat over weeks
max_requests_jitter = 500
os.environ.setdefault("GRIDMAP_DB_POOL_SIZE", str(max(1, min(threads, 40 // workers))))

_log_dir = Path(os.environ.get("GRIDMAP_LOG_DIR", Path(__file__).resolve().parent.parent / "var" / "log"))
_log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
accesslog = str(_log_dir / "access.log")
errorlog = "-"

"""gunicorn's settings for `make demo` and for a bureau's server (deploy/gridmap.service).

Threaded workers sized to the machine; each worker keeps a database connection pool of its own,
as large as its threads (GRIDMAP_DB_POOL_SIZE, read by gridmap/settings.py), so that at most
workers × threads connections are open — 20 on a 2-core machine, well under PostgreSQL's 50 — and
every connection is checked when taken from the pool (a database restart costs no request).
"""

import multiprocessing
import os
from pathlib import Path

_cores = multiprocessing.cpu_count()
# GRIDMAP_WORKERS (default 2 × cores + 1, at most 8), GRIDMAP_THREADS (default 4 per worker).
workers = int(os.environ.get("GRIDMAP_WORKERS", str(min(2 * _cores + 1, 8))))
threads = int(os.environ.get("GRIDMAP_THREADS", "4"))
worker_class = "gthread"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
timeout = 120  # the slowest page (a county export) finishes well within it
graceful_timeout = 30
max_requests = 5000  # recycle workers now and then: memory stays flat over weeks
max_requests_jitter = 500
os.environ.setdefault("GRIDMAP_DB_POOL_SIZE", str(threads))

_log_dir = Path(os.environ.get("GRIDMAP_LOG_DIR", Path(__file__).resolve().parent.parent / "var" / "log"))
_log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
accesslog = str(_log_dir / "access.log")
errorlog = "-"

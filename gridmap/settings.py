"""gridmap settings: one file, read from the environment. Every option says its default.

Nothing here needs to be set: with no environment, gridmap talks to the project's private PostGIS
cluster (scripts/pg.sh, started by `make db`), keeps generated secret keys in var/ (0600) and runs
with debug off, as `make demo` serves it. `make dev` turns debug on for development. A server of
the bureau sets DATABASE_URL, GRIDMAP_SECRET_KEY, GRIDMAP_ID_HASH_KEY, GRIDMAP_ALLOWED_HOSTS and,
behind nginx with TLS, GRIDMAP_HTTPS=1 (README, deploy/).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.utils.translation import gettext_lazy as _

django_stubs_ext.monkeypatch()  # ModelAdmin[Model] etc. at runtime, for the type checker

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # private cluster, generated keys, screenshots; git-ignored


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def _var_secret(name: str) -> str:
    """A random secret kept in var/NAME, created on first use (development only)."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _private_cluster_url() -> str:
    """URL of the cluster that scripts/pg.sh runs (its port and password live in var/)."""
    port = os.environ.get("GRIDMAP_PG_PORT") or _read(VAR_DIR / "pg-port") or "54329"
    password = _read(VAR_DIR / "pg-password") or ""
    return f"postgis://gridmap:{password}@127.0.0.1:{port}/gridmap"


def _read(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


# GRIDMAP_DEBUG (default off): Django's debug mode — its pages list every URL and show SQL and local
# variables, so it is for development only (`make dev`).
DEBUG = _env_bool("GRIDMAP_DEBUG", False)

# GRIDMAP_SECRET_KEY (default: a random key kept in var/secret-key, 0600).
SECRET_KEY = os.environ.get("GRIDMAP_SECRET_KEY") or _var_secret("secret-key")

# GRIDMAP_ALLOWED_HOSTS (default "127.0.0.1,localhost"): comma-separated host names.
ALLOWED_HOSTS = os.environ.get("GRIDMAP_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

# DATABASE_URL (default: the private cluster). Must be PostGIS: postgis://user:pw@host:port/db.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or _private_cluster_url(),
        engine="django.contrib.gis.db.backends.postgis",
        conn_max_age=60,
        # A connection is checked before each request reuses it: after a database restart the
        # first request of each worker would otherwise fail.
        conn_health_checks=True,
    )
}
# GRIDMAP_DB_POOL_SIZE (default 0: no pool, one persistent connection per thread): the served app
# (gunicorn, gridmap/gunicorn.conf.py) sets it to its threads per worker, so that workers × threads
# connections at most are open — well under PostgreSQL's max_connections — each checked on checkout.
_POOL = int(os.environ.get("GRIDMAP_DB_POOL_SIZE", "0"))
if _POOL:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": _POOL,
        # GRIDMAP_DB_POOL_TIMEOUT (default 10 s): how long a request waits for a free connection
        # before the "service busy" page.
        "timeout": float(os.environ.get("GRIDMAP_DB_POOL_TIMEOUT", "10"))}
# PostgreSQL's JIT compiles any query the planner guesses to be big (a scoped child query often is,
# by estimate): 100-600 ms of compiling for 5 ms of work. Off for the app's connections.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "drf_spectacular",
    "gridmap",
    "layers",
    "importers",
    "logins",  # the county administrator's page for logins (issue 12)
    "atlas",
    # Dropout hotspots (issue 14): layer endpoint, timeline, command, own locale/
    "hotspots",
    "routing",
    "gaps",
    "hometeaching",  # send-teaching-home (issue 15)
    "planning",
    "safetynet",  # aid check, transfers, term-start check, early warning (issue 18)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gridmap.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",  # map pages embed their GeoJSON; it compresses ~5x
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gridmap.middleware.ChineseFirstLocaleMiddleware",
    "gridmap.middleware.RequestSanityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "gridmap.middleware.AuditRefusalMiddleware",
]

ROOT_URLCONF = "gridmap.urls"
WSGI_APPLICATION = "gridmap.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gridmap.context_processors.work_menu",
                "gridmap.context_processors.csp",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# GRIDMAP_SESSION_HOURS (default 8): a working day; sessions end when the browser closes too.
SESSION_COOKIE_AGE = int(os.environ.get("GRIDMAP_SESSION_HOURS", "8")) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# The UI is Simplified Chinese by default; English is the other language offered.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "gridmap" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Serve from the app folders when `collectstatic` has not run (tests, a fresh `make db` shell).
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "gridmap API", "VERSION": "1", "SERVE_INCLUDE_SCHEMA": False}

# Django 5.2 warns (gis.W001) that GDAL < 3.9 is deprecated. We use Debian 12's GDAL 3.6 / GEOS
# 3.11 on purpose: the PostGIS server links the very same GEOS and PROJ, so geometry operations
# agree between Python and the database. Revisit when Debian 13 brings GDAL 3.10.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# --- gridmap's own settings (validated by gridmap/checks.py) ---------------------------------

# Storage SRID of every geometry. Distances are computed in metres on geography or GRIDMAP_METRIC_SRID.
GRIDMAP_SRID = 4326
# GRIDMAP_METRIC_SRID (default 4549, CGCS2000 / 3-degree Gauss-Kruger CM 120E): the projected CRS
# for lengths and areas in Python. Pick the zone of the county's central meridian.
GRIDMAP_METRIC_SRID = int(os.environ.get("GRIDMAP_METRIC_SRID", "4549"))

# GRIDMAP_TILE_URL (default empty: no basemap; the map draws its own boundaries, roads, river).
# E.g. a Tianditu or in-house tile server: "https://tiles.example.gov.cn/{z}/{x}/{y}.png".
GRIDMAP_TILE_URL = os.environ.get("GRIDMAP_TILE_URL", "")
# GRIDMAP_TILE_ATTRIBUTION (default empty; required with a tile URL): credit line for the tiles.
GRIDMAP_TILE_ATTRIBUTION = os.environ.get("GRIDMAP_TILE_ATTRIBUTION", "")

# GRIDMAP_ID_HASH_KEY (default: a random key kept in var/id-hash-key): HMAC key of the salted hash
# under which ID numbers are matched. Changing it orphans every stored hash: set it once.
GRIDMAP_ID_HASH_KEY = os.environ.get("GRIDMAP_ID_HASH_KEY") or _var_secret("id-hash-key")

# GRIDMAP_COUNTY_CODE (default "330783", 东阳市): the county this installation serves.
GRIDMAP_COUNTY_CODE = os.environ.get("GRIDMAP_COUNTY_CODE", "330783")
# GRIDMAP_NOTICE_DAYS (default 7): the deadline a 《限期复学通知书》 gives, in days.
GRIDMAP_NOTICE_DAYS = int(os.environ.get("GRIDMAP_NOTICE_DAYS", "7"))
# GRIDMAP_BASE_URL (default empty): where gridmap is reached, for the QR codes on printed map sheets
# (a phone scanning one opens the cell's page). Empty: a print started from the web uses the address
# the page was opened from; print_atlas on the command line uses http://127.0.0.1:8000 and warns.
GRIDMAP_BASE_URL = os.environ.get("GRIDMAP_BASE_URL", "").rstrip("/")
# GRIDMAP_ATLAS_DIR (default var/atlas): where printed atlases are written.
GRIDMAP_ATLAS_DIR = Path(os.environ.get("GRIDMAP_ATLAS_DIR", str(VAR_DIR / "atlas")))
# GRIDMAP_ATLAS_RUNNER (default "process"): "process" prints in a separate process started by the
# page; "inline" prints within the request (tests, or a deployment without background processes).
GRIDMAP_ATLAS_RUNNER = os.environ.get("GRIDMAP_ATLAS_RUNNER", "process")

# --- uploads, imports and files kept on disk (issue 11: nothing lingers, nothing unbounded) ----
# GRIDMAP_UPLOAD_MAX_MB (default 100): largest file the import page accepts.
GRIDMAP_UPLOAD_MAX_MB = int(os.environ.get("GRIDMAP_UPLOAD_MAX_MB", "100"))
# GRIDMAP_UNZIPPED_MAX_MB (default 1024): most a .zip or .xlsx may unpack to, by its declared sizes.
GRIDMAP_UNZIPPED_MAX_MB = int(os.environ.get("GRIDMAP_UNZIPPED_MAX_MB", "1024"))
# GRIDMAP_ZIP_MAX_RATIO (default 200): largest unpacked/packed ratio of one member over 1 MB (a
# children workbook packs about 8:1; a decompression bomb 1000:1 and more).
GRIDMAP_ZIP_MAX_RATIO = float(os.environ.get("GRIDMAP_ZIP_MAX_RATIO", "200"))
# GRIDMAP_IMPORT_MAX_ROWS (default 500000): most rows a table import reads.
GRIDMAP_IMPORT_MAX_ROWS = int(os.environ.get("GRIDMAP_IMPORT_MAX_ROWS", "500000"))
# GRIDMAP_UPLOAD_TTL_MINUTES (default 60): how long an uploaded file waits between "check" and
# "write"; it is deleted on writing, on cancelling and after this time (by the next visit to the
# import page, or `manage.py purge_files`).
GRIDMAP_UPLOAD_TTL_MINUTES = int(os.environ.get("GRIDMAP_UPLOAD_TTL_MINUTES", "60"))
# GRIDMAP_UPLOAD_DIR (default var/uploads): where uploads wait (0700; files 0600, never under
# their original names).
GRIDMAP_UPLOAD_DIR = Path(os.environ.get("GRIDMAP_UPLOAD_DIR", str(VAR_DIR / "uploads")))
# GRIDMAP_ATLAS_RETENTION_DAYS (default 30): printed atlases (names, masked IDs) are deleted after
# this many days by `manage.py purge_files` (run it daily, e.g. from cron or a systemd timer).
GRIDMAP_ATLAS_RETENTION_DAYS = int(os.environ.get("GRIDMAP_ATLAS_RETENTION_DAYS", "30"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 2**20  # form fields (not files): 10 MB
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# GRIDMAP_ATLAS_STALE_SECONDS (default 60): an atlas job whose printing process has given no sign
# of life for this long (it beats every 5 s) is marked failed and its partial files removed.
GRIDMAP_ATLAS_STALE_SECONDS = int(os.environ.get("GRIDMAP_ATLAS_STALE_SECONDS", "60"))

# --- security of what is served ----------------------------------------------------------------
# GRIDMAP_HTTPS (default off): set to 1 when gridmap is reached over HTTPS (nginx in front, see
# deploy/): HTTP is redirected, cookies are sent over HTTPS only, browsers are told to use HTTPS for a
# year (HSTS), and nginx's X-Forwarded-Proto is trusted (gunicorn listens on 127.0.0.1 only).
HTTPS = _env_bool("GRIDMAP_HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (gridmap.middleware.SecurityHeadersMiddleware): scripts only from this
# site or inline with the page's nonce; images also from the configured tile server.

# --- logging: errors with tracebacks to var/log/gridmap.log (rotated) and to stderr -------------
LOG_DIR = Path(os.environ.get("GRIDMAP_LOG_DIR", str(VAR_DIR / "log")))
LOG_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s"}},
    "handlers": {
        "file": {"class": "logging.handlers.RotatingFileHandler", "filename": str(LOG_DIR / "gridmap.log"),
                 "maxBytes": 10 * 2**20, "backupCount": 5, "encoding": "utf-8", "formatter": "plain",
                 "level": "WARNING"},
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "level": "WARNING"},
    },
    "loggers": {
        "django": {"handlers": ["file", "stderr"], "level": "WARNING", "propagate": False},
        "gridmap": {"handlers": ["file", "stderr"], "level": "INFO", "propagate": False},
    },
}
# GRIDMAP_BACKUP_KEEP (default 14): `make backup` keeps the newest this many backups of a database
# in var/backups/ and deletes older ones (0: keep all). Copy them off the machine as well.
GRIDMAP_BACKUP_KEEP = int(os.environ.get("GRIDMAP_BACKUP_KEEP", "14"))

# --- Travel times over the roads (routing/, gaps/) ----------------------------------------
# Every default is cited in routing/modes.py (speeds, access cap) and gaps/norms.py (norms).
# GRIDMAP_WALK_KMH (default 4.0): walking speed of primary pupils, also of every access leg.
GRIDMAP_WALK_KMH = float(os.environ.get("GRIDMAP_WALK_KMH", "4.0"))
# GRIDMAP_CYCLE_KMH (default 12): a child's cycling speed.
GRIDMAP_CYCLE_KMH = float(os.environ.get("GRIDMAP_CYCLE_KMH", "12"))
# GRIDMAP_BUS_KMH (default empty): school bus / car speeds overriding routing.modes.BUS_KMH per
# OpenStreetMap class, e.g. "primary=45,tertiary=25,track=0" (0: not drivable).
GRIDMAP_BUS_KMH = os.environ.get("GRIDMAP_BUS_KMH", "")
# GRIDMAP_ACCESS_MAX_M (default 1000): a home farther than this from any road is reported as off
# the network instead of being snapped to it.
GRIDMAP_ACCESS_MAX_M = float(os.environ.get("GRIDMAP_ACCESS_MAX_M", "1000"))
# GRIDMAP_COVERAGE_NORMS (default "1-3=walk/30; 4-6=walk/30+boarding:bus/60; 7-9=bus/30+boarding:bus/90"):
# the longest way to school per grade band, by mode, and where a boarding school may stand in.
GRIDMAP_COVERAGE_NORMS = os.environ.get(
    "GRIDMAP_COVERAGE_NORMS", "1-3=walk/30; 4-6=walk/30+boarding:bus/60; 7-9=bus/30+boarding:bus/90")

# --- School consolidation scenarios (planning/, issue 16) --------------------------------------
# GRIDMAP_PLANNING_OVERFLOW (default "next"): what a scenario does when a receiving school is full —
# "next": seats go to the nearest children, the others to the next nearest school with room;
# "count": every child goes to the nearest school, places beyond capacity are counted as overflow.
# Each scenario may override it; the report states the rule it used.
GRIDMAP_PLANNING_OVERFLOW = os.environ.get("GRIDMAP_PLANNING_OVERFLOW", "next")
# GRIDMAP_PLANNING_SOLVER_SECONDS (default 60): time limit of a suggested plan (HiGHS), for all its solves
# together (keep it well under gunicorn's 120 s timeout: the page waits for it).
GRIDMAP_PLANNING_SOLVER_SECONDS = float(os.environ.get("GRIDMAP_PLANNING_SOLVER_SECONDS", "60"))

# --- Send-teaching-home (送教上门, hometeaching/, gridmap/visits.py) --------------------------------
# Every value below is checked at start-up by hometeaching/checks.py (manage.py check, migrate,
# runserver, `make demo`, the systemd unit's ExecStartPre): a malformed one stops the start with a
# hint. Numbers that do not parse are kept here as the text given, so that the check — not a
# traceback, nor a 500 later — is what reports them.


def _home_number(name: str, default: str, kind: type[int] | type[float]) -> int | float | str:
    text = os.environ.get(name, default)
    try:
        return kind(text)
    except ValueError:
        return text


# The province's load. DESIGN.md's floor is one visit a week by two teachers, one of them male;
# provinces set more (two visits of three class hours a week in some, one of two hours in others).
# GRIDMAP_HOME_VISITS_PER_WEEK (default 1, 1-7) and GRIDMAP_HOME_HOURS_PER_VISIT (default 2, 1-8):
# what a new plan starts with and the least a plan may ask for.
GRIDMAP_HOME_VISITS_PER_WEEK = _home_number("GRIDMAP_HOME_VISITS_PER_WEEK", "1", int)
GRIDMAP_HOME_HOURS_PER_VISIT = _home_number("GRIDMAP_HOME_HOURS_PER_VISIT", "2", int)
# GRIDMAP_CLASS_HOUR_MINUTES (default 40, 10-120): one class hour (课时) as a primary school's lesson;
# a visit lasts hours × this (its service time on a route).
GRIDMAP_CLASS_HOUR_MINUTES = _home_number("GRIDMAP_CLASS_HOUR_MINUTES", "40", int)
# GRIDMAP_HOME_HALF_DAYS (default "08:00-12:00,14:00-17:30"): the time budget of a trip — a teaching
# pair's half-day, leaving the school and back; HH:MM-HH:MM, in order, not overlapping.
GRIDMAP_HOME_HALF_DAYS = os.environ.get("GRIDMAP_HOME_HALF_DAYS", "08:00-12:00,14:00-17:30")
# GRIDMAP_HOME_TRAVEL_MODE (default "bus"): how teachers travel (routing.modes: walk, cycle, bus = car).
GRIDMAP_HOME_TRAVEL_MODE = os.environ.get("GRIDMAP_HOME_TRAVEL_MODE", "bus")
# GRIDMAP_HOME_SOLVER_SECONDS (default 10, above 0 and at most 600): the most the route solver
# spends on one teaching pair's week.
GRIDMAP_HOME_SOLVER_SECONDS = _home_number("GRIDMAP_HOME_SOLVER_SECONDS", "10", float)
# A school's planned week is kept under a fingerprint of what it depends on (hometeaching/cache.py),
# in files under var/cache/hometeaching shared by gunicorn's workers; the default cache stays
# Django's per-process memory.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "hometeaching": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                     "LOCATION": str(VAR_DIR / "cache" / "hometeaching"), "OPTIONS": {"MAX_ENTRIES": 2000}},
}

# --- The grid map's vector tiles (issue 17, layers.served): kept on disk, shared by the server's
# workers; keys hold the data version and the login's scope, so nothing is deleted on a write.
CACHES["tiles"] = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                   "LOCATION": str(VAR_DIR / "cache" / "tiles"), "OPTIONS": {"MAX_ENTRIES": 20000}}
# Rendered parts of the busiest pages (the grid page's map, cell cards; layers.served.part_key): kept
# apart from the tiles so that neither culls the other, with the same rule (version and scope in the key).
CACHES["pages"] = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                   "LOCATION": str(VAR_DIR / "cache" / "pages"), "OPTIONS": {"MAX_ENTRIES": 20000}}

# --- The browsable API in the UI's language: view names and descriptions from gridmap.api's
# translated table instead of class names and docstrings.
REST_FRAMEWORK["VIEW_NAME_FUNCTION"] = "gridmap.api.view_name"
REST_FRAMEWORK["VIEW_DESCRIPTION_FUNCTION"] = "gridmap.api.view_description"

# --- The safety net for key groups (issue 18: gridmap/aid.py, gridmap/transfers.py, safetynet/) ------
# GRIDMAP_AID_ELIGIBLE (default "poverty_relief,at_risk,sudden_hardship,min_allowance,orphan,disabled"):
# the key groups whose children are eligible for aid every term (应助尽助), by key-group name (the
# child's kg_* flag without "kg_") or its Chinese name (脱贫户, 边缘易致贫户, 突发严重困难户, 低保, 孤儿, 残疾,
# 残疾人子女, 留守, 随迁, 困境儿童). The default is DESIGN.md's list: 脱贫户, 边缘易致贫户, 突发严重困难户,
# 低保, orphans and de facto unsupported children, disabled children.
GRIDMAP_AID_ELIGIBLE = os.environ.get("GRIDMAP_AID_ELIGIBLE",
                                      "poverty_relief,at_risk,sudden_hardship,min_allowance,orphan,disabled")
# GRIDMAP_TRANSFER_DAYS (default 30): a transfer out not completed (no roll of the county shows the
# child, no receipt recorded) more than this many days after it is listed as 流转未到.
GRIDMAP_TRANSFER_DAYS = int(os.environ.get("GRIDMAP_TRANSFER_DAYS", "30"))
# GRIDMAP_TERM_CHECK_DEADLINES (default "03-15,09-15"): the day (MM-DD) by which the term-start check
# (开学初核查) of the spring and of the autumn term is reported.
GRIDMAP_TERM_CHECK_DEADLINES = os.environ.get("GRIDMAP_TERM_CHECK_DEADLINES", "03-15,09-15")
# GRIDMAP_RISK_WEIGHTS (default "absence_day=2,past_suspected=4,key_grade=1,key_group=2,aid_gap=3,
# long_way=2,transfer=5"): points per factor of the early-warning list (辍学预警, safetynet/risk.py);
# absence_day counts per unexcused day, at most GRIDMAP_RISK_ABSENCE_CAP (default 5) days within the
# last GRIDMAP_RISK_ABSENCE_WINDOW (default 28) days. README: how a bureau calibrates them.
GRIDMAP_RISK_WEIGHTS = os.environ.get(
    "GRIDMAP_RISK_WEIGHTS", "absence_day=2,past_suspected=4,key_grade=1,key_group=2,aid_gap=3,long_way=2,transfer=5")
GRIDMAP_RISK_ABSENCE_WINDOW = int(os.environ.get("GRIDMAP_RISK_ABSENCE_WINDOW", "28"))
GRIDMAP_RISK_ABSENCE_CAP = int(os.environ.get("GRIDMAP_RISK_ABSENCE_CAP", "5"))

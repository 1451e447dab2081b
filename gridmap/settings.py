"""gridmap settings: one file, read from the environment. Every option says its default.

Nothing here needs to be set for a developer: with no environment, gridmap talks to the project's
private PostGIS cluster (scripts/pg.sh, started by `make db`) and keeps a generated secret key in
var/. Production sets DATABASE_URL, GRIDMAP_SECRET_KEY, GRIDMAP_ID_HASH_KEY, GRIDMAP_DEBUG=0 and
GRIDMAP_ALLOWED_HOSTS.
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


# GRIDMAP_DEBUG (default on): Django's debug mode. Turn off in production.
DEBUG = _env_bool("GRIDMAP_DEBUG", True)

# GRIDMAP_SECRET_KEY (default: a random key kept in var/secret-key; required when DEBUG is off).
SECRET_KEY = os.environ.get("GRIDMAP_SECRET_KEY") or (_var_secret("secret-key") if DEBUG else "")

# GRIDMAP_ALLOWED_HOSTS (default "127.0.0.1,localhost"): comma-separated host names.
ALLOWED_HOSTS = os.environ.get("GRIDMAP_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

# DATABASE_URL (default: the private cluster). Must be PostGIS: postgis://user:pw@host:port/db.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or _private_cluster_url(),
        engine="django.contrib.gis.db.backends.postgis",
        conn_max_age=60,
    )
}
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",  # map pages embed their GeoJSON; it compresses ~5x
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gridmap.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
GRIDMAP_ID_HASH_KEY = os.environ.get("GRIDMAP_ID_HASH_KEY") or (
    _var_secret("id-hash-key") if DEBUG else ""
)

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

# --- The browsable API in the UI's language: view names and descriptions from gridmap.api's
# translated table instead of class names and docstrings.
REST_FRAMEWORK["VIEW_NAME_FUNCTION"] = "gridmap.api.view_name"
REST_FRAMEWORK["VIEW_DESCRIPTION_FUNCTION"] = "gridmap.api.view_description"

# gridmap — every set-up step lives here. `make demo` runs the app, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help deps venv db db-stop migrate demo dev serve test lint bench clean superuser backup restore

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps:  ## install missing Debian packages (PostgreSQL 15, PostGIS, pgRouting, fonts, Chromium)
	@./scripts/install_debian.sh

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: deps $(VENV)/.installed  ## create the virtualenv from the pins in pyproject.toml

db: deps  ## start the private PostGIS cluster (var/pg, 127.0.0.1:54329) if it is not running
	@./scripts/pg.sh start

db-stop:  ## stop the private cluster
	@./scripts/pg.sh stop

migrate: venv db
	$(PY) manage.py migrate --noinput
	$(PY) manage.py compilemessages -v0 --ignore='.venv/*'

demo: migrate  ## set up, load the demo county (东阳市) once and serve it on http://127.0.0.1:8000/ (gunicorn, debug off)
	$(PY) manage.py load_demo
	$(PY) manage.py build_network --if-missing
	$(PY) manage.py ensure_demo_admin
	$(PY) manage.py collectstatic --noinput -v0
	HOST=$(HOST) PORT=$(PORT) $(PY) -m gunicorn -c gridmap/gunicorn.conf.py gridmap.wsgi

dev: migrate  ## the autoreloading development server with debug on (not for the bureau: debug pages show SQL)
	$(PY) manage.py load_demo
	$(PY) manage.py build_network --if-missing
	$(PY) manage.py ensure_demo_admin
	GRIDMAP_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

superuser: migrate  ## create a login of your own
	$(PY) manage.py createsuperuser

test: venv db  ## set up, then run the whole test suite against the private PostGIS
	$(PY) manage.py compilemessages -v0 --ignore='.venv/*'
	$(PY) -m pytest --create-db

bench: migrate  ## every benchmark, one table at the end (also var/bench/bench-<time>.json); BENCH="load routing" for some
	$(PY) -m benchmarks.run $(BENCH)

backup: migrate  ## back up the database and its keys to var/backups/gridmap-<db>-<time>.tar (0600)
	$(PY) manage.py backup

restore: venv db  ## replace the database by a backup: make restore FILE=var/backups/gridmap-….tar
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/gridmap-….tar" >&2; exit 2; }
	$(PY) manage.py restore "$(FILE)" --yes

lint:  ## ruff + mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy gridmap layers importers atlas hotspots routing gaps hometeaching logins planning safetynet

clean: db-stop  ## remove the cluster, the virtualenv and generated files
	./scripts/pg.sh destroy
	rm -rf $(VENV) var staticfiles *.egg-info .pytest_cache

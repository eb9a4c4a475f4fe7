# okrplan: `make run` and `make test` do all set-up themselves on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := run
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test lint lock sysdeps bench bench-deps drill sql-lines clean

# The dependencies from the lock (exact versions and hashes; requirements-dev.txt is
# requirements.txt, what the image installs, plus the dev tools), then the project itself
# without any, built by the locked setuptools. `make lock` writes both files.
$(VENV)/.installed: requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# After a change to pyproject.toml's dependencies: the locks again, from it. The versions
# already locked are kept while they fit; `make lock UPGRADE=1` takes the newest that do.
LOCK := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade)
lock: $(VENV)/.installed
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK) --output-file requirements.txt pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK) --extra dev --constraint requirements.txt \
		--output-file requirements-dev.txt pyproject.toml

run: $(VENV)/.installed
	mkdir -p $${OKRPLAN_VAR_DIR:-var}
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py load_demo --url http://127.0.0.1:$(PORT)/
	@echo "Database: $${DATABASE_URL:-SQLite var/okrplan.sqlite3}; broker: $${REDIS_URL:-embedded (var/broker)}. Ctrl-C stops everything."
	DEBUG=$${DEBUG:-1} exec $(VENV)/bin/honcho start -f Procfile

# Debian's chromium for the browser tests, docker-compose to validate docker-compose.yml,
# npm (Debian's, only when there is none) for axe-core below, pgbouncer for tests/test_pooler.py.
sysdeps:
	@if ! command -v chromium >/dev/null || ! command -v docker-compose >/dev/null || ! command -v npm >/dev/null || ! test -x /usr/sbin/pgbouncer; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium docker-compose pgbouncer \
			$$(command -v npm >/dev/null || echo npm) >/dev/null; \
	fi

# axe-core, which the browser tests inject into every page (tests/browser/axe.py): the
# exact version of package-lock.json, again when the lock changes or node_modules is gone.
node_modules/.installed: package.json package-lock.json | sysdeps
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/bandit -c pyproject.toml -r hierarchy plans notifications okrplan -q
	env -u DATABASE_URL -u REDIS_URL DEBUG=1 $(PY) manage.py check
	env -u DATABASE_URL -u REDIS_URL DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

# The whole suite on SQLite; then, when DATABASE_URL is set (CI sets it), again on
# PostgreSQL and Redis for what the database changes: services, APIs, locking, workers
# (not the browser tests, the rendered pages or the whole-system smoke tests).
test: $(VENV)/.installed sysdeps node_modules/.installed lint
	env -u DATABASE_URL -u REDIS_URL $(VENV)/bin/pytest
	@if [ -n "$$DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$DATABASE_URL) and Redis ($${REDIS_URL:-embedded broker})"; \
		$(VENV)/bin/pytest -m "not browser and not once and not page"; \
	fi

# Debian's wrk: the load generator of the HTTP benchmark (bench/http_load.py).
bench-deps:
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

bench: $(VENV)/.installed bench-deps
	$(PY) bench/run.py

# Lines of hand-written SQL in the apps, migrations left out (bench/sql_lines.py says
# what counts); `make sql-lines ARGS=--lines` lists them.
sql-lines:
	$(PY) bench/sql_lines.py $(ARGS)

# Fault drills (bench/drill.py): PostgreSQL restarted under load, Redis down during saves,
# a worker killed mid-delivery, a poisoned message among 1,000, a webhook receiver down for a
# while, on servers of the drill's own (Debian's postgresql and
# redis-server packages; never the shared ones). Figures in bench/drill.json.
drill: $(VENV)/.installed
	$(PY) bench/drill.py

clean:
	rm -rf var staticfiles test-artifacts okrplan.egg-info node_modules

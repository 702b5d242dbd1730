# The two commands a new machine needs:
#   make run    install everything, migrate, seed demo data, serve http://localhost:8000
#   make test   install everything (with Chromium) and run the whole test suite
PYTHON ?= python3.11
VENV := .venv
UV := $(VENV)/bin/uv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
PORT ?= 8000

.PHONY: run test fuzz-api install install-test system-packages lint check worker beat bench bench-ingest bench-xapi-state bench-certificates bench-verify bench-regulator clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# uv installs exactly the versions in uv.lock; --inexact keeps uv itself in the venv.
# --compile-bytecode writes the .pyc files once, at install: where Python may not write them
# (PYTHONDONTWRITEBYTECODE, read-only images) every command would otherwise compile every
# module it imports, every time it starts.
UV_SYNC = $(UV) sync --frozen --inexact --compile-bytecode --quiet

install: $(UV)
	scripts/install-system-packages.sh
	$(UV_SYNC)

install-test: $(UV)
	scripts/install-system-packages.sh --test
	$(UV_SYNC)

# The address it serves is the site's public address (links, QR codes, credentials), unless
# SITE_BASE_URL is set in the environment.
RUN_ENV = SITE_BASE_URL=$${SITE_BASE_URL:-http://localhost:$(PORT)}

run: install
	$(RUN_ENV) $(PY) manage.py migrate --noinput -v0
	$(RUN_ENV) $(PY) manage.py seed_demo
	$(RUN_ENV) $(PY) manage.py runserver $(PORT)

test: install-test
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Schemathesis against both JSON APIs for longer than the suite does (FUZZ_EXAMPLES an
# operation, default 500; FUZZ_SEED to vary it); prints the cases, failures and statuses.
fuzz-api: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(VENV)/bin/pytest tests/lms/test_api_fuzz.py -q -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: install
	DJANGO_SETTINGS_MODULE=lms.settings.test $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=lms.settings.test $(PY) manage.py makemigrations --check --dry-run

worker: install
	$(VENV)/bin/celery -A lms worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A lms beat --loglevel=INFO

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles media var

# Benchmarks print their figures and the ratio to a baseline measured in the same run.
bench: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(PY) bench/frameworks_import.py

bench-ingest: install
	command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null || true
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(PY) bench/progress_ingest.py

bench-xapi-state: install
	command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null || true
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(PY) bench/xapi_state.py

bench-certificates: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} $(PY) bench/certificates_issue.py

bench-verify: install
	command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null || true
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} CACHE_URL=$${CACHE_URL:-redis://127.0.0.1:6379/1} $(PY) bench/certificates_verify.py

bench-regulator: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(PY) bench/regulator.py

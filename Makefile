# Parley: `make run` serves the embedded profile with demo users;
# `make test` runs the suite (on PostgreSQL and Redis when they answer locally).
# Both ask for the embedded profile: without PARLEY_PROFILE Parley starts in
# its production profile, which needs its services and secrets.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/parley
# Where `make run` serves (`make run PORT=8010`); its links follow.
PORT ?= 8000
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14

.PHONY: run test install lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

install: $(VENV)/.installed

run test: export PARLEY_PROFILE = embedded

# The web server and a Celery worker (with beat) run together on a broker
# that needs no server (docs/operations.md); tasks are queued, not run eagerly.
run: export CELERY_TASK_ALWAYS_EAGER = false
run: export PARLEY_SITE_URL ?= http://127.0.0.1:$(PORT)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_periodic_tasks
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runembedded 127.0.0.1:$(PORT)

test: install
	@if [ -z "$$DATABASE_URL" ] && $(BIN)/python -m tests.services_probe; then \
		export DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)"; \
	fi; \
	DEBUG=true DATABASE_POOL=false $(BIN)/python -m pytest $(PYTEST_ARGS)

# mypy loads the settings (django-stubs' plugin): the embedded profile with
# DEBUG on needs no production secret.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PARLEY_PROFILE=embedded DEBUG=true $(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .import_linter_cache

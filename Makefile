# Yunzao: `make run` serves the demo site; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
export FLASK_APP := wsgi

.PHONY: run test test-random lint bench install install-test translations extract-messages migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The compiled catalogues are committed; this refreshes them after editing a .po file.
translations: install
	$(BIN)/pybabel compile -d market/translations

# Service errors are extracted from their raise sites and translated where shown.
BABEL_KEYWORDS := -k _l -k lazy_gettext -k N_ -k FieldMessage -k ValidationError -k Conflict -k NotFound \
	-k PermissionDenied -k AuthenticationFailed -k Unavailable -k RateLimited

extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) -o market/translations/messages.pot .
	$(BIN)/pybabel update -i market/translations/messages.pot -d market/translations

migrate: install
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed

run: seed
	@echo "Serving Yunzao on http://$(HOST):$(PORT)  (SQLite in instance/, jobs in-process)"
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Property tests with fresh random draws and more examples (make test repeats its draws).
test-random: install-test
	HYPOTHESIS_PROFILE=random $(BIN)/python -m pytest tests/matching $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Needs PostgreSQL on 127.0.0.1:5432 for the capacity search benchmark.
bench: install-test
	$(BIN)/python -m matching bench all --parallel --write docs/benchmarks.md
	$(BIN)/python -m market.bench capacity --write docs/benchmarks.md
	$(BIN)/python -m market.bench quote --windows 50000 --queries 100 --write docs/benchmarks.md
	$(BIN)/python -m market.bench pages --seconds 10 --rounds 5 --write docs/benchmarks.md

clean:
	rm -rf instance test-artifacts .pytest_cache

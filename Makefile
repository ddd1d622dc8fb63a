# The commands the README gives: demo, test, lint, bench.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: install demo test test-only lint bench bench-data reliability reliability-short system-deps clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed

# SoftHSM2 (PKCS#11 tokens) and Chromium (portal tests) come from Debian's packages.
system-deps:
	@bash scripts/system-deps.sh

demo: install
	$(BIN)/cis demo

test: install system-deps test-only

test-only:
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff format --check src tests bench reliability
	$(BIN)/ruff check src tests bench reliability
	$(BIN)/mypy src
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=cis.config.settings.test $(BIN)/cis makemigrations --check --dry-run

# In-process figures (SQLite), then the same paths over HTTP: cis serve on a PostgreSQL database
# made for the run and dropped after (CIS_BENCH_HTTP_DATABASE_URL, default cis_bench), wrk and
# OpenSSL's OCSP responder on loopback (bench/README.md).
bench: install system-deps
	$(BIN)/python -m bench
	$(BIN)/python -m bench.served

# A national-shaped directory for the benchmarks, into the (empty) database DATABASE_URL names.
BENCH_SIZE ?= ci
bench-data: install
	$(BIN)/cis bench-data --size $(BENCH_SIZE)

# The fault, race, load and abuse suite (README "Reliability"), on PostgreSQL: one line per
# check. DATABASE_URL, if set, names the server (pytest-django makes its own test_ database).
RELIABILITY_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cis_reliability
RELIABILITY_ARGS ?=
reliability: install system-deps
	DATABASE_URL=$${DATABASE_URL:-$(RELIABILITY_DATABASE_URL)} $(BIN)/pytest reliability -q -p no:randomly $(RELIABILITY_ARGS)

# The short version CI runs (under 10 minutes).
reliability-short:
	$(MAKE) reliability RELIABILITY_ARGS="--scale=short $(RELIABILITY_ARGS)"

clean:
	rm -rf $(VENV) node_modules var

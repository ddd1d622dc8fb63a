# The commands the README gives: demo, test, lint, bench.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: install demo test test-only lint bench system-deps clean

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
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=cis.config.settings.test $(BIN)/cis makemigrations --check --dry-run

bench: install system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules var

# The two commands: `make run` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
PYTHON ?= $(shell scripts/find-python)
TOOLS := var/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

# Tests always run against PostgreSQL and Redis on this machine.
TEST_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/dashboard \
	REDIS_URL=redis://127.0.0.1:6379/0 DJANGO_ALLOW_ASYNC_UNSAFE=true DEBUG=false

.PHONY: help run test lint fmt bench install services test-deps clean

help:
	@echo "make run    - set up and start the dashboard (web, worker, callbacks, beat, sandbox)"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make lint   - ruff, mypy and the import contracts (lint-imports)"
	@echo "make fmt    - format the code"
	@echo "make bench  - run the benchmarks"

$(UV):
	@[ -n "$(PYTHON)" ] || exit 1
	"$(PYTHON)" -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python "$(PYTHON)"
	touch $@

install: $(VENV)/.synced

run: install
	scripts/run

services:
	scripts/services postgres redis

test-deps:
	scripts/test-deps

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install services test-deps lint
	$(TEST_ENV) $(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: install services
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk >/dev/null; } || { echo "make bench needs wrk: sudo apt-get install wrk"; exit 1; }
	$(TEST_ENV) $(BIN)/python -m benchmarks $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache

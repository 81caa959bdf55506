# Two commands matter on a fresh machine: `make run` and `make test`.
# Both create the project virtualenv (.venv) on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the package's tests, and each tool's, the benchmarks' and the deploy files' beside them (pyproject testpaths)
TESTS  := tests tools/tests bench/tests deploy/tests
# two workers (most of the suite waits on proxies, sinks and outages); a module's shared proxy stack is
# marked xdist_group and stays on one worker, so it starts once
PARALLEL := -n 2 --dist loadgroup

.PHONY: install run check test container-test lint typecheck unit integration library-versions bench clean

install: $(STAMP)

$(STAMP): pyproject.toml tools/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[proxy,test]' -e ./tools
	touch $(STAMP)

## the proxy on an embedded default: fake upstream + mock Sigil sink, no keys, no Docker
run: $(STAMP)
	$(BIN)/sigil-litellm-devstack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/actionlint .github/workflows/*.yml

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tools/tests bench/tests deploy/tests -m "not integration" -q

## the inner loop: lint, types and the unit tests (no proxy, sink or upstream process), in about a minute
check: $(STAMP) lint typecheck unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration tools/tests -m integration $(PARALLEL) -q

## the library's tests on the oldest and newest LiteLLM it supports (side venvs cached per machine)
library-versions: $(STAMP)
	$(BIN)/python -m tests.library_versions

## everything CI runs: lint, types, unit + integration (+ container tests when an engine is available)
test: $(STAMP) lint typecheck library-versions
	@$(BIN)/python -m tests.container.engine
	$(BIN)/python -m pytest $(TESTS) $(PARALLEL) -q -ra --durations=25

## the container suite alone: image, containers, compose (podman or docker; docs/containers.md)
container-test: $(STAMP)
	@$(BIN)/python -m tests.container.engine
	$(BIN)/python -m pytest tests/container -q -ra

## load benchmarks (proxy without callback / ours / the PyPI peer), writes docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[proxy,bench,test]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist

# fedloom developer entry points. `make install` is the only step that touches the network.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: install demo demo-inprocess local-up local-down test lint typecheck bench-quality clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'

demo: install
	$(BIN)/fedloom demo --dir .fedloom/demo

demo-inprocess: install
	$(PY) benchmarks/quality.py

local-up: install
	$(BIN)/fedloom local up --dir .fedloom/local
	@echo "sites: .fedloom/local/sites.json"

local-down:
	$(BIN)/fedloom local down --dir .fedloom/local

test:
	$(PY) -m pytest

lint:
	$(BIN)/ruff check src services tests benchmarks proto
	$(BIN)/ruff format --check src services tests benchmarks proto
	$(BIN)/mypy

typecheck:
	$(BIN)/mypy

bench-quality:
	$(PY) benchmarks/quality.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info benchmarks/data

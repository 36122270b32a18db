# fedloom developer entry points. `make install` is the only step that touches the network.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

COMPOSE ?= docker-compose

.PHONY: install demo demo-inprocess local-up local-down test lint typecheck bench-quality bench-crypto bench-psi bench-mulmod clean \
	compose-certs compose-config compose-demo compose-e2e k8s-validate

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
	$(BIN)/ruff check src services tests benchmarks proto deploy
	$(BIN)/ruff format --check src services tests benchmarks proto deploy
	$(BIN)/mypy
	$(BIN)/mypy --strict deploy/docker/healthcheck.py deploy/compose/*.py deploy/k8s/*.py
	PYTHONPATH=src:. $(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

bench-quality:
	$(PY) benchmarks/quality.py $(ARGS)

bench-crypto:
	$(PY) benchmarks/crypto.py $(ARGS)

bench-mulmod:
	mkdir -p build && $(CC) -O3 -march=native -o build/mulmod benchmarks/mulmod.c -lgmp && build/mulmod

bench-psi:
	$(PY) benchmarks/psi.py $(ARGS)

# -- deployment (README: Deployment) ------------------------------------------------------------
compose-certs: install  # private CA, party certificates, tokens, passwords (gitignored)
	$(PY) deploy/compose/gen_secrets.py

compose-config: compose-certs  # docker-compose.yml (and the local override) are valid
	$(COMPOSE) -f docker-compose.yml config -q
	$(COMPOSE) -f docker-compose.yml -f deploy/compose/local.override.yml config -q
	@echo "docker-compose config: ok"

compose-demo: install  # upload the demo tables and run examples/hetero_lr on the compose sites
	$(PY) deploy/compose/demo.py

compose-e2e: install  # build, up, health, demo (AUC > 0.95), down -v; no registry needed
	deploy/compose/e2e.sh

k8s-validate: install  # render every overlay and validate it offline
	deploy/k8s/validate.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info benchmarks/data

# The two commands a newcomer runs: `make demo` and `make test`. Both bootstrap .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
LLMOPS := $(VENV)/bin/llmops
STAMP := $(VENV)/.installed
EXTRAS ?= dev

.PHONY: install demo test lint test-unit test-integration protos protos-check bench down clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

## demo: the whole loop on the embedded stack (about ten minutes): data, prompt, fine-tuning on Ray,
## evaluation, governance, serving, traffic, feedback, alerts, the second round; the services stay up
demo: $(STAMP)
	$(LLMOPS) demo

## test: the linter first, then unit, integration (real NATS, PostgreSQL, S3, Ray started by the
## fixtures), end-to-end and fuzz tests
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest -q tests/integration tests/e2e tests/fuzz

## protos: regenerate libs/gen from protos/ (commit the result); protos-check fails when it is stale
protos: $(STAMP)
	$(LLMOPS) dev protos

protos-check: $(STAMP)
	$(LLMOPS) dev protos --check

## bench: every benchmark at its --quick size (installs the baselines: mlflow)
bench: $(STAMP)
	$(PIP) install --quiet -c constraints.txt -e ".[dev,bench]"
	$(PY) bench/bus.py --quick
	$(PY) bench/prompts.py --quick
	$(PY) bench/registry.py --quick
	$(PY) bench/ingestion.py --quick
	$(PY) bench/ingestion_quality.py --quick
	$(PY) bench/training.py --quick
	$(PY) bench/serving.py --quick
	$(PY) bench/evaluation.py --quick
	$(PY) bench/monitoring.py --quick

down: $(STAMP)
	$(LLMOPS) down

clean:
	rm -rf $(VENV) .llmops .pytest_cache

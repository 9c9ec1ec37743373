# Every command a developer, CI and the README use. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup repro test test-fast lint format params clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)  ## create .venv with the pinned dependencies (dev tools included) and the package

repro: setup  ## run the whole DVC pipeline (embedded synthetic data by default)
	@[ -d .git ] || git init -q
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dvc repro
	$(BIN)/dvc metrics show

test: setup lint  ## lint, then every test (pytest's "no tests" exit 5 counts as a failure)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

test-fast: setup  ## the tests without the slow end-to-end runs
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -m "not slow"

lint: setup  ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

params: setup  ## recompose params.yaml from conf/ (OVERRIDES="data=home_credit ...")
	$(BIN)/credit-scoring-compose $(OVERRIDES)

.PHONY: release audit docker-check

release: setup  ## record, dvc push, commit and git-tag the committed run (TAG=model-v1)
	@[ -n "$(TAG)" ] || { echo "usage: make release TAG=model-v1 [RELEASE_ARGS=...]"; exit 2; }
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m credit_scoring.governance.release $(TAG) $(RELEASE_ARGS)

audit: setup  ## rerun a release from its DVC data and compare with its record (REV=model-v1)
	@[ -n "$(REV)" ] || { echo "usage: make audit REV=model-v1 [AUDIT_ARGS=...]"; exit 2; }
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m credit_scoring.governance.audit $(REV) $(AUDIT_ARGS)

# What the images import once installed (run by docker-check from outside the source tree).
define DOCKER_CHECK_PY
import importlib.resources
import credit_scoring
import credit_scoring.api.main as api
import credit_scoring.ui.client
assert "site-packages" in credit_scoring.__file__, credit_scoring.__file__
assert api.app.title and api.create_app
assert any(importlib.resources.files("credit_scoring").joinpath("resources").iterdir())
print("docker-check: the API and UI import from", credit_scoring.__file__)
endef
export DOCKER_CHECK_PY

docker-check:  ## the Dockerfile's installs in a throwaway venv (no Docker engine); import the apps
	@set -euo pipefail; work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	mkdir "$$work/app"; cp -R requirements.lock pyproject.toml README.md src "$$work/app/"; \
	find "$$work/app" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +; \
	$(PYTHON) -m venv "$$work/venv"; cd "$$work/app"; \
	echo "docker-check: pip install -r requirements.lock"; \
	"$$work/venv/bin/pip" install -q -r requirements.lock; \
	echo "docker-check: pip install --no-deps ."; \
	"$$work/venv/bin/pip" install -q --no-deps .; \
	cd "$$work"; env -u PYTHONPATH CREDIT_API_MODEL_URI= "$$work/venv/bin/python" -c "$$DOCKER_CHECK_PY"; \
	"$$work/venv/bin/uvicorn" --version; "$$work/venv/bin/streamlit" version

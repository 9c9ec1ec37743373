# Every command a developer, CI and the README use. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup spark repro test screenshots test-fast lint format params clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# A lock change rebuilds the venv from scratch, so that it holds exactly the pins (and no
# package a lock dropped); a pyproject.toml change only reinstalls the package.
# --no-compile: byte-compiling every installed file took 1.5 of the install's 2.2 minutes;
# Python compiles the modules a run imports, once, on first use. That needs Python to keep what
# it compiles: an environment with PYTHONDONTWRITEBYTECODE set (Docker images, some CI machines)
# would have every process compile every module it imports again (the API's imports took 7.0 s
# instead of 1.7 s on this 2-core machine), so make does not pass it on.
unexport PYTHONDONTWRITEBYTECODE
LOCKED := $(VENV)/.locked
$(LOCKED): requirements.lock requirements-api.lock requirements-ui.lock requirements-dev.lock
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --no-compile -r requirements-dev.lock
	touch $(LOCKED)

$(STAMP): $(LOCKED) pyproject.toml
	$(BIN)/pip install -q --no-compile --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)  ## create .venv with every pin (requirements-dev.lock) and the package

# pyspark (extra `spark`): for the tests, batch scoring and `engine=spark`; the default
# pipeline never needs its 317 MB.
SPARK := $(VENV)/.spark
$(SPARK): $(LOCKED) requirements-spark.lock
	$(BIN)/pip install -q --no-compile -r requirements-spark.lock
	touch $(SPARK)

spark: setup $(SPARK)  ## add pyspark to .venv (Spark featurize engine, batch scoring; needs Java 17+)

repro: setup  ## run the whole DVC pipeline (embedded synthetic data by default)
	@[ -d .git ] || git init -q
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dvc repro
	$(BIN)/dvc metrics show

test: setup $(SPARK) lint  ## lint, then every test (pytest's "no tests" exit 5 counts as a failure)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

screenshots: setup  ## rerun the browser tests and replace the README's app screenshots
	CREDIT_UPDATE_SCREENSHOTS=1 PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest tests/ui -k screenshot

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

.PHONY: release audit evidence docker-check

release: setup  ## record, dvc push, commit and git-tag the committed run (TAG=model-v1)
	@[ -n "$(TAG)" ] || { echo "usage: make release TAG=model-v1 [RELEASE_ARGS=...]"; exit 2; }
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m credit_scoring.governance.release $(TAG) $(RELEASE_ARGS)

audit: setup  ## rerun a release from its DVC data and compare with its record (REV=model-v1)
	@[ -n "$(REV)" ] || { echo "usage: make audit REV=model-v1 [AUDIT_ARGS=...]"; exit 2; }
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m credit_scoring.governance.audit $(REV) $(AUDIT_ARGS)

evidence: setup  ## the evidence pack of a release: reports/evidence/REV.html (REV=model-v1)
	@[ -n "$(REV)" ] || { echo "usage: make evidence REV=model-v1 [EVIDENCE_ARGS=--audit]"; exit 2; }
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m credit_scoring.governance.evidence $(REV) $(EVIDENCE_ARGS)

# What each image runs, checked from outside the source tree in its own venv: the API app; the
# UI's modules, one run of its script (Streamlit's AppTest, no API reachable) and `streamlit
# version`. Neither venv may hold the other image's libraries.
define DOCKER_CHECK_API
import importlib.resources, importlib.util, sys
import credit_scoring
import credit_scoring.api.asgi as api
assert "site-packages" in credit_scoring.__file__, credit_scoring.__file__
assert api.app.title
assert not [m for m in sys.modules if m.split(".")[0] == "pyarrow"], "the API loaded pyarrow"
assert any(importlib.resources.files("credit_scoring").joinpath("resources").iterdir())
extra = [name for name in ("streamlit", "dvc", "evidently", "hydra") if importlib.util.find_spec(name)]
assert not extra, f"the API image installs {extra}"
print("docker-check: the API imports from", credit_scoring.__file__)
endef

define DOCKER_CHECK_UI
import importlib.resources, importlib.util
from streamlit.testing.v1 import AppTest
import credit_scoring
import credit_scoring.ui.charts, credit_scoring.ui.client
assert "site-packages" in credit_scoring.__file__, credit_scoring.__file__
extra = [name for name in ("mlflow", "sklearn", "xgboost", "shap", "fastapi") if importlib.util.find_spec(name)]
assert not extra, f"the UI image installs {extra}"
script = importlib.resources.files("credit_scoring").joinpath("ui", "app.py")
run = AppTest.from_file(str(script), default_timeout=60).run()
assert not run.exception, [e.message for e in run.exception]
assert any("unreachable" in e.value for e in run.error), [e.value for e in run.error]
print("docker-check: the UI runs from", credit_scoring.__file__)
endef
export DOCKER_CHECK_API DOCKER_CHECK_UI

docker-check:  ## both images' installs in throwaway venvs (no Docker engine); run their apps
	@set -euo pipefail; work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	mkdir "$$work/app"; \
	cp -R requirements-api.lock requirements-ui.lock pyproject.toml README.md src "$$work/app/"; \
	find "$$work/app" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +; \
	cd "$$work/app"; \
	echo "docker-check: api venv: pip install -r requirements-api.lock, pip check"; \
	$(PYTHON) -m venv "$$work/api"; \
	"$$work/api/bin/pip" install -q -r requirements-api.lock; "$$work/api/bin/pip" check; \
	"$$work/api/bin/pip" install -q --no-deps .; \
	echo "docker-check: ui venv: pip install -r requirements-ui.lock, pip check"; \
	$(PYTHON) -m venv "$$work/ui"; \
	"$$work/ui/bin/pip" install -q -r requirements-ui.lock; "$$work/ui/bin/pip" check; \
	"$$work/ui/bin/pip" install -q --no-deps .; \
	cd "$$work"; \
	env -u PYTHONPATH CREDIT_API_MODEL_URI= "$$work/api/bin/python" -c "$$DOCKER_CHECK_API"; \
	"$$work/api/bin/uvicorn" --version; \
	env -u PYTHONPATH CREDIT_UI_API_URL=http://127.0.0.1:9 "$$work/ui/bin/python" -c "$$DOCKER_CHECK_UI"; \
	"$$work/ui/bin/streamlit" version

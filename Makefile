# Every target installs what it needs from the committed lock: a fresh clone needs only
# Python 3.11 and Java 17.
PYTHON ?= python3.11
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced-from-lock
# MWAA's published constraints for its Airflow 3.2.1 image; `make lock` resolves against them.
MWAA_CONSTRAINTS ?= https://raw.githubusercontent.com/apache/airflow/constraints-3.2.1/constraints-3.12.txt

export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: venv lint format test demo airflow deploy lock lock-compat compat bench-parse clean ui-check

venv: $(STAMP)

# The Makefile too: its recipe writes the venv's .pth, and existing venvs must get a new one.
# The Spark class archive's recorder and settings too: the recipe records it with them.
$(STAMP): requirements/dev.lock scripts/check_prereqs.sh Makefile local/spark_class_archive.py \
    local/endpoint/spark/class_archive.py
	@scripts/check_prereqs.sh $(PYTHON)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@# --quiet: one line here instead of one per package (about 200); errors still show.
	@echo "syncing $(VENV) with requirements/dev.lock (a few minutes the first time)"
	@$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements/dev.lock
	@# The one place that puts the project's code on sys.path, for every venv tool (pytest,
	@# scripts, Airflow): plugins/ (as on MWAA), glue_scripts/ (as on Glue) and the repo root.
	@# sales_etl_plugins.pth is this file's former name: older venvs must not keep it.
	@site=$$($(BIN)/python -c 'import site; print(site.getsitepackages()[0])') && \
	  rm -f "$$site/sales_etl_plugins.pth" && \
	  printf '%s\n' $(CURDIR)/plugins $(CURDIR)/glue_scripts $(CURDIR) > "$$site/sales_etl_paths.pth"
	@# Local Spark drivers (the endpoint's, the tests') start from the classes one job run
	@# loaded, recorded once here (about 25 s): a Spark session then starts in about 1.6 s, not 2.6.
	@# Beside it, on the other core, the packages' bytecode is compiled once (about 30 CPU-s):
	@# where PYTHONDONTWRITEBYTECODE is set every Airflow process would otherwise compile
	@# Airflow's sources again (about 2.5 s each). A file that does not compile is named here
	@# and left to fail where it is imported, if it ever is.
	@site=$$($(BIN)/python -c 'import site; print(site.getsitepackages()[0])') || exit 1; \
	  { $(BIN)/python -m compileall -q -j 0 "$$site" || true; } & compiling=$$!; \
	  echo "$(BIN)/python -m local.spark_class_archive"; \
	  $(BIN)/python -m local.spark_class_archive; recorded=$$?; \
	  wait $$compiling; exit $$recorded
	@touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python scripts/run_tests.py

demo: venv
	$(BIN)/python -m local.demo

# Airflow (UI, scheduler, triggerer, dag-processor) on 127.0.0.1 against the local AWS endpoint.
AIRFLOW_ARGS ?=
airflow: venv
	$(BIN)/python -m local.airflow $(AIRFLOW_ARGS)

# Deploy this tree to an MWAA environment (see README, "Deploy to MWAA").
MWAA_ENV ?=
STACK ?= sales-etl
DEPLOY_ARGS ?=
deploy: venv
	@test -n "$(MWAA_ENV)" || { echo "usage: make deploy MWAA_ENV=<environment> [STACK=sales-etl] [DEPLOY_ARGS=--dry-run]" >&2; exit 2; }
	$(BIN)/python -m deploy $(MWAA_ENV) --stack $(STACK) $(DEPLOY_ARGS)

# Re-resolve the dev lock against MWAA's constraints (a URL, or a local copy via
# MWAA_CONSTRAINTS=path), minus the packages requirements/overrides.txt deliberately overrides.
OVERRIDDEN = $(shell sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' requirements/overrides.txt | paste -sd'|')
lock: venv
	@mkdir -p build
	@case "$(MWAA_CONSTRAINTS)" in http*) curl -fsSL "$(MWAA_CONSTRAINTS)" ;; *) cat "$(MWAA_CONSTRAINTS)" ;; esac \
	  | grep -vE '^($(OVERRIDDEN))==' > build/mwaa-constraints.txt
	$(BIN)/uv pip compile requirements/dev.in --constraint build/mwaa-constraints.txt \
	  --override requirements/overrides.txt \
	  --python-version 3.11 --generate-hashes --no-header \
	  --output-file requirements/dev.lock
	@sed -i 's|-c build/mwaa-constraints.txt|-c mwaa-constraints-3.2.1|' requirements/dev.lock

# The other MWAA versions (docs/mwaa-versions.md): one venv each in .venv-compat/<version>,
# built from requirements/compat/<version>.lock (reused while the lock is unchanged); the DAG
# checks and day runs against the local endpoint under each. COMPAT_ARGS="--version 3.0.6".
COMPAT_ARGS ?=
compat: venv
	$(BIN)/python scripts/compat.py $(COMPAT_ARGS)

# Re-resolve one version's compat lock against that MWAA image's constraints (a URL, or a
# local copy: make lock-compat VERSION=3.3.1 CONSTRAINTS=path).
VERSION ?=
CONSTRAINTS ?= https://raw.githubusercontent.com/apache/airflow/constraints-$(VERSION)/constraints-3.12.txt
lock-compat: venv
	@test -n "$(VERSION)" || { echo "usage: make lock-compat VERSION=<version> [CONSTRAINTS=path]" >&2; exit 2; }
	@mkdir -p build
	@case "$(CONSTRAINTS)" in http*) curl -fsSL "$(CONSTRAINTS)" ;; *) cat "$(CONSTRAINTS)" ;; esac \
	  > build/constraints-$(VERSION).txt
	$(BIN)/uv pip compile requirements/compat/$(VERSION).in --constraint build/constraints-$(VERSION).txt \
	  --python-version 3.11 --generate-hashes --no-header \
	  --output-file requirements/compat/$(VERSION).lock
	@sed -i 's|-c build/constraints-$(VERSION).txt|-c mwaa-constraints-$(VERSION)|' requirements/compat/$(VERSION).lock

# A headless browser (the system's Chromium, driven by Playwright) logs into a fresh local
# stack, triggers a day, finds its summary in the transform log; screenshots in
# .local-run/ui-check/screenshots/. UI_CHECK_ARGS="--browser /path/to/chrome".
UI_CHECK_ARGS ?=
ui-check: venv
	$(BIN)/python scripts/ui_check.py $(UI_CHECK_ARGS)

bench-parse: venv
	$(BIN)/python benchmarks/dag_parse_benchmark.py

clean:
	rm -rf $(VENV) .venv-compat .pytest_cache .ruff_cache build

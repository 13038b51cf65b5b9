# A newcomer's commands: `make demo`, `make test`, `make evaluate` (see README.md); `make lint`,
# `make clean-demo`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo_work
# Jobs run at once by the demo: its training jobs are single-threaded and deterministic, so
# more cores finish sooner with the same metrics (docs/demo.md).
CORES ?= all
APT_PACKAGES := ffmpeg
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: install system-deps demo evaluate test lint clean-demo

# Debian packages the workflow and its benchmarks call (ffmpeg); Slurm comes with its tests.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=300 update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=300 install -y -q $$missing; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: system-deps $(STAMP)

demo: install
	$(BIN)/snakemake --profile profiles/demo --cores $(CORES)
	$(BIN)/snakemake --profile profiles/demo --report $(DEMO_DIR)/report.html
	@$(BIN)/python -m rf_models.summary $(DEMO_DIR)/results
	@echo "  report: $(DEMO_DIR)/report.html"

# After `make demo`: its models on two more datasets and under perturbations (docs/evaluation.md).
EVALUATE := --profile profiles/demo --configfile config.yaml profiles/demo/demo-config.yaml \
	profiles/demo/evaluate-config.yaml
evaluate: install
	$(BIN)/snakemake $(EVALUATE) --cores $(CORES) evaluate
	$(BIN)/snakemake $(EVALUATE) --report $(DEMO_DIR)/report.html all evaluate
	@$(BIN)/python -m rf_models.evaluate.summary $(DEMO_DIR)/results
	@echo "  report: $(DEMO_DIR)/report.html"

# Lint first: seconds, and CI (.ci/run) runs exactly this target.
test: lint
	$(BIN)/pytest -q -ra

lint: install
	$(BIN)/ruff check rf_models tests workflow_scripts benchmarks
	$(BIN)/ruff format --check rf_models tests workflow_scripts benchmarks
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

clean-demo:
	rm -rf $(DEMO_DIR)

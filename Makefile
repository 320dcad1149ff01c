# Every target sets up what it needs: a virtual environment with the pinned tree from
# requirements.lock, installed once and reused until a lock file changes.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCKS := requirements.lock requirements-bootstrap.lock
LOCK_HASH := $(shell cat $(LOCKS) | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(LOCK_HASH)
# `make lock` resolves with pip-compile, which writes the sha256 of every file each configured
# index serves for a pin (PyPI's and a machine's local mirrors alike); both installs run with
# --require-hashes, so neither pip nor uv takes a file the locks do not name.
PIP_TOOLS := pip-tools==7.6.2
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# uv trusts the machine's certificate store, as pip does (a TLS-intercepting proxy's CA).
export UV_NATIVE_TLS := 1

.PHONY: help synth test scan cost lint bench image lock clean drill

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(STAMP): $(LOCKS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned Python dependencies into $(VENV) (once per lock file change)..."
	@$(VENV)/bin/pip install -qq --disable-pip-version-check --require-hashes --no-deps -r requirements-bootstrap.lock
	@$(VENV)/bin/uv pip install --quiet --python $(PY) --require-hashes -r requirements.lock
	@rm -f $(VENV)/.installed-* && touch $@

synth: $(STAMP) ## the main job: synthesize the three stacks on local defaults and scan them
	@$(PY) -m devtools.synth
	@$(PY) -m devtools.scan --quick --no-synth

scan: $(STAMP) ## Checkov on the synth and on Terraform plans made against moto; SARIF in cdktf.out/scan
	@$(PY) -m devtools.scan

cost: $(STAMP) ## idle monthly cost line by line and an agent-hour per option, current settings
	@$(PY) -m devtools.cost

test: $(STAMP) ## the whole test suite, after installing the Debian packages the image tests need
	@bash devtools/system_packages.sh
	@$(PY) -m pytest -n 2 --dist loadfile

lint: $(STAMP) ## ruff format check and lint, the control API's layers, actionlint, hadolint
	@$(VENV)/bin/ruff format --check . && $(VENV)/bin/ruff check .
	@PYTHONPATH=chalice_api $(VENV)/bin/lint-imports --no-cache --no-logo
	@$(PY) -m devtools.actionlint
	@$(VENV)/bin/hadolint image/Dockerfile

bench: $(STAMP) ## benchmarks (synth, control Lambda, entrypoint); numbers go into BENCHMARKS.md
	@$(PY) -m bench.synth_bench
	@$(PY) -m bench.api_bench --runs 21
	@$(PY) -m bench.entrypoint_overhead --runs 21

image: $(STAMP) ## build image/Dockerfile with buildah into localhost/cloudagent-agent:local; print size and time
	@$(PY) -m devtools.image

up: $(STAMP) ## the three stacks on an embedded AWS (moto) and the API on 127.0.0.1; idempotent
	@$(PY) -m devtools.local.up

down: $(STAMP) ## destroy what `make up` deployed and stop every process it started
	@$(PY) -m devtools.local.down

drill: $(STAMP) ## make up, the long reliability drills (figures into BENCHMARKS.md), make down, 20 up/down cycles
	@$(PY) -m devtools.local.up
	@$(PY) -m devtools.drill --write-benchmarks; status=$$?; $(PY) -m devtools.local.down; test $$status -eq 0
	@$(PY) -m devtools.drill.cycles --cycles 20

lock: ## re-resolve requirements*.in into the lock files with the sha256 of every file; UPGRADE=1 moves pins
	@rm -rf .build/lock-venv && $(PYTHON) -m venv .build/lock-venv
	@.build/lock-venv/bin/pip install --quiet $(PIP_TOOLS)
	@for name in requirements requirements-bootstrap; do \
	  CUSTOM_COMPILE_COMMAND="make lock" .build/lock-venv/bin/pip-compile --quiet $(if $(UPGRADE),--upgrade) \
	    --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	    --output-file $$name.lock $$name.in || exit 1; \
	done
	@echo "requirements.lock and requirements-bootstrap.lock updated"

clean: ## remove generated output (keeps the virtual environment)
	rm -rf cdktf.out .build .cache

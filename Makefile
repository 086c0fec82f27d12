# quakelab — two commands for a fresh machine:
#   make run    create .venv, install quakelab's core (pinned; no TensorFlow, Voila or JupyterLab) and run the
#               default Papermill pipeline
#   make test   create .venv, install quakelab with all its extras (ml, dash, dist) and the test tools (pinned)
#               and run the whole test suite
# Both are idempotent: a second call reuses the environment when pyproject.toml and the lock are unchanged.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
LOCK := requirements/lock.txt
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
export PIP_NO_WARN_SCRIPT_LOCATION := 1
# no MPLBACKEND here: `quakelab run` gives its kernels the inline backend so that reports keep their figures

.PHONY: run test setup setup-test browser redis-server lint bench docs clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core-installed: $(BIN)/python pyproject.toml $(LOCK)
	$(PIP) install -c $(LOCK) -e . 2>&1 | { grep -v "is ignored" || true; }
	$(BIN)/python -c "import quakelab" && touch $@

$(VENV)/.test-installed: $(VENV)/.core-installed
	$(PIP) install -c $(LOCK) -e '.[all,test]' 2>&1 | { grep -v "is ignored" || true; }
	$(BIN)/python -c "import pytest, xdist, nbval, sklearn, tensorflow, voila, ipywidgets, distributed" && touch $@

setup: $(VENV)/.core-installed
setup-test: $(VENV)/.test-installed

run: setup
	$(BIN)/quakelab run

# Browser tests drive Debian's Chromium (never a downloaded browser). Installed here when missing and
# we are root (CI) or have password-less sudo; otherwise the browser tests skip and say why (in CI they fail).
browser:
	@if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	else echo "note: Chromium is not installed and cannot be installed here; the browser tests will be skipped"; fi

# The bus tests start their own redis-server (Debian's package) on 127.0.0.1; installed like Chromium.
redis-server:
	@if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null); \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null); \
	else echo "note: redis-server is not installed and cannot be installed here; the bus tests will be skipped"; fi

# The suite runs on TEST_WORKERS processes (pytest-xdist; 2 = the CI machine's cores); each test file stays on
# one worker so that module fixtures are built once. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
test: setup-test browser redis-server
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

# API reference from the numpydoc docstrings (pdoc) into docs/api/ (git-ignored); any warning is an error
docs: setup-test
	rm -rf docs/api
	$(BIN)/python -W error -m pdoc --docformat numpy --output-directory docs/api quakelab

lint: setup-test
	$(BIN)/ruff check quakelab tests benchmarks
	$(BIN)/ruff format --check quakelab tests benchmarks

bench: setup-test
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_etas.py
	$(BIN)/python benchmarks/bench_waveforms.py
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_npp.py
	$(BIN)/python benchmarks/bench_dashboards.py

clean-venv:
	rm -rf $(VENV)

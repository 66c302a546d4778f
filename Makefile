# h2otui: `make run` sets up and opens the app; `make test` sets up and runs every test.
# Both are idempotent: the virtualenv is created once and re-used, and re-installed only
# when pyproject.toml changes. pip caches the llama-cpp-python wheel it compiles (~12 min on
# 2 cores the first time), so later installs take seconds.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch that lies on this machine's disk; installed before the project so
# that nothing pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
PIP    := CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install --quiet

.PHONY: run test install install-test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) "$(TORCH)"
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/h2otui

test: install-test
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check h2otui tests benchmarks
	$(BIN)/ruff format --check h2otui tests benchmarks

bench: install
	$(BIN)/python benchmarks/bench_ask.py

clean:
	rm -rf $(VENV) .pytest_cache

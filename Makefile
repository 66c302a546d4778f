# h2otui: `make run` sets up and opens the app; `make test` sets up and runs every test.
# Both are idempotent: the virtualenv is created once and re-used; pip reuses its cache
# (llama-cpp-python compiles from source once, ~12 min on 2 cores, then comes from cache).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# CPU build of torch that lies on this machine's disk; installed before the project so
# that nothing pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: run test install dev lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)"
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/h2otui

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check h2otui tests benchmarks
	$(BIN)/ruff format --check h2otui tests benchmarks

bench: install
	$(BIN)/python benchmarks/bench_ask.py

clean:
	rm -rf $(VENV) .pytest_cache

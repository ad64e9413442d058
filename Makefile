# `make install`, `make demo` and `make test` work on a fresh machine with only Python 3.11+ and
# make: each creates .venv and installs the project (with its dev extra) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Most tests wait on subprocesses and the emulator, so a worker more than the cores pays off.
TEST_WORKERS ?= 3

.PHONY: install venv demo test test-fast lint format lock bench bench-recovery clean

# uv installs in seconds what pip takes a minute and more for; pip remains the fallback.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]' \
		|| $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# .venv with the project installed: what `pulumi up` (Pulumi.yaml's virtualenv) and `opsctl` need.
install: $(STAMP)
	@echo "installed in $(VENV): run $(BIN)/opsctl, or 'source $(BIN)/activate' to put opsctl on PATH"

venv: install

# The functions' resolved dependencies with hashes, from functions/requirements.txt (PyPI only);
# the Lambda layer is built from the lock and cached by it. Universal: one lock for every runtime.
lock: $(STAMP)
	$(BIN)/uv pip compile functions/requirements.txt --universal --python-version 3.12 \
		--generate-hashes --no-header --quiet --output-file functions/requirements.lock.new
	{ sed -n '1,3p' functions/requirements.lock; cat functions/requirements.lock.new; } \
		> functions/requirements.lock.tmp
	mv functions/requirements.lock.tmp functions/requirements.lock
	rm functions/requirements.lock.new

# Both drills side by side, each on its own sandbox; their timelines and summaries one after the
# other. Exit 1 when either fails.
demo: $(STAMP)
	$(BIN)/opsctl sandbox demo

# The unit and emulator lanes spread over the cores; then the whole-sandbox tests on their own,
# two at a time (as `make demo` runs its two drills side by side): their bounds hold at that load,
# not under the emulator lanes' three workers. A file's tests stay on one worker, so its sandbox
# (a module fixture) starts once, and the two workers' shares come out about even.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -m 'not e2e' -n $(TEST_WORKERS)
	$(BIN)/pytest -m e2e -n 2 --dist loadfile

# The unit lane only: pure logic, Pulumi mocks, in-process handlers (seconds, no emulator).
test-fast: $(STAMP)
	$(BIN)/pytest -m unit -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/authorizer_bench.py
	$(BIN)/python benchmarks/status_bench.py

# Recovery time at AWS's own timings: both drills at time scale 1, side by side (~15 min). A
# benchmark, not a test: results in README ("Recovery time"), reports in benchmarks/results/.
bench-recovery: $(STAMP)
	$(BIN)/python benchmarks/recovery_bench.py

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .mypy_cache

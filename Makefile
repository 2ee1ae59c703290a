# cse-triage: `make run` starts the bot (terminal check when no TELEGRAM_BOT_TOKEN is set),
# `make test` installs everything and runs ruff, mypy and every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench soak clean postgres

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("cse-triage needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/cse-triage run $(ARGS)

postgres:
	@bash scripts/ensure-postgres.sh

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test: $(STAMP) postgres lint typecheck pytest

# The reliability tests at full size (200 practitioners, long fuzz runs, thousands of faults);
# figures in docs/reliability.md. Opt-in: takes several minutes.
soak: $(STAMP) postgres
	CSE_SOAK=1 $(BIN)/pytest -q -s -W ignore::DeprecationWarning tests/test_reliability.py \
		tests/test_reliability_fuzz.py tests/test_reliability_load.py tests/test_flood.py \
		tests/test_slow_clients.py $(PYTEST_ARGS)

# The benchmark (docs/benchmarks.md): `make bench`, or e.g. `make bench BENCH_ARGS="-n 500 --json out.json"`;
# with DATABASE_URL set to PostgreSQL it also runs there (in a throwaway schema).
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

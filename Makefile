# `make test` does all of its own set-up on a fresh machine: virtualenv, install, PostgreSQL, checks.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck pytest bench soak run clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src/snekomatic/gh

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python tools/with_postgres.py -- $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python tools/with_postgres.py --keep-fsync -- $(BIN)/python -m bench

# A few minutes, not part of `make test`: see bench/README.md. SOAK_ARGS="--deliveries 2000" for less.
# The soak starts its own throwaway PostgreSQL (fsync on) because it restarts it mid-run.
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

run: $(STAMP)
	$(BIN)/snekomatic dev

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

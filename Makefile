# `make test` does all of its own set-up on a fresh machine: virtualenv, install, PostgreSQL, checks.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run` installs only what running needs (no test or dev extras), behind a stamp of its own;
# the full install above covers it too.
RUN_STAMP := $(VENV)/.installed-run

.PHONY: test browser lint typecheck pytest bench soak fuzz run clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP) $(RUN_STAMP)

# For speed (issue 12: clone to simulator in 15 s): no pip inside the virtualenv when this Python's
# own pip can install into it (pip >= 22.3, --python), and no bytecode compiled ahead (Python
# compiles what it imports, on first use).
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	if $(PYTHON) -m pip --python $(BIN)/python --version >/dev/null 2>&1; then \
	  $(PYTHON) -m pip --python $(BIN)/python install --quiet --no-compile -e .; \
	else \
	  $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip; \
	  $(BIN)/python -m pip install --quiet --no-compile -e .; \
	fi
	touch $(RUN_STAMP)

test: $(STAMP) browser lint typecheck pytest

# The browser test (tests/test_simulator_browser.py) drives Debian's chromium with chromedriver. As root
# with apt-get, they are installed here when missing; otherwise nothing is done and the test skips,
# naming the command to run.
BROWSER_PACKAGES := chromium chromium-driver
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $(BROWSER_PACKAGES) for the browser test"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null 2>&1 \
		|| { apt-get update -qq >/dev/null && apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; } \
		|| echo "could not install $(BROWSER_PACKAGES): the browser test will be skipped"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools examples
	$(BIN)/ruff format --check src/snekomatic/gh

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest-xdist spreads the tests over PYTEST_WORKERS processes ("auto": one per CPU, two to four;
# see tests/conftest.py). Most tests wait on sockets and child processes, not the CPU.
# PYTEST_WORKERS=0 runs them all in this one process (for pdb, say).
PYTEST_WORKERS ?= auto
pytest: $(STAMP)
	$(BIN)/python tools/with_postgres.py -- $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python tools/with_postgres.py --keep-fsync -- $(BIN)/python -m bench $(BENCH_ARGS)

# A few minutes, not part of `make test`: see bench/README.md. SOAK_ARGS="--deliveries 2000" for less.
# The soak starts its own throwaway PostgreSQL (fsync on) because it restarts it mid-run.
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

# Longer fuzzing (a bounded run of tests/fuzz is part of `make test`): the same properties with
# SNEKOMATIC_FUZZ_EXAMPLES examples each, then, if atheris is installed, FUZZ_SECONDS of
# coverage-guided libFuzzer per target (tests/fuzz/atheris_main.py). Failures land in .hypothesis/.
FUZZ_SECONDS ?= 30
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[fuzz]' || echo "fuzz: atheris did not install; the hypothesis run goes on without it"
	SNEKOMATIC_FUZZ=long $(BIN)/python -m pytest tests/fuzz -q --timeout=0 --hypothesis-show-statistics $(PYTEST_ARGS)
	$(BIN)/python -m tests.fuzz.atheris_main --seconds $(FUZZ_SECONDS)

# The bot on PORT (default 8000), the GitHub simulator on PORT + 1: `make run PORT=8080` when
# 8000 or 8001 is taken.
run: $(RUN_STAMP)
	$(BIN)/snekomatic dev --port $(or $(PORT),8000)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

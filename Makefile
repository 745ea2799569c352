# camvault: `make run` to start, `make test` to test. Everything installs itself into .venv.
#
# Installs come from hash-pinned lock files (requirements/*.txt, written by `make lock` from pyproject.toml):
# `make run` installs what serving needs, `make test`/`lint` add the test tools, the image installs app.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCKS := requirements/app.txt requirements/run.txt requirements/dev.txt
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# `uv pip compile` writes the locks: one resolution for every platform (--universal) from Python 3.11 up,
# every wheel and sdist of each pinned version hashed. The image's Python is 3.11 (docker/Dockerfile).
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock'

.PHONY: run test lint format migrate install install-run lock doctor clean fuzz bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Dependencies exactly as locked (pip checks every hash), then camvault itself, editable, without resolving again.
$(RUN_STAMP): requirements/run.txt $(VENV)/bin/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/run.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): requirements/dev.txt $(VENV)/bin/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(RUN_STAMP)

install: $(DEV_STAMP)

install-run: $(RUN_STAMP)

run: $(RUN_STAMP)  ## migrate, create the first admin from the environment, serve UI + API on :8000 (PORT=8765 make run)
	$(BIN)/camvault serve

doctor: $(RUN_STAMP)  ## check an installation (database, migrations, roles, Git, catalog = Git, names, locks, disk, settings)
	$(BIN)/camvault doctor

# Test processes (pytest-xdist): two by default, each file whole in one process (its module-scoped browser
# starts once), each process with its own embedded PostgreSQL: 12.0 min for the whole suite on a quiet 2-core
# machine. Files in the order tests/conftest.py gives (modules marked heavy first), not xdist's own.
# PYTEST_WORKERS=0 runs one process (a machine already busy with other work: docs/design.md).
PYTEST_WORKERS ?= 2

test: $(DEV_STAMP)  ## the whole suite against a real PostgreSQL (embedded unless DATABASE_URL is set); PYTEST_ARGS=... for part of it
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

lock: $(DEV_STAMP)  ## rewrite requirements/*.txt from pyproject.toml (newest versions its bounds allow)
	$(UV_COMPILE) -o requirements/app.txt
	$(UV_COMPILE) --extra embedded -o requirements/run.txt
	$(UV_COMPILE) --extra dev -o requirements/dev.txt

fuzz: $(DEV_STAMP)  ## a longer, randomly seeded schemathesis pass than the one `make test` runs
	CAMVAULT_FUZZ_EXAMPLES=$${CAMVAULT_FUZZ_EXAMPLES:-300} $(BIN)/pytest -q tests/test_fuzz_openapi.py -s

bench: $(DEV_STAMP)  ## camvault against bare floors (asyncpg, disk, nginx); BENCH_QUICK=1 for a smoke run; see bench/README.md
	$(BIN)/python -m bench

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(RUN_STAMP)  ## alembic upgrade head against DATABASE_URL or the embedded server
	$(BIN)/camvault migrate

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .bench-tmp

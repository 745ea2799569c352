# camvault: `make run` to start, `make test` to test. Everything installs itself into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format migrate install clean fuzz bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## migrate, create the first admin from the environment, serve UI + API on :8000
	$(BIN)/camvault serve

test: $(STAMP)  ## the whole suite against a real PostgreSQL (embedded unless DATABASE_URL is set)
	$(BIN)/pytest

fuzz: $(STAMP)  ## a longer, randomly seeded schemathesis pass than the one `make test` runs
	CAMVAULT_FUZZ_EXAMPLES=$${CAMVAULT_FUZZ_EXAMPLES:-300} $(BIN)/pytest -q tests/test_fuzz_openapi.py -s

bench: $(STAMP)  ## camvault against bare floors (asyncpg, disk, nginx); BENCH_QUICK=1 for a smoke run; see bench/README.md
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)  ## alembic upgrade head against DATABASE_URL or the embedded server
	$(BIN)/camvault migrate

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .bench-tmp

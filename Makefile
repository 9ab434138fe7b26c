# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-external lint format migrate superuser demo bench-ingest bench-query bench-freshness clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m config.stack

test: $(STAMP)
	$(BIN)/python -m pytest

# The same suite against servers you run (default: the PostgreSQL 15 and Redis 7 of a dev box).
EXTERNAL_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/eventbase
EXTERNAL_REDIS_URL ?= redis://127.0.0.1:6379/15
test-external: $(STAMP)
	DATABASE_URL=$(EXTERNAL_DATABASE_URL) REDIS_URL=$(EXTERNAL_REDIS_URL) $(BIN)/python -m pytest

# mypy's Django plugin loads the settings, which refuse to load without SECRET_KEY unless DEBUG.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DEBUG=true $(BIN)/mypy core projects events persons ingestion analytics reporting dashboard monitoring config

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/python manage.py migrate

superuser: $(STAMP)
	$(BIN)/python manage.py createsuperuser

# Not a test: loads BENCH_EVENTS (default 10M) events, builds rollups, prints p50/p95 per endpoint
# against naive SQL on the raw table. Quick run: BENCH_EVENTS=500000 BENCH_USERS=10000 make bench-query
bench-query: $(STAMP)
	$(BIN)/python bench/query_bench.py

# With `make run` going in another terminal: 100,000 realistic events in the demo project.
demo: $(STAMP)
	$(BIN)/python manage.py generate_demo_data --project demo

clean:
	rm -rf $(VENV) var/test

# How long an accepted event takes to appear in the reports (rollups and query layer) under steady load.
bench-freshness: $(STAMP)
	$(BIN)/python bench/freshness_bench.py

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest_bench.py

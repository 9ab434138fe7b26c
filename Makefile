# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint format migrate superuser bench bench-ingest bench-query clean

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

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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

clean:
	rm -rf $(VENV) var/test

"""Fixtures shared by every app's tests."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from core.redis import get_redis
from projects.selectors import key_cache

# Property-based tests (capture bodies, the reporting API's schema) are sized so that `make test`
# stays quick; HYPOTHESIS_PROFILE=fuzz runs twenty times as many examples. No example database:
# nothing is written into the tree, and a failure prints the blob that reproduces it
# (@reproduce_failure). The fixtures a test shares between its examples (a project, its keys,
# the client) are shared on purpose, hence the function-scoped-fixture check is off.
settings.register_profile(
    "eventbase",
    max_examples=60,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("fuzz", parent=settings.get_profile("eventbase"), max_examples=1200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "eventbase"))


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty Redis: streams, dedupe keys and counters do not leak."""
    r = get_redis()
    r.flushdb()
    key_cache.clear()
    yield
    r.flushdb()


@pytest.fixture
def redis_client():
    return get_redis()


@pytest.fixture(scope="session", autouse=True)
def _close_duckdb(django_db_setup):
    """DuckDB's attached PostgreSQL sessions must be gone before the test database is dropped."""
    yield
    from events.duck import duckdb_reset

    duckdb_reset()


@pytest.fixture
def test_database_url(db) -> str:
    """A DATABASE_URL for subprocesses that must see the test database."""
    from urllib.parse import quote

    from django.db import connection

    s = connection.settings_dict
    host = s["HOST"] or s["OPTIONS"].get("host", "")
    auth = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    if host.startswith("/"):
        return f"postgresql://{auth}@/{s['NAME']}?host={host}"
    return f"postgresql://{auth}@{host}:{s['PORT'] or 5432}/{s['NAME']}"

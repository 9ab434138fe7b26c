"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest

from config.redis import get_redis
from projects.selectors import key_cache


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
    from analytics.duck import duckdb_reset

    duckdb_reset()

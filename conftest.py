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

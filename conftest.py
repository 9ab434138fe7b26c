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

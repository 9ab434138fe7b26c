"""Typed reads of environment variables, failing with one clear message when a value is bad."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

# Read by settings (INGEST_STREAM_SHARDS) and by `make run`, which starts a flush worker per shard
# unless RQ_WORKERS says otherwise. Four: on two cores, two shards' flushers fell behind an API
# accepting 40k+ events/s and the lag grew past 5 s; four kept its p99 at 1-2.4 s (BENCHMARKS.md).
DEFAULT_STREAM_SHARDS = 4

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]

"""Typed reads of environment variables, failing with one clear message when a value is bad."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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


def local_secret_key(folder: Path) -> str:
    """The SECRET_KEY of a `make run` install that sets none: random, made once, kept in ``folder``.

    Sessions and signed links must survive restarts, so the key is kept with the data rather than
    made anew each start; it is never in the repository. Deployments that run the web server by
    other means set SECRET_KEY themselves (settings refuse to start without it).
    """
    path = folder / "secret_key"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(50) + "\n")
    return path.read_text().strip()

"""Fail fast, in one line, when a data store cannot be reached or configuration is wrong."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, InterfaceError, OperationalError, connection

from core.redis import get_redis


class StoreUnreachable(Exception):
    pass


def redact(url: str) -> str:
    """The URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0]


def check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        raise StoreUnreachable(
            f"cannot reach PostgreSQL at {redact(settings.DATABASE_URL)}: {_first_line(exc)}. "
            "Check DATABASE_URL (unset it to use the embedded server that `make run` starts)."
        ) from None


def check_redis() -> None:
    try:
        get_redis().ping()
    except (redis.RedisError, OSError) as exc:
        raise StoreUnreachable(
            f"cannot reach Redis at {redact(settings.REDIS_URL)}: {_first_line(exc)}. "
            "Check REDIS_URL (unset it to use the embedded Valkey that `make run` starts)."
        ) from None


def check_stores() -> None:
    check_database()
    check_redis()


@contextlib.contextmanager
def exit_on_unreachable_store() -> Iterator[None]:
    """Turn connection failures and bad settings into one line on stderr and exit status 2."""
    try:
        yield
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        sys.exit(2)
    except StoreUnreachable as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    except (OperationalError, InterfaceError) as exc:
        sys.stderr.write(f"error: PostgreSQL is unreachable: {_first_line(exc)}. Check DATABASE_URL.\n")
        sys.exit(2)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        sys.stderr.write(f"error: Redis is unreachable: {_first_line(exc)}. Check REDIS_URL.\n")
        sys.exit(2)

"""HTTP details that every layer reads the same way."""

from __future__ import annotations

import duckdb
from django.db import InterfaceError, OperationalError


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value; None for any other scheme.

    The scheme is the text before the first space, matched without regard to case (RFC 9110
    §11.1); the token is stripped. ``Bearer`` with nothing after it gives ``""``: a Bearer header
    without a key, which the read API refuses as a bad key and capture treats as no key at all
    (a server strips the trailing space of ``Bearer ``, so both spellings must mean the same).
    """
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


# A store that does not answer is the server's trouble, and passing: 503 with a retry hint, as
# capture answers, not a 500 that reads as a bug. DuckDB reaches PostgreSQL through its postgres
# extension, whose connection failures are IO errors naming it.
STORE_RETRY_AFTER_SECONDS = 5


def store_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says a store (PostgreSQL, directly or through DuckDB) cannot be reached."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, duckdb.IOException) and "postgres" in str(exc).lower()

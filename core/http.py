"""HTTP details that every layer reads the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest


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


def client_ip(meta: Mapping[str, Any], *, trust_forwarded: bool) -> str:
    """The client's address; X-Forwarded-For only when a trusted proxy sets it (TRUST_X_FORWARDED_FOR)."""
    if trust_forwarded:
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return meta.get("REMOTE_ADDR", "")


def request_client_ip(request: HttpRequest) -> str:
    """``client_ip`` of a request under this deployment's proxy setting (capture and sign-in alike)."""
    return client_ip(request.META, trust_forwarded=bool(settings.EVENTBASE["TRUST_X_FORWARDED_FOR"]))


# A store that does not answer is the server's trouble, and passing: 503 with a retry hint, as
# capture answers, not a 500 that reads as a bug. DuckDB reaches PostgreSQL through its postgres
# extension, whose connection failures are IO errors naming it.
STORE_RETRY_AFTER_SECONDS = 5


def store_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says a store (PostgreSQL, directly or through DuckDB) cannot be reached."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, duckdb.IOException) and "postgres" in str(exc).lower()

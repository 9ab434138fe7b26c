"""Posting a signed JSON body to a webhook: the one way eventbase calls out to a receiver (event
destinations and insight alerts alike).

The body is signed with the target's secret (``X-Eventbase-Signature: sha256=<hex HMAC-SHA256>``)
and carries a delivery id (``X-Eventbase-Delivery``) that stays the same on every attempt, so a
receiver can drop what it already took: delivery is at least once. Redirects are not followed: a
redirected POST would become a GET somewhere else, and a webhook must answer where it is configured.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "X-Eventbase-Signature"
DELIVERY_HEADER = "X-Eventbase-Delivery"
_ERROR_BODY_CHARS = 200


def signature(secret: str, body: bytes) -> str:
    """The value of ``X-Eventbase-Signature`` for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PostFailure:
    """Why a post did not land: ``status`` of a non-2xx answer (``detail`` the start of its body),
    or None when no answer came (``detail`` says why: refused, timed out, ...)."""

    status: int | None
    detail: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post_signed(
    url: str,
    body: bytes,
    *,
    secret: str,
    delivery_id: str,
    user_agent: str,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> PostFailure | None:
    """POST ``body`` (JSON) signed with ``secret``; None on a 2xx answer, else what went wrong."""
    sent = {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        SIGNATURE_HEADER: signature(secret, body),
        DELIVERY_HEADER: delivery_id,
        **(headers or {}),
    }
    request = urllib.request.Request(url, data=body, headers=sent, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(1024)
            return None
    except urllib.error.HTTPError as exc:
        excerpt = exc.read(_ERROR_BODY_CHARS).decode("utf-8", "replace") if exc.fp is not None else ""
        return PostFailure(exc.code, excerpt.strip())
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ConnectionRefusedError):
            return PostFailure(None, "connection refused")
        if isinstance(reason, TimeoutError):
            return PostFailure(None, f"timed out after {timeout:g} s")
        return PostFailure(None, f"connection failed: {reason}")
    except TimeoutError:
        return PostFailure(None, f"timed out after {timeout:g} s")
    except (OSError, ValueError) as exc:  # reset mid-answer, a malformed status line, ...
        return PostFailure(None, f"{type(exc).__name__}: {exc}"[:300])

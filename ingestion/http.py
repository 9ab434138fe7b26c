"""The HTTP edge shared by every capture endpoint: keys, CORS, rate limits, quota, body limits.

Each check raises ``RequestError`` with the status and message to answer; the views stay thin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.http import bearer_token, client_ip
from ingestion import ledger
from ingestion.limits import limits_check
from ingestion.services import Client
from ingestion.validation import MAX_BODY_BYTES, RequestError, decode_body
from projects.models import ApiKeyScope, Project
from projects.selectors import KeyLookup, api_key_lookup

CORS_ALLOW_HEADERS = "authorization, content-type, content-encoding, x-api-key"


@dataclass(frozen=True)
class IngestContext:
    key: KeyLookup
    client: Client
    received_at: dt.datetime

    @property
    def project(self) -> Project:
        return self.key.project


def bearer_or_header_key(request: HttpRequest) -> str:
    """The key from ``Authorization: Bearer``, ``X-API-Key`` or, last, ``?key=``.

    ``?key=`` exists for browsers: ``sendBeacon`` cannot set headers, and a text/plain POST with
    no custom header needs no CORS preflight. It grants nothing more than a header would: only an
    ingest key (public by design, it ships in every web page) passes ``resolve_ingest_key``.
    """
    return (
        bearer_token(request.headers.get("Authorization", ""))
        or request.headers.get("X-API-Key", "").strip()
        or request.GET.get("key", "").strip()
    )


def resolve_ingest_key(raw_key: str) -> KeyLookup:
    if not raw_key:
        raise RequestError(401, "missing API key: send 'Authorization: Bearer <ingest key>'.", "missing_key")
    found = api_key_lookup(raw_key=raw_key)
    if found is None:
        raise RequestError(401, "unknown API key.", "bad_key")
    if found.revoked:
        raise RequestError(403, "this API key was revoked.", "revoked_key")
    if found.scope != ApiKeyScope.INGEST:
        raise RequestError(403, "this is a read key; send events with the project's ingest key.", "wrong_scope")
    return found


def origin_allowed(project: Project, origin: str) -> bool:
    allowed = project.allowed_origins
    return "*" in allowed or origin.rstrip("/") in allowed


def check_origin(request: HttpRequest, project: Project) -> None:
    origin = request.headers.get("Origin")
    if origin and not origin_allowed(project, origin):
        raise RequestError(403, f"origin {origin} is not in this project's CORS allow-list.", "origin_not_allowed")


def add_cors_headers(response: HttpResponse, request: HttpRequest, project: Project | None) -> HttpResponse:
    origin = request.headers.get("Origin")
    if origin and (project is None or origin_allowed(project, origin)):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        response["Vary"] = "Origin"
        response["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def preflight(request: HttpRequest) -> HttpResponse:
    """Answer a CORS preflight.

    A preflight carries no credentials, so the project is unknown here and any origin is allowed
    to *ask*; the actual POST is checked against the project's allow-list and refused (403, no
    CORS headers) when its origin is not allowed. A preflight that names its key in ``?key=``
    is checked right away.
    """
    project = None
    if request.GET.get("key"):
        found = api_key_lookup(raw_key=request.GET["key"])
        project = found.project if found else None
    response = HttpResponse(status=204)
    add_cors_headers(response, request, project)
    if "Access-Control-Allow-Origin" in response:
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
        response["Access-Control-Max-Age"] = "86400"
    return response


def check_limits(request: HttpRequest, ctx: IngestContext) -> None:
    """Per-project and per-IP request rates, then the monthly quota; refusals are counted."""
    refusal = limits_check(project=ctx.project, ip=ctx.client.ip, now=ctx.received_at)
    if refusal is not None:
        ledger.count_request_rejection(project_id=ctx.project.pk, received_at=ctx.received_at, reason=refusal.reason)
        raise RateLimited(refusal.message, retry_after=refusal.retry_after, reason=refusal.reason)


class RateLimited(RequestError):
    def __init__(self, message: str, *, retry_after: int, reason: str = "rate_limited") -> None:
        super().__init__(429, message, reason)
        self.retry_after = retry_after


def read_body(request: HttpRequest) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestError(413, f"body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.", "too_large")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(413, f"body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.", "too_large")
    return decode_body(body, request.headers.get("Content-Encoding", ""))


def client_of(request: HttpRequest) -> Client:
    return Client(
        ip=client_ip(request.META, trust_forwarded=bool(settings.EVENTBASE["TRUST_X_FORWARDED_FOR"])),
        user_agent=request.headers.get("User-Agent", ""),
    )

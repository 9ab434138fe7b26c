"""The capture pipeline: the one sequence every capture protocol goes through.

The native API, PostHog and Segment differ in where the key travels, in their envelope and in the
shape of their answers; everything else is one rule for all of them, and lives here so that a rule
added once holds for every protocol (the native endpoint used to be the only one to mark its key
as used, because the sequence was written twice):

1. authenticate and read the body within its limits: a key in the headers is checked before the
   body is read, a key in the envelope after (``CaptureAdapter.key_from_headers``);
2. mark the key as used; check the request's origin against the project's CORS allow-list;
3. count the request against the rate limits and read the quota (one Redis round trip);
4. hand the body to the adapter's validation; a request refused as a whole is counted in the ledger;
5. append the valid events to the buffer (``ingest_batch``);
6. answer in the protocol's shape: errors by the adapter's renderer (``ingestion.renderers``),
   success by the adapter; ``Retry-After`` on a rate limit and on 503 (Redis or the buffer
   unavailable: nothing of the request was taken), and CORS headers on every answer.

An adapter (``CaptureAdapter``) supplies only the wire format: where the raw key is, how to parse
and validate its body, how to answer success, and its protocol's renderer for everything else.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Generic, TypeVar

import redis
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from ingestion import http, ledger
from ingestion.buffer import BufferUnavailable
from ingestion.renderers import Renderer
from ingestion.services import IngestResult, ingest_batch
from ingestion.validation import Batch, RequestError
from projects.models import Project
from projects.services import api_key_mark_used

logger = logging.getLogger(__name__)

E = TypeVar("E")  # what the adapter's parse makes of a body: raw bytes (native), an Envelope (SDKs)

# Redis down (buffer, rate-limit counters, quota or ledger), the body could not be read, or
# PostgreSQL down while a key is looked up (not cached yet): a 503 the SDKs retry, never a 500.
UNAVAILABLE = (BufferUnavailable, redis.RedisError, OSError, OperationalError, InterfaceError)
RETRY_UNAVAILABLE_SECONDS = "5"


@dataclass(slots=True)
class Accepted(Generic[E]):
    """A request whose events reached the buffer (or were all invalid): what an adapter answers from."""

    envelope: E
    batch: Batch
    result: IngestResult

    @property
    def only_errors(self) -> bool:
        """Every event was invalid: answered 400 by the renderer, unless the adapter answers each event."""
        result = self.result
        return bool(result.errors) and not result.accepted and not result.duplicates


class CaptureAdapter(Generic[E]):
    """One capture protocol's wire format; subclasses override what their protocol needs.

    Adapters and renderers make bodies and statuses only: the pipeline adds ``Retry-After`` and
    CORS headers.
    """

    #: The protocol's error answers: refusals, an unavailable buffer, a wrong method, all invalid.
    renderer: Renderer
    #: The success answer carries a result per event (an invalid one a "drop"), so a request whose
    #: every event was invalid is answered by ``accepted`` too, not as an error.
    answers_each_event = False

    def key_from_headers(self, request: HttpRequest) -> str | None:
        """The raw key when the protocol carries it outside the body, or None when it is in the body.

        A key outside the body is checked before the body is read, so a request with a bad key is
        refused without reading (or decompressing) what may be megabytes.
        """
        return None

    def key_from_envelope(self, envelope: E) -> str:
        """The raw key of a protocol that carries it in the body (``key_from_headers`` is None)."""
        raise NotImplementedError

    def parse(self, request: HttpRequest, body: bytes) -> E:
        """Unpack the (decompressed) body; raise ``RequestError`` when it is unusable as a whole."""
        raise NotImplementedError

    def validate(
        self, envelope: E, *, project: Project, received_at: dt.datetime, allowed_sources: frozenset[str] | None
    ) -> Batch:
        """Turn the envelope into a batch of valid events and per-event errors."""
        raise NotImplementedError

    def accepted(self, accepted: Accepted[E]) -> HttpResponse:
        """The success answer (events taken, or duplicates of events taken before)."""
        raise NotImplementedError


def capture(request: HttpRequest, adapter: CaptureAdapter[E]) -> HttpResponse:
    """Run one capture request through the pipeline and answer it in the adapter's shape."""
    renderer = adapter.renderer
    if request.method == "OPTIONS":
        return http.preflight(request)
    if request.method != "POST":
        return renderer.wrong_method()
    received_at = dt.datetime.now(dt.UTC)
    project = None
    try:
        envelope: E | None = None
        raw_key = adapter.key_from_headers(request)
        if raw_key is None:
            envelope = adapter.parse(request, http.read_body(request))
            raw_key = adapter.key_from_envelope(envelope)
        key = http.resolve_ingest_key(raw_key)
        api_key_mark_used(key_id=key.key_id)  # one Redis write per key and minute, not per request
        project = key.project
        http.check_origin(request, project)
        ctx = http.IngestContext(key=key, client=http.client_of(request), received_at=received_at)
        http.check_limits(request, ctx)
        try:
            if envelope is None:
                envelope = adapter.parse(request, http.read_body(request))
            sources = key.sources if project.restrict_sources else None
            batch = adapter.validate(envelope, project=project, received_at=received_at, allowed_sources=sources)
        except RequestError as exc:
            # Counted only once the project is known: a body refused before its key was found
            # (PostHog, Segment) has no project to count it for.
            ledger.count_request_rejection(project_id=project.pk, received_at=received_at, reason=exc.reason)
            raise
        result = ingest_batch(project=project, batch=batch, client=ctx.client, received_at=received_at)
    except RequestError as exc:
        response = renderer.refused(exc)
        if isinstance(exc, http.RateLimited):
            response["Retry-After"] = str(exc.retry_after)
    except UNAVAILABLE as exc:
        logger.error("event buffer unavailable", extra={"error": str(exc)})
        response = renderer.unavailable()
        response["Retry-After"] = RETRY_UNAVAILABLE_SECONDS
    else:
        accepted = Accepted(envelope, batch, result)
        if accepted.only_errors and not adapter.answers_each_event:
            response = renderer.invalid_events(result)
        else:
            response = adapter.accepted(accepted)
    return http.add_cors_headers(response, request, project)

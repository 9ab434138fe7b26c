"""POST /api/v1/events — the native capture endpoint (a contract: path and answer shapes are fixed).

Plain Django rather than DRF: this is the hottest path in the product and needs none of DRF's
content negotiation. The sequence is ``ingestion.pipeline``'s, the error answers
``renderers.NATIVE``'s; this adapter only says where the key is and how success looks.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ingestion import http, pipeline, renderers
from ingestion.middleware import capture_endpoint
from ingestion.validation import Batch, native_batch
from projects.models import Project


class NativeCapture(pipeline.CaptureAdapter[bytes]):
    """The key in headers (or ``?key=``), so it is checked before the body is read."""

    renderer = renderers.NATIVE

    def key_from_headers(self, request: HttpRequest) -> str:
        return http.bearer_or_header_key(request)

    def parse(self, request: HttpRequest, body: bytes) -> bytes:
        # Parsing and validation are one pass in native_batch (its msgspec fast path).
        return body

    def validate(
        self, envelope: bytes, *, project: Project, received_at: dt.datetime, allowed_sources: frozenset[str] | None
    ) -> Batch:
        return native_batch(envelope, received_at=received_at, allowed_sources=allowed_sources)

    def accepted(self, accepted: pipeline.Accepted[bytes]) -> HttpResponse:
        return JsonResponse(accepted.result.as_response(), status=202)


NATIVE = NativeCapture()


@capture_endpoint
@csrf_exempt
def capture(request: HttpRequest) -> HttpResponse:
    return pipeline.capture(request, NATIVE)

"""POST /api/v1/events — the native capture endpoint (a contract: path and answer shapes are fixed).

Plain Django rather than DRF: this is the hottest path in the product and needs none of DRF's
content negotiation; every check lives in ingestion.http and the work in ingestion.services.
"""

from __future__ import annotations

import datetime as dt
import logging

import redis
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ingestion import http, ledger
from ingestion.buffer import BufferUnavailable
from ingestion.middleware import capture_endpoint
from ingestion.services import ingest_batch
from ingestion.validation import RequestError, native_batch
from projects.services import api_key_mark_used

logger = logging.getLogger(__name__)


@capture_endpoint
@csrf_exempt
def capture(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return http.preflight(request)
    if request.method != "POST":
        response = JsonResponse({"error": "use POST to send events.", "reason": "method"}, status=405)
        response["Allow"] = "POST, OPTIONS"
        return response
    received_at = dt.datetime.now(dt.UTC)
    project = None
    try:
        key = http.resolve_ingest_key(http.bearer_or_header_key(request))
        api_key_mark_used(key_id=key.key_id)  # one Redis write per key and minute, not per request
        project = key.project
        http.check_origin(request, project)
        ctx = http.IngestContext(key=key, client=http.client_of(request), received_at=received_at)
        http.check_limits(request, ctx)
        try:
            sources = key.sources if project.restrict_sources else None
            batch = native_batch(http.read_body(request), received_at=received_at, allowed_sources=sources)
        except RequestError as exc:
            ledger.count_request_rejection(project_id=project.pk, received_at=received_at, reason=exc.reason)
            raise
        result = ingest_batch(project=project, batch=batch, client=ctx.client, received_at=received_at)
    except RequestError as exc:
        return http.error_response(exc, request, project)
    except (BufferUnavailable, redis.RedisError, OSError) as exc:
        # Redis down (buffer, rate-limit counters or quota): nothing of the request was taken.
        logger.error("event buffer unavailable", extra={"error": str(exc)})
        response = JsonResponse(
            {
                "error": "the event buffer is unavailable; nothing from this request was stored, retry it.",
                "reason": "buffer_unavailable",
            },
            status=503,
        )
        response["Retry-After"] = "5"
        return http.add_cors_headers(response, request, project)
    status = 400 if result.errors and not result.accepted and not result.duplicates else 202
    return http.add_cors_headers(JsonResponse(result.as_response(), status=status), request, project)

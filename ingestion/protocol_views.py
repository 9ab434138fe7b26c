"""PostHog- and Segment-compatible endpoints: thin adapters in front of the native pipeline.

Every request goes through the same edge checks as ``POST /api/v1/events`` (key, CORS origin,
rate limits, quota, body limits) and ends in ``services.ingest_batch``; only the envelope and the
answer shapes differ, and those are what the SDKs depend on:

- PostHog SDKs retry anything but exactly 200, so success is 200 ``{"status": 1}``; capture v1
  (posthog-python ``capture_mode="v1"``) wants a per-event ``results`` map instead.
- Segment SDKs read ``{"code", "message"}`` on errors (rudder-sdk-python retries forever
  otherwise).
- Session recordings (``/s/``) are answered 200 and dropped: eventbase stores events only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ingestion import http, ledger
from ingestion.buffer import BufferUnavailable
from ingestion.middleware import capture_endpoint
from ingestion.protocols import posthog, segment
from ingestion.protocols.common import Envelope
from ingestion.services import IngestResult, ingest_batch
from ingestion.validation import Batch, RequestError, check_count, dumps
from projects.models import Project

logger = logging.getLogger(__name__)

_KEY_REASONS = {"missing_key", "bad_key", "revoked_key", "wrong_scope"}


@dataclass
class Outcome:
    project: Project | None = None
    result: IngestResult | None = None
    envelope: Envelope | None = None
    batch: Batch | None = None
    error: RequestError | None = None
    unavailable: bool = False


def _accept(
    request: HttpRequest,
    *,
    parse: Callable[[bytes], Envelope],
    validate: Callable[[Envelope, Project, dt.datetime, frozenset[str] | None], Batch],
) -> Outcome:
    """The native endpoint's sequence, with the key read from the SDK's envelope."""
    received_at = dt.datetime.now(dt.UTC)
    outcome = Outcome()
    try:
        outcome.envelope = envelope = parse(http.read_body(request))
        key = http.resolve_ingest_key(envelope.raw_key)
        outcome.project = project = key.project
        http.check_origin(request, project)
        ctx = http.IngestContext(key=key, client=http.client_of(request), received_at=received_at)
        http.check_limits(request, ctx)
        try:
            check_count(envelope.messages)
            sources = key.sources if project.restrict_sources else None
            outcome.batch = validate(envelope, project, received_at, sources)
        except RequestError as exc:
            ledger.count_request_rejection(project_id=project.pk, received_at=received_at, reason=exc.reason)
            raise
        outcome.result = ingest_batch(project=project, batch=outcome.batch, client=ctx.client, received_at=received_at)
    except RequestError as exc:
        outcome.error = exc
    except (BufferUnavailable, redis.RedisError, OSError) as exc:
        logger.error("event buffer unavailable", extra={"error": str(exc)})
        outcome.unavailable = True
    return outcome


def _only_errors(outcome: Outcome) -> bool:
    result = outcome.result
    return result is not None and bool(result.errors) and not result.accepted and not result.duplicates


def _json(request: HttpRequest, body: object, status: int, project: Project | None) -> HttpResponse:
    # orjson via validation.dumps: the answer of the hot path should not cost more than the work.
    response = HttpResponse(dumps(body), status=status, content_type="application/json")
    return http.add_cors_headers(response, request, project)


def _method_guard(request: HttpRequest, allowed: str = "POST") -> HttpResponse | None:
    if request.method == "OPTIONS":
        return http.preflight(request)
    if request.method not in allowed.split(", "):
        response = JsonResponse({"error": f"use {allowed}.", "reason": "method"}, status=405)
        response["Allow"] = f"{allowed}, OPTIONS"
        return response
    return None


# --- PostHog ---------------------------------------------------------------------------------


def _posthog_parse(request: HttpRequest) -> Callable[[bytes], Envelope]:
    return lambda body: posthog.parse_request(
        body, query=request.GET, authorization=request.headers.get("Authorization", "")
    )


def _posthog_validate(envelope: Envelope, project: Project, received_at: dt.datetime, sources) -> Batch:
    return posthog.batch_from(envelope, received_at=received_at, allowed_sources=sources)


def _posthog_error(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    if outcome.unavailable:
        response = _json(request, {"type": "server_error", "detail": "event buffer unavailable"}, 503, outcome.project)
        response["Retry-After"] = "5"
        return response
    exc = outcome.error
    assert exc is not None
    if exc.reason in _KEY_REASONS:
        body = {"type": "authentication_error", "code": "invalid_api_key", "detail": exc.message}
        return _json(request, body, 401, outcome.project)
    if isinstance(exc, http.RateLimited):
        body = {"type": "rate_limited", "code": exc.reason, "detail": exc.message}
        if exc.reason == "quota_exceeded":
            body["quota_limited"] = ["events"]
        response = _json(request, body, 429, outcome.project)
        response["Retry-After"] = str(exc.retry_after)
        return response
    body = {"type": "validation_error", "code": exc.reason, "detail": exc.message}
    return _json(request, body, exc.status, outcome.project)


@capture_endpoint
@csrf_exempt
def posthog_capture(request: HttpRequest) -> HttpResponse:
    """``/e/``, ``/i/v0/e/``, ``/batch/``, ``/capture/``, ``/track/``: the legacy capture API."""
    if (refused := _method_guard(request)) is not None:
        return refused
    outcome = _accept(request, parse=_posthog_parse(request), validate=_posthog_validate)
    if outcome.error is not None or outcome.unavailable:
        return _posthog_error(request, outcome)
    if _only_errors(outcome):
        assert outcome.result is not None
        body = {"type": "validation_error", "code": "invalid_event", "detail": outcome.result.errors[0]["error"]}
        return _json(request, {**body, "errors": outcome.result.errors}, 400, outcome.project)
    return _json(request, {"status": 1}, 200, outcome.project)


@capture_endpoint
@csrf_exempt
def posthog_capture_v1(request: HttpRequest) -> HttpResponse:
    """``/i/v1/analytics/events``: Bearer auth, one result per event uuid."""
    if (refused := _method_guard(request)) is not None:
        return refused
    outcome = _accept(request, parse=_posthog_parse(request), validate=_posthog_validate)
    if outcome.error is not None or outcome.unavailable:
        return _posthog_error(request, outcome)
    assert outcome.batch is not None and outcome.envelope is not None
    envelope_results: dict[str, dict[str, str]] = {}
    accepted = {index: event.event_id for index, event in outcome.batch.events}
    errors = {error["index"]: error["error"] for error in outcome.batch.errors}
    for index, message in enumerate(outcome.envelope.messages):
        uid = str(message.get("uuid")) if isinstance(message, dict) and message.get("uuid") else str(index)
        if index in accepted:
            envelope_results[uid] = {"result": "ok"}
        else:
            # An invalid event will be invalid again: "drop" tells the SDK not to resend it.
            envelope_results[uid] = {"result": "drop", "details": errors.get(index, "invalid event")}
    return _json(request, {"results": envelope_results}, 200, outcome.project)


@csrf_exempt
def posthog_ignored(request: HttpRequest) -> HttpResponse:
    """Session recordings and the like: answered so the SDK does not retry, and dropped."""
    if request.method == "OPTIONS":
        return http.preflight(request)
    return http.add_cors_headers(JsonResponse({"status": 1}), request, None)


@csrf_exempt
def posthog_flags(request: HttpRequest) -> HttpResponse:
    """``/flags/`` and legacy ``/decide/``: no feature flags here, said in the shape SDKs expect."""
    if (refused := _method_guard(request, "GET, POST")) is not None:
        return refused
    body = {
        "flags": {},
        "featureFlags": {},
        "featureFlagPayloads": {},
        "errorsWhileComputingFlags": False,
        "quotaLimited": [],
        **posthog.REMOTE_CONFIG,
        "config": {"enable_collect_everything": True},
        "toolbarParams": {},
        "isAuthenticated": False,
    }
    return http.add_cors_headers(JsonResponse(body), request, None)


def _remote_config(token: str) -> dict:
    return {"token": token, **posthog.REMOTE_CONFIG}


def posthog_config(request: HttpRequest, token: str) -> HttpResponse:
    """``GET /array/<token>/config``: posthog-js's remote config, as JSON."""
    response = JsonResponse(_remote_config(token))
    response["Cache-Control"] = "public, max-age=300"
    return http.add_cors_headers(response, request, None)


def posthog_config_js(request: HttpRequest, token: str) -> HttpResponse:
    """``GET /array/<token>/config.js``: the same config as a script posthog-js loads."""
    config = dumps({"config": _remote_config(token), "siteApps": []}).decode()
    script = (
        "(function(){window._POSTHOG_REMOTE_CONFIG=window._POSTHOG_REMOTE_CONFIG||{};"
        f"window._POSTHOG_REMOTE_CONFIG[{dumps(token).decode()}]={config};}})();"
    )
    response = HttpResponse(script, content_type="application/javascript")
    response["Cache-Control"] = "public, max-age=300"
    return http.add_cors_headers(response, request, None)


# --- Segment ---------------------------------------------------------------------------------


def _segment_error(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    if outcome.unavailable:
        body = {"code": "buffer_unavailable", "message": "the event buffer is unavailable; retry."}
        response = _json(request, body, 503, outcome.project)
        response["Retry-After"] = "5"
        return response
    exc = outcome.error
    assert exc is not None
    status = 401 if exc.reason in _KEY_REASONS else exc.status
    response = _json(request, {"code": exc.reason, "message": exc.message}, status, outcome.project)
    if isinstance(exc, http.RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@capture_endpoint
@csrf_exempt
def segment_capture(request: HttpRequest, kind: str) -> HttpResponse:
    """``POST /v1/<track|identify|page|screen|group|alias|batch>`` and the short ``/v1/t`` forms."""
    if (refused := _method_guard(request)) is not None:
        return refused
    outcome = _accept(
        request,
        parse=lambda body: segment.parse_request(
            body, path_type=kind, authorization=request.headers.get("Authorization", "")
        ),
        validate=lambda envelope, project, received_at, sources: segment.batch_from(
            envelope, project_id=project.pk, received_at=received_at, allowed_sources=sources
        ),
    )
    if outcome.error is not None or outcome.unavailable:
        return _segment_error(request, outcome)
    if _only_errors(outcome):
        assert outcome.result is not None
        error = outcome.result.errors[0]["error"]
        return _json(request, {"code": "invalid_request", "message": error}, 400, outcome.project)
    return _json(request, {"success": True}, 200, outcome.project)


def segment_settings(request: HttpRequest, write_key: str) -> HttpResponse:
    """``GET /v1/projects/<writeKey>/settings``: points analytics.js at this server and only here."""
    try:
        project = http.resolve_ingest_key(write_key).project
    except RequestError as exc:
        return _json(request, {"code": exc.reason, "message": exc.message}, 404, None)
    host = request.get_host()
    body = {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": f"{host}/v1",
                "protocol": "https" if request.is_secure() else "http",
                "deliveryStrategy": {"strategy": "standard"},
            }
        },
        # No "plan": a tracking plan makes analytics.js load its schema-filter bundle.
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        # analytics.js would otherwise report its own metrics to Segment's servers.
        "metrics": {"sampleRate": 0, "host": f"{host}/v1"},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }
    response = _json(request, body, 200, project)
    response["Cache-Control"] = "public, max-age=300"
    return response

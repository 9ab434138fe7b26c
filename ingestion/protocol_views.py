"""PostHog- and Segment-compatible endpoints: thin adapters in front of ``ingestion.pipeline``.

Every capture request runs the pipeline that ``POST /api/v1/events`` runs (key and its use, CORS
origin, rate limits, quota, body limits, ``services.ingest_batch``, 503 handling); only the
envelope and the answer shapes differ, and those are what the SDKs depend on. Error answers are
each protocol's renderer's (``ingestion.renderers``); success answers are here:

- PostHog SDKs retry anything but exactly 200, so success is 200 ``{"status": 1}``; capture v1
  (posthog-python ``capture_mode="v1"``) wants a per-event ``results`` map instead.
- Segment SDKs want 200 ``{"success": true}``.
- Session recordings (``/s/``) are answered 200 and dropped: eventbase stores events only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ingestion import http, pipeline, renderers
from ingestion.middleware import capture_endpoint
from ingestion.protocols import posthog, segment
from ingestion.protocols.common import Envelope
from ingestion.renderers import json_answer
from ingestion.validation import Batch, RequestError, check_count, dumps
from projects.models import Project


class _SdkCapture(pipeline.CaptureAdapter[Envelope]):
    """An SDK protocol carries its key in the envelope: the body is parsed before the key is known."""

    def key_from_envelope(self, envelope: Envelope) -> str:
        return envelope.raw_key

    def validate(
        self, envelope: Envelope, *, project: Project, received_at: dt.datetime, allowed_sources: frozenset[str] | None
    ) -> Batch:
        check_count(envelope.messages)
        return self.batch_from(envelope, project=project, received_at=received_at, allowed_sources=allowed_sources)

    def batch_from(
        self, envelope: Envelope, *, project: Project, received_at: dt.datetime, allowed_sources: frozenset[str] | None
    ) -> Batch:
        raise NotImplementedError


# --- PostHog ---------------------------------------------------------------------------------


class PostHogCapture(_SdkCapture):
    """``/e/``, ``/i/v0/e/``, ``/batch/``, ``/capture/``, ``/track/``: the legacy capture API."""

    renderer = renderers.POSTHOG

    def parse(self, request: HttpRequest, body: bytes) -> Envelope:
        return posthog.parse_request(body, query=request.GET, authorization=request.headers.get("Authorization", ""))

    def batch_from(
        self, envelope: Envelope, *, project: Project, received_at: dt.datetime, allowed_sources: frozenset[str] | None
    ) -> Batch:
        return posthog.batch_from(envelope, received_at=received_at, allowed_sources=allowed_sources)

    def accepted(self, accepted: pipeline.Accepted[Envelope]) -> HttpResponse:
        return json_answer({"status": 1})


class PostHogCaptureV1(PostHogCapture):
    """``/i/v1/analytics/events``: Bearer auth, one result per event uuid."""

    answers_each_event = True

    def accepted(self, accepted: pipeline.Accepted[Envelope]) -> HttpResponse:
        results: dict[str, dict[str, str]] = {}
        taken = {index for index, _event in accepted.batch.events}
        errors = {error["index"]: error["error"] for error in accepted.batch.errors}
        for index, message in enumerate(accepted.envelope.messages):
            uid = str(message.get("uuid")) if isinstance(message, dict) and message.get("uuid") else str(index)
            if index in taken:
                results[uid] = {"result": "ok"}
            else:
                # An invalid event will be invalid again: "drop" tells the SDK not to resend it.
                results[uid] = {"result": "drop", "details": errors.get(index, "invalid event")}
        return json_answer({"results": results})


POSTHOG = PostHogCapture()
POSTHOG_V1 = PostHogCaptureV1()


@capture_endpoint
@csrf_exempt
def posthog_capture(request: HttpRequest) -> HttpResponse:
    return pipeline.capture(request, POSTHOG)


@capture_endpoint
@csrf_exempt
def posthog_capture_v1(request: HttpRequest) -> HttpResponse:
    return pipeline.capture(request, POSTHOG_V1)


@csrf_exempt
def posthog_ignored(request: HttpRequest) -> HttpResponse:
    """Session recordings and the like: answered so the SDK does not retry, and dropped."""
    if request.method == "OPTIONS":
        return http.preflight(request)
    return http.add_cors_headers(JsonResponse({"status": 1}), request, None)


@csrf_exempt
def posthog_flags(request: HttpRequest) -> HttpResponse:
    """``/flags/`` and legacy ``/decide/``: no feature flags here, said in the shape SDKs expect."""
    if request.method == "OPTIONS":
        return http.preflight(request)
    if request.method not in ("GET", "POST"):
        return renderers.POSTHOG.wrong_method("GET, POST")
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


def _remote_config(token: str) -> dict[str, Any]:
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


class SegmentCapture(_SdkCapture):
    """``POST /v1/<track|identify|page|screen|group|alias|batch>`` and the short ``/v1/t`` forms."""

    renderer = renderers.SEGMENT

    def __init__(self, kind: str) -> None:
        self.kind = kind  # the path's message type, or a batch

    def parse(self, request: HttpRequest, body: bytes) -> Envelope:
        return segment.parse_request(body, path_type=self.kind, authorization=request.headers.get("Authorization", ""))

    def batch_from(
        self, envelope: Envelope, *, project: Project, received_at: dt.datetime, allowed_sources: frozenset[str] | None
    ) -> Batch:
        return segment.batch_from(
            envelope, project_id=project.pk, received_at=received_at, allowed_sources=allowed_sources
        )

    def accepted(self, accepted: pipeline.Accepted[Envelope]) -> HttpResponse:
        return json_answer({"success": True})


# One adapter per path kind the URL pattern admits, made once rather than per request.
SEGMENT = {kind: SegmentCapture(kind) for kind in (*segment.PATH_TYPES, *segment.BATCH_PATHS)}


@capture_endpoint
@csrf_exempt
def segment_capture(request: HttpRequest, kind: str) -> HttpResponse:
    return pipeline.capture(request, SEGMENT[kind])


def segment_settings(request: HttpRequest, write_key: str) -> HttpResponse:
    """``GET /v1/projects/<writeKey>/settings``: points analytics.js at this server and only here."""
    try:
        project = http.resolve_ingest_key(write_key).project
    except RequestError as exc:
        return http.add_cors_headers(renderers.SEGMENT.unknown_write_key(exc), request, None)
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
    response = http.add_cors_headers(json_answer(body), request, project)
    response["Cache-Control"] = "public, max-age=300"
    return response

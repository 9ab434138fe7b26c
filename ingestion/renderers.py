"""How each capture protocol answers what went wrong: one renderer per protocol.

The pipeline and the views raise or detect the error types (``ingestion.errors``, ``http.RateLimited``,
an unavailable buffer, a request whose every event was invalid) and hand them to the protocol's
renderer, which alone knows that protocol's error shape and statuses. The shapes are contracts
with the SDKs, pinned by the tests:

- native API (``/api/v1/events``, and ``/t.js``, which posts there): ``{"error", "reason"}`` with the
  error's own status;
- PostHog: ``{"type", "code", "detail"}``; a refused key is 401 ``invalid_api_key`` whatever the
  reason, limits are ``rate_limited`` (and ``quota_limited`` for the quota);
- Segment: ``{"code", "message"}``; a refused key is 401 (rudder-sdk-python retries anything it
  cannot read, forever).

A method an endpoint does not take gets one shape in every protocol, the native API's: no SDK
sends one. ``Retry-After`` and CORS headers are the pipeline's, the same for every protocol.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, JsonResponse

from ingestion.errors import RequestError
from ingestion.http import RateLimited
from ingestion.services import IngestResult
from ingestion.validation import dumps

# The reasons ``http.resolve_ingest_key`` refuses a key for; the SDKs read them all as "bad key".
KEY_REASONS = frozenset({"missing_key", "bad_key", "revoked_key", "wrong_scope"})


def json_answer(body: object, status: int = 200) -> HttpResponse:
    """JSON by orjson (``validation.dumps``): the SDK endpoints' answers should not cost more than the work."""
    return HttpResponse(dumps(body), status=status, content_type="application/json")


class Renderer:
    """One protocol's error answers; subclasses write its shape, in one place each."""

    #: A 405's message; ``{allowed}`` is the methods the endpoint takes.
    use_methods = "use {allowed}."

    def wrong_method(self, allowed: str = "POST") -> HttpResponse:
        """A method the endpoint does not take (OPTIONS, the CORS preflight, is always taken)."""
        response = JsonResponse({"error": self.use_methods.format(allowed=allowed), "reason": "method"}, status=405)
        response["Allow"] = f"{allowed}, OPTIONS"
        return response

    def refused(self, exc: RequestError) -> HttpResponse:
        """The whole request is refused: key, origin, limits, body."""
        raise NotImplementedError

    def unavailable(self) -> HttpResponse:
        """Redis, the buffer or PostgreSQL is down: nothing was taken, the client should retry (503)."""
        raise NotImplementedError

    def invalid_events(self, result: IngestResult) -> HttpResponse:
        """Every event of the request was invalid (400); ``result.errors`` says why, per event."""
        raise NotImplementedError


class NativeRenderer(Renderer):
    use_methods = "use {allowed} to send events."

    def refused(self, exc: RequestError) -> HttpResponse:
        return JsonResponse({"error": exc.message, "reason": exc.reason}, status=exc.status)

    def unavailable(self) -> HttpResponse:
        body = {
            "error": "the event buffer is unavailable; nothing from this request was stored, retry it.",
            "reason": "buffer_unavailable",
        }
        return JsonResponse(body, status=503)

    def invalid_events(self, result: IngestResult) -> HttpResponse:
        # The same body as an accepted request's, so a client reads every answer one way.
        return JsonResponse(result.as_response(), status=400)


class PostHogRenderer(Renderer):
    @staticmethod
    def _error(status: int, type_: str, code: str | None, detail: str, **extra: Any) -> HttpResponse:
        body: dict[str, Any] = {"type": type_}
        if code is not None:
            body["code"] = code
        body["detail"] = detail
        return json_answer({**body, **extra}, status)

    def refused(self, exc: RequestError) -> HttpResponse:
        if exc.reason in KEY_REASONS:
            return self._error(401, "authentication_error", "invalid_api_key", exc.message)
        if isinstance(exc, RateLimited):
            extra = {"quota_limited": ["events"]} if exc.reason == "quota_exceeded" else {}
            return self._error(429, "rate_limited", exc.reason, exc.message, **extra)
        return self._error(exc.status, "validation_error", exc.reason, exc.message)

    def unavailable(self) -> HttpResponse:
        return self._error(503, "server_error", None, "event buffer unavailable")

    def invalid_events(self, result: IngestResult) -> HttpResponse:
        errors = result.errors
        return self._error(400, "validation_error", "invalid_event", errors[0]["error"], errors=errors)


class SegmentRenderer(Renderer):
    @staticmethod
    def _error(status: int, code: str, message: str) -> HttpResponse:
        return json_answer({"code": code, "message": message}, status)

    def refused(self, exc: RequestError) -> HttpResponse:
        return self._error(401 if exc.reason in KEY_REASONS else exc.status, exc.reason, exc.message)

    def unavailable(self) -> HttpResponse:
        return self._error(503, "buffer_unavailable", "the event buffer is unavailable; retry.")

    def invalid_events(self, result: IngestResult) -> HttpResponse:
        return self._error(400, "invalid_request", result.errors[0]["error"])

    def unknown_write_key(self, exc: RequestError) -> HttpResponse:
        """``/v1/projects/<writeKey>/settings`` of a key that is not an ingest key: there are none (404)."""
        return self._error(404, exc.reason, exc.message)


NATIVE = NativeRenderer()
POSTHOG = PostHogRenderer()
SEGMENT = SegmentRenderer()

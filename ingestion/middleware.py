"""Capture requests skip the middleware they have no use for.

The capture endpoints answer SDKs: they use no session, user, CSRF token, message, static file
or frame option, yet each of those middlewares costs a little on every request — together about
half a millisecond per request here, on the hottest path in the product. Placed after the metrics
and security middleware, this one calls a view marked ``@capture_endpoint`` directly and returns
its response, so the rest of the chain runs only for the other pages. django-prometheus's "after"
middleware is among those skipped; of its metrics, the two a dashboard of the capture endpoints
needs — responses by status and view, latency by view — are recorded here. (All of them cost
3 µs per event under load, a tenth of the web tier's CPU.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, get_urlconf, resolve
from django_prometheus.middleware import Metrics

_METRICS_MIDDLEWARE = "django_prometheus.middleware.PrometheusAfterMiddleware"
# As django-prometheus labels them: a client must not mint label values (metric series) at will.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"})
_MARK = "capture_endpoint"  # the attribute ``capture_endpoint`` sets on a view

View = TypeVar("View", bound=Callable[..., HttpResponse])


def capture_endpoint(view: View) -> View:
    """Mark a view to be served by ``CaptureShortcutMiddleware`` (it must not need the skipped middleware)."""
    setattr(view, _MARK, True)
    return view


@lru_cache(maxsize=512)
def _capture_match(path: str, urlconf: str | None) -> ResolverMatch | None:
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return None
    return match if getattr(match.func, _MARK, False) else None


class CaptureShortcutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.metrics = Metrics.get_instance() if _METRICS_MIDDLEWARE in settings.MIDDLEWARE else None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = _capture_match(request.path_info, get_urlconf())
        if match is None:
            return self.get_response(request)
        request.resolver_match = match
        if self.metrics is None:
            return match.func(request, *match.args, **match.kwargs)
        started = time.perf_counter()
        response = match.func(request, *match.args, **match.kwargs)
        view, method = match.view_name, request.method if request.method in _METHODS else "<invalid method>"
        self.metrics.responses_by_status_view_method.labels(str(response.status_code), view, method).inc()
        self.metrics.requests_latency_by_view_method.labels(view, method).observe(time.perf_counter() - started)
        return response

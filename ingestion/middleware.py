"""Capture requests skip the middleware they have no use for.

The capture endpoints answer SDKs: they use no session, user, CSRF token, message, static file
or frame option, yet each of those middlewares costs a little on every request — together about
half a millisecond per request here, on the hottest path in the product. Placed after the metrics
and security middleware, this one calls a view marked ``@capture_endpoint`` directly and returns
its response, so the rest of the chain runs only for the other pages. (Those requests are still
counted by django-prometheus's "before" middleware, and fully accounted for in the delivery
ledger; the per-view response counters of its "after" middleware do not see them.)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, get_urlconf, resolve


def capture_endpoint(view: Callable) -> Callable:
    """Mark a view to be served by ``CaptureShortcutMiddleware`` (it must not need the skipped middleware)."""
    view.capture_endpoint = True
    return view


@lru_cache(maxsize=512)
def _capture_match(path: str, urlconf: str | None) -> ResolverMatch | None:
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return None
    return match if getattr(match.func, "capture_endpoint", False) else None


class CaptureShortcutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = _capture_match(request.path_info, get_urlconf())
        if match is None:
            return self.get_response(request)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)

"""Content-Security-Policy on the HTML pages: a small middleware rather than django-csp, because
the whole policy is two strings and one path rule (Django 5.2 has no built-in CSP; 6.0 does).

Our pages (dashboard, sign-in, invitations) load scripts and styles only from files of this site:
no inline script or event-handler attribute, so ``script-src 'self'`` without ``'unsafe-inline'``
holds (a JSON blob in ``<script type="application/json">`` is data, not run). The admin also
passes under it (Django's admin reads its settings from data attributes). The API docs do not:
Swagger UI writes an inline ``<style>`` and style attributes, and draws icons as data: images, so
/api/docs/ gets inline styles, still no inline scripts. Framing is refused everywhere
(``frame-ancestors 'none'``); a page meant to be embedded later sets its own header, which this
middleware leaves as it is. JSON and CSV answers get no header: a policy only means something to
a document a browser renders.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"

_COMMON = (
    "default-src 'self'",
    "script-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
STRICT = "; ".join((*_COMMON, "style-src 'self'"))
# Swagger UI (drf-spectacular's sidecar): inline styles, never inline scripts (its init script is
# served from ?script=).
API_DOCS = "; ".join((*_COMMON, "style-src 'self' 'unsafe-inline'"))
_LAX_PREFIXES = ("/api/docs/",)


def policy_for(path: str) -> str:
    return API_DOCS if path.startswith(_LAX_PREFIXES) else STRICT


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response and response.get("Content-Type", "").startswith("text/html"):
            response[HEADER] = policy_for(request.path)
        return response

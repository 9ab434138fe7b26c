"""Content-Security-Policy on the HTML pages: a small middleware rather than django-csp, because
the whole policy is two strings and one path rule (Django 5.2 has no built-in CSP; 6.0 does).

Our pages (dashboard, sign-in, invitations) load scripts and styles only from files of this site:
no inline script or event-handler attribute, so ``script-src 'self'`` without ``'unsafe-inline'``
holds (a JSON blob in ``<script type="application/json">`` is data, not run). The admin also
passes under it (Django's admin reads its settings from data attributes). The API docs do not:
Swagger UI writes an inline ``<style>`` and style attributes, and draws icons as data: images, so
/api/docs/ gets inline styles, still no inline scripts. Framing is refused everywhere
(``frame-ancestors 'none'``) but on a share link's embed page (/embed/<token>/, meant for an
``<iframe>`` on any site: ``frame-ancestors *``; its view is also exempt from X-Frame-Options);
a page with a policy of its own sets the header, which this middleware leaves as it is. JSON
and CSV answers get no header: a policy only means something to a document a browser renders.
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
)
_UNFRAMED = "frame-ancestors 'none'"
STRICT = "; ".join((*_COMMON, _UNFRAMED, "style-src 'self'"))
# Swagger UI (drf-spectacular's sidecar): inline styles, never inline scripts (its init script is
# served from ?script=).
API_DOCS = "; ".join((*_COMMON, _UNFRAMED, "style-src 'self' 'unsafe-inline'"))
# A shared dashboard's embed page: as strict, but any site may frame it.
EMBED = "; ".join((*_COMMON, "frame-ancestors *", "style-src 'self'"))
_LAX_PREFIXES = ("/api/docs/",)
_EMBED_PREFIXES = ("/embed/",)


def policy_for(path: str) -> str:
    if path.startswith(_LAX_PREFIXES):
        return API_DOCS
    return EMBED if path.startswith(_EMBED_PREFIXES) else STRICT


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response and response.get("Content-Type", "").startswith("text/html"):
            response[HEADER] = policy_for(request.path)
        return response

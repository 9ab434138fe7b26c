"""Test-only URLs for the browser test: small pages using each SDK, and the vendored SDK files."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import include, path
from django.utils.html import escape

VENDOR = Path(__file__).resolve().parent / "fixtures" / "vendor"

_PAGES = {
    "posthog": """
<script src="/test-vendor/posthog-js/array.no-external.js"></script>
<script>
  posthog.init(KEY, {
    api_host: location.origin, opt_out_useragent_filter: true, request_batching: false,
    autocapture: false, capture_pageleave: false, disable_session_recording: true, disable_surveys: true,
  });
  posthog.capture("clicked_buy", {price: 5});
  posthog.identify("ph-user", {email: "ph@example.com"});
  posthog.capture("purchase");
</script>""",
    "segment": """
<script src="/test-vendor/analytics-next/index.js"></script>
<script>
  window.analytics = AnalyticsNext.AnalyticsBrowser.load(
    {writeKey: KEY, cdnURL: location.origin},
    {integrations: {"Segment.io": {apiHost: location.host + "/v1", protocol: location.protocol.slice(0, -1)}}},
  );
  analytics.page();
  analytics.track("Clicked Buy", {price: 5});
  analytics.identify("seg-user", {name: "Ada"});
  analytics.track("Purchased");
</script>""",
    "tracker": """
<script src="/t.js" data-key="{key}"></script>
<script>
  eventbase.track("clicked_buy", {price: 5});
  eventbase.identify("t-user", {email: "t@example.com"});
  eventbase.track("purchase");
</script>""",
    "tracker-cookieless": """
<script src="/t.js" data-key="{key}" data-cookieless></script>
<script>
  eventbase.track("clicked_buy", {price: 5});
</script>""",
    # A page on another origin linking to a page of the test, so that it has a real referrer.
    "link": """<a id="go" href="{to}">go</a>""",
    "blank": "",
}


def page(request: HttpRequest, name: str) -> HttpResponse:
    if name not in _PAGES:
        raise Http404(name)
    key = request.GET.get("key", "")
    body = _PAGES[name].replace("{key}", key).replace("KEY", json.dumps(key))
    body = body.replace("{to}", escape(request.GET.get("to", "")))
    response = HttpResponse(f"<!doctype html><html><head><title>{name}</title></head><body>{body}</body></html>")
    # A site's usual policy (the browsers' default), rather than Django's same-origin, so that a
    # link from another origin gives its page a referrer, as links from other sites do.
    response["Referrer-Policy"] = "strict-origin-when-cross-origin"
    # These pages stand for a customer's site, not eventbase's: a policy such a site might have
    # (its own inline snippet allowed), so that eventbase's own strict one (config/csp.py) does
    # not apply to them.
    response["Content-Security-Policy"] = "default-src 'self'; script-src 'self' 'unsafe-inline'"
    return response


def vendor(request: HttpRequest, file: str) -> FileResponse:
    target = (VENDOR / file).resolve()
    if VENDOR not in target.parents or not target.is_file():
        raise Http404(file)
    return FileResponse(target.open("rb"), content_type=mimetypes.guess_type(target.name)[0] or "text/javascript")


urlpatterns = [
    path("test-pages/<str:name>", page),
    path("test-vendor/<path:file>", vendor),
    # analytics.js loads its lazy chunks from <cdnURL>/analytics-next/bundles/.
    path("analytics-next/bundles/<str:file>", lambda request, file: vendor(request, f"analytics-next/bundles/{file}")),
    path("", include("config.urls")),
]

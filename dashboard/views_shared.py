"""The public pages of a share link: ``/shared/<token>/`` (read-only, no account) and
``/embed/<token>/`` (the same, with less around it, for an ``<iframe>`` on another site).

The pages hold no numbers: their script reads ``/api/v1/shared/<token>/``, which shows only what
the link shares. The page answers the link's state itself so that a dead link is an HTTP status a
person and a crawler both understand: 404 for a token that never existed, 410 for a revoked or
expired one. Only the embed page may be framed (``xframe_options_exempt``, and its
Content-Security-Policy's ``frame-ancestors *`` in config/csp.py); every other page stays unframable.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from rest_framework.exceptions import NotFound

from reporting.insights.sharing import ShareLinkGone, shared_link

SHARED_API_PREFIX = "/api/v1/shared/"


def _shared_page(request: HttpRequest, token: str, template: str) -> HttpResponse:
    # The API's rule turns the token into its link (one place): 404 unknown, 410 revoked/expired.
    try:
        link = shared_link(token)
    except NotFound:
        return render(request, "dashboard/shared_missing.html", {}, status=404)
    except ShareLinkGone as gone:
        return render(request, "dashboard/shared_gone.html", {"reason": str(gone.detail)}, status=410)
    target = link.dashboard or link.insight
    config = {
        # The shared API's root has no trailing slash: /api/v1/shared/<token>, …/insights/<id>/results.
        "apiBase": f"{SHARED_API_PREFIX}{token}",
        "timezone": link.project.timezone,
        "type": "dashboard" if link.dashboard_id else "insight",
    }
    context = {"project": link.project, "target": target, "shared_config": config}
    return render(request, template, context)


def shared_page(request: HttpRequest, token: str) -> HttpResponse:
    return _shared_page(request, token, "dashboard/shared.html")


@xframe_options_exempt
def embed_page(request: HttpRequest, token: str) -> HttpResponse:
    return _shared_page(request, token, "dashboard/embed.html")

"""The public side of share links: ``/api/v1/shared/<token>`` and its insights' results.

No account, no session, no CSRF: the token in the path is the whole credential, and it reads
only what its link shows (``reporting.insights.sharing.shared_link`` / ``shared_insight``).
These are not ProjectAPIViews: the project comes from the token, never from a slug, and a
share token is no credential for the project API (a Bearer ``sh_`` token there is a 401).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.access import JSONOnlyNegotiation
from reporting import insight_serializers as i
from reporting.insights import sharing
from reporting.views_insights import results_response

TAG = ["shared"]


class SharedAPIView(APIView):
    authentication_classes: list[Any] = []  # the token is in the path; cookies and keys are ignored
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # The token is in the URL: keep it out of shared caches and of other sites' logs.
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response


class SharedView(SharedAPIView):
    @extend_schema(tags=TAG, auth=[], responses=None)
    def get(self, request: Request, token: str) -> Response:
        """What the link shows: a dashboard (its tiles' insights, without their queries) or one insight."""
        link = sharing.shared_link(token)
        project = {"name": link.project.name, "timezone": link.project.timezone}
        if link.dashboard is not None:
            tiles = sharing.shared_dashboard_tiles(link)
            body = {"type": "dashboard", "project": project, "dashboard": i.dashboard_public(link.dashboard, tiles)}
        else:
            assert link.insight is not None
            body = {"type": "insight", "project": project, "insight": i.insight_public(link.insight)}
        return Response(body)


class SharedResultsView(SharedAPIView):
    @extend_schema(
        tags=TAG,
        auth=[],
        parameters=[OpenApiParameter("format", enum=["json", "csv"])],
        responses=i.InsightResultsOutput,
    )
    def get(self, request: Request, token: str, insight_id: int) -> HttpResponse | Response:
        """A shown insight's answer (a dashboard link applies the dashboard's filters and range)."""
        link = sharing.shared_link(token)
        insight, dashboard = sharing.shared_insight(link, insight_id)
        insight.project = link.project
        p = i.ResultsInput(data={"format": request.query_params.get("format", "json")})
        p.is_valid(raise_exception=True)
        return results_response(
            insight=insight, dashboard=dashboard, insight_body=i.insight_public(insight), fmt=p.validated_data["format"]
        )

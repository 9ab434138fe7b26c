"""The insights API: saved questions of a project (editors write, viewers read), their results
(JSON or CSV), and their share links."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from projects.audit import audit_actor
from projects.models import Project
from reporting import insight_serializers as i
from reporting.base import ReportingAPIView
from reporting.insights import services, sharing
from reporting.insights.run import insight_results
from reporting.insights.tables import insight_table
from reporting.models import Dashboard, Insight
from reporting.queries.common import complete_until_get

TAG = ["insights"]


def user_id_of(request: Request) -> int | None:
    # A project read key has no user, but it never writes; a personal key acts as its user.
    user = request.user
    return int(user.pk) if user is not None and user.is_authenticated else None


# A text cell a spreadsheet would run as a formula. Event names and property values come from
# whoever holds the public ingest key, and a share link's CSV is downloaded by anyone: such a cell
# is written with a leading apostrophe (OWASP's advice), numbers as they are.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def results_response(
    *, insight: Insight, dashboard: Dashboard | None, insight_body: dict[str, Any], fmt: str
) -> HttpResponse | Response:
    """The insight's answer now, as JSON or as a CSV download: the project endpoint's and the
    share link's, so both give the same body."""
    answer = insight_results(insight, dashboard=dashboard)
    if fmt == "csv":
        header, rows = insight_table(answer["kind"], answer["result"])
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows([[csv_cell(v) for v in row] for row in rows])
        response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
        name = f"insight-{insight.pk}-{answer['date_from']}-{answer['date_to']}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    body = {"insight": insight_body, **answer, "complete_until": complete_until_get()}
    return Response(i.InsightResultsOutput(body).data)


class InsightsView(ReportingAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(
        tags=TAG,
        parameters=[i.InsightListInput],
        responses=i.InsightListOutput,
        operation_id="v1_projects_insights_list",
    )
    def get(self, request: Request, slug: str) -> Response:
        """The project's insights, newest first; ``kind`` and ``search`` (in the name) narrow them."""
        p = self.validated(i.InsightListInput, request.query_params)
        found = services.insights_list(project=self.project, kind=p.get("kind"), search=p.get("search"))
        return Response({"results": [i.insight_out(insight) for insight in found]})

    @extend_schema(tags=TAG, request=i.InsightInput, responses={201: i.InsightOutput})
    def post(self, request: Request, slug: str) -> Response:
        """Save a question: a report ``kind``, its ``query`` and a ``date_range`` (default last 30 days)."""
        p = self.validated(i.InsightInput, request.data)
        insight = services.insight_create(project=self.project, user_id=user_id_of(request), data=p)
        return Response(i.insight_out(insight), status=status.HTTP_201_CREATED)


class InsightMixin:
    project: Project

    def _insight(self, insight_id: int) -> Insight:
        insight = services.insight_get(project=self.project, insight_id=insight_id)
        if insight is None:
            raise Http404("No such insight in this project.")
        return insight


class InsightView(InsightMixin, ReportingAPIView):
    writes: tuple[str, ...] = ("patch", "delete")

    @extend_schema(tags=TAG, responses=i.InsightOutput)
    def get(self, request: Request, slug: str, insight_id: int) -> Response:
        """One insight."""
        return Response(i.insight_out(self._insight(insight_id)))

    @extend_schema(tags=TAG, request=i.InsightInput, responses={200: i.InsightOutput, 409: None})
    def patch(self, request: Request, slug: str, insight_id: int) -> Response:
        """Change any of name, description, kind, query, date_range; send ``version`` to be told
        (409) when someone changed it since you read it."""
        insight = self._insight(insight_id)
        changes = self.validated(i.InsightInput, request.data, partial=True)
        services.insight_update(insight=insight, changes=changes)
        return Response(i.insight_out(self._insight(insight_id)))

    @extend_schema(tags=TAG, responses={204: None})
    def delete(self, request: Request, slug: str, insight_id: int) -> Response:
        """Delete an insight (and its tiles and share links)."""
        self._insight(insight_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class InsightResultsView(InsightMixin, ReportingAPIView):
    @extend_schema(
        tags=TAG,
        parameters=[i.ResultsInput],
        responses={(200, "application/json"): i.InsightResultsOutput, (200, "text/csv"): str},
    )
    def get(self, request: Request, slug: str, insight_id: int) -> HttpResponse | Response:
        """The insight's answer for its range today; ``dashboard`` adds that dashboard's filters and
        range; ``format=csv`` downloads it as a table."""
        insight = self._insight(insight_id)
        p = self.validated(i.ResultsInput, request.query_params)
        dashboard = None
        if "dashboard" in p:
            dashboard = services.dashboard_holding(project=self.project, dashboard_id=p["dashboard"], insight=insight)
            if dashboard is None:
                raise Http404("No such dashboard in this project, or it does not show this insight.")
        return results_response(
            insight=insight, dashboard=dashboard, insight_body=i.insight_out(insight), fmt=p["format"]
        )


def share_created(issued: sharing.IssuedShareLink) -> Response:
    body = {
        "id": issued.link.pk,
        "token": issued.token,
        "url": issued.url,
        "embed_url": issued.embed_url,
        "embed_html": issued.embed_html,
        "expires_at": issued.link.expires_at,
    }
    return Response(i.ShareCreatedOutput(body).data, status=status.HTTP_201_CREATED)


class InsightShareView(InsightMixin, ReportingAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, request=i.ShareInput, responses={201: i.ShareCreatedOutput})
    def post(self, request: Request, slug: str, insight_id: int) -> Response:
        """A share link to this insight alone (read-only, no account); the token is shown once."""
        insight = self._insight(insight_id)
        p = self.validated(i.ShareInput, request.data)
        issued = sharing.share_link_create(
            project=self.project,
            insight=insight,
            user_id=user_id_of(request),
            actor=audit_actor(request.user),
            expires_at=p.get("expires_at"),
        )
        return share_created(issued)

"""Paths: the steps persons take, for a Sankey diagram."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from reporting import path_serializers as ps
from reporting.base import ReportingAPIView
from reporting.queries import paths

TAG = ["reporting"]


class PathsView(ReportingAPIView):
    @extend_schema(tags=TAG, request=ps.PathsInput, responses=ps.PathsOutput)
    def post(self, request: Request, slug: str) -> Response:
        """Per person, the steps in time order (repeats collapsed): nodes, edges and drop-offs."""
        p = self.validated(ps.PathsInput, request.data)
        answer = paths.paths_get(
            project=self.project,
            spec=p["spec"],
            date_from=p["date_from"],
            date_to=p["date_to"],
            filters=p["filters"],
            group_index=p["group_index"],
        )
        return self.answer(ps.PathsOutput, answer)

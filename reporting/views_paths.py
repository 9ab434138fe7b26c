"""Paths: the steps persons take, for a Sankey diagram."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from reporting import path_serializers as ps
from reporting.base import ReportingAPIView
from reporting.insights import kinds

TAG = ["reporting"]


class PathsView(ReportingAPIView):
    @extend_schema(tags=TAG, request=ps.PathsInput, responses=ps.PathsOutput)
    def post(self, request: Request, slug: str) -> Response:
        """Per person, the steps in time order (repeats collapsed): nodes, edges and drop-offs."""
        p = self.validated(ps.PathsInput, request.data)
        return self.answer(ps.PathsOutput, kinds.paths_run(self.project, p))

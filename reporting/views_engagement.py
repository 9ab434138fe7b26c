"""Stickiness and lifecycle: how often persons come back, and how the active persons change."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from reporting import engagement_serializers as g
from reporting.base import ReportingAPIView
from reporting.insights import kinds

TAG = ["reporting"]


class StickinessView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[g.StickinessInput], responses=g.StickinessOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Persons by the number of days (or weeks) of the range in which they did the event."""
        p = self.validated(g.StickinessInput, request.query_params)
        return self.answer(g.StickinessOutput, kinds.stickiness_run(self.project, p))


class LifecycleView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[g.LifecycleInput], responses=g.LifecycleOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Per interval: new, returning and resurrecting persons, and those gone dormant (negative)."""
        p = self.validated(g.LifecycleInput, request.query_params)
        return self.answer(g.LifecycleOutput, kinds.lifecycle_run(self.project, p))

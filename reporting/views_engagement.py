"""Stickiness and lifecycle: how often persons come back, and how the active persons change."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from reporting import engagement_serializers as g
from reporting.base import ReportingAPIView
from reporting.queries import engagement

TAG = ["reporting"]


class StickinessView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[g.StickinessInput], responses=g.StickinessOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Persons by the number of days (or weeks) of the range in which they did the event."""
        p = self.validated(g.StickinessInput, request.query_params)
        results = engagement.stickiness_get(
            project=self.project,
            event=p["event"],
            date_from=p["date_from"],
            date_to=p["date_to"],
            interval=p["interval"],
            filters=p["filters"],
            group_index=p["group_index"],
        )
        return self.answer(g.StickinessOutput, {"results": results})


class LifecycleView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[g.LifecycleInput], responses=g.LifecycleOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Per interval: new, returning and resurrecting persons, and those gone dormant (negative)."""
        p = self.validated(g.LifecycleInput, request.query_params)
        results = engagement.lifecycle_get(
            project=self.project,
            event=p["event"],
            date_from=p["date_from"],
            date_to=p["date_to"],
            interval=p["interval"],
            filters=p["filters"],
            group_index=p["group_index"],
        )
        return self.answer(g.LifecycleOutput, {"results": results})

"""The taxonomy endpoints: which events and properties exist, for autocomplete and for people.

Thin views over ``reporting/queries/definitions.py``; what they read, and why not the events, is
said there and in docs/ARCHITECTURE.md ("Taxonomy").
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from reporting import outputs as o
from reporting.base import ReportingAPIView
from reporting.queries import definitions

TAG = ["taxonomy"]

# --- Inputs (the output shapes are in reporting/outputs.py, with the others) ---------------------


class PropertyDefinitionsInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["event", "person"], default="event")
    event = serializers.CharField(
        max_length=200, required=False, help_text="Only this event's properties (type=event); unknown: none."
    )


class PropertyValuesQueryInput(PropertyDefinitionsInput):
    q = serializers.CharField(
        max_length=200, required=False, allow_blank=True, trim_whitespace=False, help_text="Case-insensitive substring."
    )
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class PropertyValuesInput(PropertyValuesQueryInput):
    """The query's parameters and the key from the path (any text a property key can be, but NUL)."""

    key = serializers.CharField(max_length=200, trim_whitespace=False)


# --- Views ---------------------------------------------------------------------------------------


class EventDefinitionsView(ReportingAPIView):
    @extend_schema(tags=TAG, responses=o.EventDefinitionsOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Every event name seen, most sent in the last 30 days first."""
        results = definitions.event_definitions_list(project=self.project)
        return self.answer(o.EventDefinitionsOutput, {"results": results})


class PropertyDefinitionsView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[PropertyDefinitionsInput], responses=o.PropertyDefinitionsOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Property keys of events (of one event with ``event``) or of persons, with type and samples."""
        p = self.validated(PropertyDefinitionsInput, request.query_params)
        results = definitions.property_definitions_list(project=self.project, kind=p["type"], event=p.get("event"))
        return self.answer(o.PropertyDefinitionsOutput, {"results": results})


class PropertyValuesView(ReportingAPIView):
    @extend_schema(
        tags=TAG,
        parameters=[
            OpenApiParameter("key", str, OpenApiParameter.PATH, description="The property key."),
            PropertyValuesQueryInput,
        ],
        responses=o.PropertyValuesOutput,
    )
    def get(self, request: Request, slug: str, key: str) -> Response:
        """The key's most frequent values with their counts (``q``: containing this text)."""
        p = self.validated(PropertyValuesInput, {**request.query_params.dict(), "key": key})
        results = definitions.property_values_list(
            project=self.project,
            kind=p["type"],
            key=p["key"],
            event=p.get("event"),
            q=p.get("q"),
            limit=p["limit"],
        )
        return self.answer(o.PropertyValuesOutput, {"results": results})

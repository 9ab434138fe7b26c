"""The web analytics API's shapes: the overview's and live view's input and output, and goals."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from analytics.goals import GOAL_FILTER_TYPES, GoalDefinition
from analytics.models import Goal
from analytics.query.filters import FilterError, PropertyFilter, filter_leaves, filters_parse
from reporting.outputs import _Out
from reporting.query_fields import FiltersField
from reporting.serializers import MAX_RAW_DAYS, _RangeInput

WEB_LIMIT = 20


class WebInput(_RangeInput):
    max_days = MAX_RAW_DAYS
    filters = FiltersField()
    compare = serializers.BooleanField(default=False, help_text="Also the six numbers of the period before.")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=WEB_LIMIT, help_text="Rows per list.")


class WebNumbers(serializers.Serializer):
    visitors = serializers.IntegerField(help_text="Distinct persons with a pageview.")
    pageviews = serializers.IntegerField()
    visits = serializers.IntegerField(help_text="Sessions with a pageview.")
    views_per_visit = serializers.FloatField()
    bounce_rate = serializers.FloatField(help_text="Percent of visits with one pageview and no other event.")
    visit_duration_seconds = serializers.FloatField(help_text="Mean of last minus first event time per visit.")


class WebDay(serializers.Serializer):
    date = serializers.DateField()
    visitors = serializers.IntegerField()
    pageviews = serializers.IntegerField()


class WebRow(serializers.Serializer):
    value = serializers.CharField()
    visitors = serializers.IntegerField()
    pageviews = serializers.IntegerField()


class WebPage(WebRow):
    bounce_rate = serializers.FloatField(allow_null=True, help_text="Of the visits that entered here; null: none.")
    avg_time_on_page_seconds = serializers.FloatField(allow_null=True, help_text="null: no next pageview.")


class WebGoal(serializers.Serializer):
    goal_id = serializers.IntegerField()
    name = serializers.CharField()
    visitors = serializers.IntegerField(help_text="Visitors who reached the goal.")
    conversions = serializers.IntegerField(help_text="Their events that reached it.")
    conversion_rate = serializers.FloatField(help_text="visitors / all visitors, percent.")


class WebOutput(WebNumbers, _Out):
    compare = WebNumbers(allow_null=True, help_text="The period of as many days before; null unless compare=true.")
    series = WebDay(many=True)
    pages = WebPage(many=True)
    entry_pages = WebRow(many=True)
    exit_pages = WebRow(many=True)
    referrers = WebRow(many=True)
    channels = WebRow(many=True)
    utm_sources = WebRow(many=True)
    utm_campaigns = WebRow(many=True)
    countries = WebRow(many=True)
    devices = WebRow(many=True)
    browsers = WebRow(many=True)
    os = WebRow(many=True)
    goals = WebGoal(many=True)


class LiveRow(serializers.Serializer):
    value = serializers.CharField()
    visitors = serializers.IntegerField()


class WebLiveOutput(_Out):
    visitors = serializers.IntegerField(help_text="Distinct persons with a pageview in the last 5 minutes.")
    pages = LiveRow(many=True)
    countries = LiveRow(many=True)


class GoalInput(serializers.Serializer):
    """POST (name, kind and path or event required) and PATCH (the fields to change) bodies.

    The one check of a goal's definition: the fields' types and lengths here, then ``validate``
    fills a PATCH from the goal (a change of kind drops the other kind's fields) and checks the
    whole; ``goal_create``/``goal_update`` store the :class:`GoalDefinition` it answers as it is.
    """

    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=[Goal.PAGEVIEW, Goal.EVENT], required=False)
    path = serializers.CharField(max_length=500, required=False, help_text="pageview: a glob, '*' any characters.")
    event = serializers.CharField(max_length=200, required=False)
    filters = serializers.JSONField(required=False, help_text="event: event and column filters.")

    def validate_path(self, path: str) -> str:
        if not path.startswith("/"):
            raise serializers.ValidationError("a pageview goal's path starts with '/', e.g. '/checkout/*'.")
        return path

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data or {}) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {sorted(unknown)[0]: "unknown field; a goal has " + ", ".join(self.fields)}
            )
        goal: Goal | None = self.context.get("goal")
        merged: dict[str, Any] = {}
        if goal is not None:
            merged = {"name": goal.name, "kind": goal.kind, "path": goal.path, "event": goal.event}
            merged["filters"] = goal.filters
            if attrs.get("kind", goal.kind) != goal.kind:
                merged.update(path="", event="", filters=[])
        merged.update(attrs)
        if not merged.get("name"):
            raise _invalid("name", "a goal needs a name of 1 to 200 characters.")
        name, kind = merged["name"], merged.get("kind")
        if kind is None:
            raise _invalid("kind", f"must be {Goal.PAGEVIEW!r} or {Goal.EVENT!r}.")
        if kind == Goal.PAGEVIEW:
            for other in ("event", "filters"):
                if attrs.get(other):
                    raise _invalid(other, f"a pageview goal has a path, not {other}.")
            if not merged.get("path"):
                raise _invalid("path", "a pageview goal's path starts with '/', e.g. '/checkout/*'.")
            return {"definition": GoalDefinition(name, kind, merged["path"], "", [])}
        if attrs.get("path"):
            raise _invalid("path", "an event goal has an event (and filters), not a path.")
        if not merged.get("event"):
            raise _invalid("event", "an event goal names its event (1 to 200 characters).")
        filters = merged.get("filters") or []
        try:
            parsed = filters_parse(filters, path="filters")
        except FilterError as exc:
            raise _invalid("filters", str(exc)) from None
        for i, leaf in enumerate(filter_leaves(parsed)):
            if not isinstance(leaf, PropertyFilter) or leaf.type not in GOAL_FILTER_TYPES:
                raise _invalid("filters", f"filter {i}: a goal's filters are of type event or column.")
        return {"definition": GoalDefinition(name, kind, "", merged["event"], filters)}


def _invalid(field: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: message})


def goal_out(goal: Goal) -> dict:
    return GoalOutput(
        {
            "id": goal.pk,
            "name": goal.name,
            "kind": goal.kind,
            "path": goal.path or None,
            "event": goal.event or None,
            "filters": goal.filters if goal.kind == Goal.EVENT else None,
        }
    ).data


class GoalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    path = serializers.CharField(allow_null=True)
    event = serializers.CharField(allow_null=True)
    filters = serializers.JSONField(allow_null=True)


class GoalListOutput(serializers.Serializer):
    results = GoalOutput(many=True)

"""The web analytics API's shapes: the overview's and live view's input and output, and goals."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from analytics.goals import GoalError, goal_definition_parse
from analytics.models import Goal
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
    """POST (name, kind and path or event required) and PATCH (the fields to change) bodies."""

    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=[Goal.PAGEVIEW, Goal.EVENT], required=False)
    path = serializers.CharField(max_length=500, required=False, help_text="pageview: a glob, '*' any characters.")
    event = serializers.CharField(max_length=200, required=False)
    filters = serializers.JSONField(required=False, help_text="event: event and column filters.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data or {}) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {sorted(unknown)[0]: "unknown field; a goal has " + ", ".join(self.fields)}
            )
        try:
            definition = goal_definition_parse(attrs, instance=self.context.get("goal"))
        except GoalError as exc:
            raise serializers.ValidationError({exc.field: exc.message}) from None
        return {"definition": definition}


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

"""Paths: the input of ``POST paths`` and its output shape."""

from __future__ import annotations

from rest_framework import serializers

from analytics.query.paths import EVENT_TYPES, PAGEVIEW, PathSpec
from analytics.query.regex import regex_problem
from reporting.outputs import _Out
from reporting.query_fields import FiltersField, GroupTypeField
from reporting.serializers import MAX_RAW_DAYS, _RangeInput

MAX_STEPS = 20


class PathCleaningRule(serializers.Serializer):
    regex = serializers.CharField(max_length=500, help_text="RE2, as DuckDB's regexp_replace (every match).")
    alias = serializers.CharField(max_length=200, allow_blank=True, help_text="What each match becomes.")


class PathsInput(_RangeInput):
    """``POST paths``: which events make the steps, where paths start or end, how names are cleaned."""

    max_days = MAX_RAW_DAYS
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)),
        min_length=1,
        default=[PAGEVIEW],
        help_text='Which events count: "$pageview", "$screen", "custom" (every event not starting with $).',
    )
    path_key = serializers.CharField(
        max_length=200, required=False,
        help_text="Name steps by this web column (pathname, …) or else event property, not by the event name.",
    )  # fmt: skip
    start_event = serializers.CharField(max_length=500, required=False, help_text="A step name (after cleaning).")
    end_event = serializers.CharField(max_length=500, required=False, help_text="A step name (after cleaning).")
    steps = serializers.IntegerField(min_value=2, max_value=MAX_STEPS, default=5)
    min_edge_users = serializers.IntegerField(min_value=1, max_value=10**9, default=1)
    exclude = serializers.ListField(
        child=serializers.CharField(max_length=500), max_length=100, default=list,
        help_text="Step names (after cleaning) dropped before repeats are collapsed.",
    )  # fmt: skip
    path_cleaning = PathCleaningRule(many=True, required=False, max_length=20)
    filters = FiltersField(groups=True)
    aggregation_group_type = GroupTypeField(help_text="A group type: a group's path (all its members' events).")

    def validate_path_cleaning(self, rules: list[dict]) -> list[dict]:
        for i, rule in enumerate(rules):
            problem = regex_problem(rule["regex"])
            if problem:
                raise serializers.ValidationError(f"rule {i}: invalid regex {rule['regex']!r}: {problem}")
        return rules

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        attrs["spec"] = PathSpec(
            event_types=tuple(dict.fromkeys(attrs.pop("event_types"))),
            path_key=attrs.pop("path_key", None),
            steps=attrs.pop("steps"),
            start=attrs.pop("start_event", None),
            end=attrs.pop("end_event", None),
            exclude=tuple(attrs.pop("exclude")),
            cleaning=tuple((rule["regex"], rule["alias"]) for rule in attrs.pop("path_cleaning", [])),
            min_edge_users=attrs.pop("min_edge_users"),
        )
        attrs["group_index"] = attrs.pop("aggregation_group_type", None)
        return attrs


class PathNode(serializers.Serializer):
    step = serializers.IntegerField(help_text="1 for the first step of the paths.")
    name = serializers.CharField(help_text="The step name, or (other) for the less frequent ones folded.")
    users = serializers.IntegerField(help_text="Distinct persons at this step with this name.")


class PathEdge(serializers.Serializer):
    source_step = serializers.IntegerField()
    source = serializers.CharField()
    target = serializers.CharField(help_text="The name at source_step + 1.")
    users = serializers.IntegerField()
    average_conversion_seconds = serializers.FloatField(help_text="Mean seconds from source to target, 0.1 s.")


class PathsOutput(_Out):
    nodes = PathNode(many=True)
    edges = PathEdge(many=True)
    dropoffs = PathNode(many=True, help_text="Persons whose path ends at this step and name.")

"""Stickiness and lifecycle: their inputs and output shapes."""

from __future__ import annotations

from rest_framework import serializers

from reporting.outputs import _Out
from reporting.query_fields import FiltersField, GroupTypeField
from reporting.serializers import MAX_RAW_DAYS, _check_event, _RangeInput

# Monthly lifecycle needs more than the raw-event limit's three months to show anything; it reads
# the whole history for first events anyway, so a year of activity adds little to its cost.
MAX_MONTHLY_LIFECYCLE_DAYS = 366


class _EngagementInput(_RangeInput):
    max_days = MAX_RAW_DAYS
    event = serializers.CharField(max_length=200, help_text="The event that makes a person active.")
    filters = FiltersField(groups=True)
    aggregation_group_type = GroupTypeField(help_text="A group type: count its groups instead of persons.")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        _check_event(self.context["project"], attrs["event"])
        attrs["group_index"] = attrs.pop("aggregation_group_type", None)
        return attrs


class StickinessInput(_EngagementInput):
    interval = serializers.ChoiceField(choices=["day", "week"], default="day")


class LifecycleInput(_EngagementInput):
    interval = serializers.ChoiceField(choices=["day", "week", "month"], default="day")

    def _max_days(self, attrs: dict) -> int:
        return MAX_MONTHLY_LIFECYCLE_DAYS if attrs.get("interval") == "month" else MAX_RAW_DAYS


class StickinessRow(serializers.Serializer):
    intervals = serializers.IntegerField(help_text="Intervals of the range with the event (1..all of them).")
    persons = serializers.IntegerField()


class StickinessOutput(_Out):
    results = StickinessRow(many=True)


class LifecycleRow(serializers.Serializer):
    date = serializers.DateField(help_text="The interval's first day.")
    new = serializers.IntegerField(help_text="Active, and their first event ever is in this interval.")
    returning = serializers.IntegerField(help_text="Active in this interval and the one before.")
    resurrecting = serializers.IntegerField(help_text="Active, not in the interval before, seen before.")
    dormant = serializers.IntegerField(help_text="Minus the persons active in the interval before, not in this.")


class LifecycleOutput(_Out):
    results = LifecycleRow(many=True)

"""Output shapes of the reporting API, as documented in the OpenAPI schema (/api/schema/).

Every JSON answer carries ``complete_until``: every event received before that instant is stored
and aggregated, so the numbers before it are final.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import WEB_COLUMNS
from events.property_types import PROPERTY_TYPES


class _Out(serializers.Serializer):
    complete_until = serializers.DateTimeField(
        help_text="Every event received before this instant is stored and aggregated."
    )


class DateUsers(serializers.Serializer):
    date = serializers.DateField()
    users = serializers.IntegerField()


class ActiveUsersOutput(_Out):
    results = DateUsers(many=True)


class TopEvent(serializers.Serializer):
    event = serializers.CharField()
    count = serializers.IntegerField()
    users = serializers.IntegerField()


class TopEventsOutput(_Out):
    results = TopEvent(many=True)


class TrendPoint(serializers.Serializer):
    date = serializers.CharField(help_text="YYYY-MM-DD, or an ISO datetime for interval=hour.")
    value = serializers.IntegerField()


class TrendSeries(serializers.Serializer):
    label = serializers.CharField()
    data = TrendPoint(many=True)


class TrendsOutput(_Out):
    series = TrendSeries(many=True)


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.Field):
    """A count as an integer, a property math as a float: the number as computed."""

    def to_representation(self, value: Any) -> Any:
        return value


class QueryPoint(serializers.Serializer):
    date = serializers.CharField()
    value = NumberField()


class QuerySeries(serializers.Serializer):
    label = serializers.CharField(help_text="The event, or the formula's text.")
    series = serializers.CharField(help_text="The series' letter, or 'formula'.")
    breakdown_value = serializers.CharField(allow_null=True)
    data = QueryPoint(many=True)


class TrendsQueryOutput(_Out):
    series = QuerySeries(many=True)
    formula = QuerySeries(many=True, allow_null=True)
    compare = QuerySeries(many=True, allow_null=True, help_text="The previous period: series, then formula.")


class FunnelStep(serializers.Serializer):
    event = serializers.CharField()
    users = serializers.IntegerField()
    conversion_from_start = serializers.FloatField(help_text="Percent.")
    conversion_from_previous = serializers.FloatField(help_text="Percent.")
    average_conversion_seconds = serializers.FloatField(allow_null=True, help_text="From the previous step.")
    median_conversion_seconds = serializers.FloatField(allow_null=True, help_text="From the previous step.")


class TimeBin(serializers.Serializer):
    from_seconds = serializers.FloatField()
    to_seconds = serializers.FloatField()
    persons = serializers.IntegerField()


class FunnelBreakdown(serializers.Serializer):
    value = serializers.CharField(help_text="The step-1 value; '(none)' without one, 'other' for the rest.")
    results = FunnelStep(many=True)


class FunnelOutput(_Out):
    results = FunnelStep(many=True)
    breakdown = FunnelBreakdown(many=True, required=False)
    time_to_convert = TimeBin(many=True, help_text="First-to-last-step seconds of those who completed.")


class RetentionPeriod(serializers.Serializer):
    period = serializers.IntegerField()
    start = serializers.DateField()
    retained_users = serializers.IntegerField()
    retention_rate = serializers.FloatField(help_text="Percent of the cohort.")


class Cohort(serializers.Serializer):
    start_date = serializers.DateField()
    cohort_size = serializers.IntegerField()
    retention = RetentionPeriod(many=True)


class BrokenDownCohort(Cohort):
    breakdown_value = serializers.CharField(help_text="The value on the first start event.")


class RetentionOutput(Cohort, _Out):
    breakdown = BrokenDownCohort(many=True, required=False)


class RetentionCohortsOutput(_Out):
    period = serializers.CharField()
    results = Cohort(many=True)


class MinuteCount(serializers.Serializer):
    minute = serializers.DateTimeField()
    count = serializers.IntegerField()


class EventCount(serializers.Serializer):
    event = serializers.CharField()
    count = serializers.IntegerField()


class LiveOutput(_Out):
    now = serializers.DateTimeField()
    active_users_5m = serializers.IntegerField()
    events_per_minute = MinuteCount(many=True)
    top_events_1h = EventCount(many=True)


class UserRow(serializers.Serializer):
    user_id = serializers.CharField()
    is_anonymous = serializers.BooleanField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    event_count = serializers.IntegerField()


class UsersOutput(_Out):
    results = UserRow(many=True)
    next = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page.")


class DayEvents(serializers.Serializer):
    date = serializers.DateField()
    events = serializers.IntegerField()


class RecentEvent(serializers.Serializer):
    event_id = serializers.UUIDField()
    event = serializers.CharField()
    source = serializers.CharField()
    timestamp = serializers.DateTimeField()
    properties = serializers.JSONField()


class UserDetailOutput(UserRow, _Out):
    daily = DayEvents(many=True)
    recent_events = RecentEvent(many=True)


class ExportEvent(serializers.Serializer):
    """An event as the export renders it (analytics.query.export.EXPORT_COLUMNS)."""

    event_id = serializers.UUIDField()
    event = serializers.CharField()
    source = serializers.CharField()
    user_id = serializers.CharField()
    is_anonymous = serializers.BooleanField()
    session_id = serializers.CharField(allow_null=True)
    timestamp = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    properties = serializers.JSONField()

    def get_fields(self) -> dict[str, serializers.Field]:
        # The web columns after the event's fields, from their one list (events.models.WEB_COLUMNS).
        web = {
            name: serializers.CharField(allow_null=True, help_text="Derived at capture (README, the events table).")
            for name in WEB_COLUMNS
        }
        return {**super().get_fields(), **web}


class EventsOutput(_Out):
    results = ExportEvent(many=True)
    next = serializers.CharField(allow_null=True)


class SessionDay(serializers.Serializer):
    date = serializers.DateField()
    sessions = serializers.IntegerField()
    avg_duration_seconds = serializers.FloatField()
    avg_events_per_session = serializers.FloatField()


class SessionsOutput(_Out):
    results = SessionDay(many=True)


# --- The taxonomy ---------------------------------------------------------------------------------


class TaxonomyEvent(serializers.Serializer):
    name = serializers.CharField()
    first_seen = serializers.DateField(help_text="The first local day (project time zone) with this event.")
    last_seen = serializers.DateField(help_text="The last local day with this event.")
    volume_30_days = serializers.IntegerField(help_text="Events in the last 30 local days, today included.")


class EventDefinitionsOutput(_Out):
    results = TaxonomyEvent(many=True)


class TaxonomyProperty(serializers.Serializer):
    key = serializers.CharField()
    type = serializers.ChoiceField(choices=list(PROPERTY_TYPES), help_text="Detected from the values (README).")
    sample_values = serializers.ListField(child=serializers.CharField(), help_text="Up to 5 frequent values, as text.")


class PropertyDefinitionsOutput(_Out):
    results = TaxonomyProperty(many=True)


class TaxonomyValue(serializers.Serializer):
    value = serializers.CharField(help_text="As text: a string as it is, anything else as its compact JSON.")
    count = serializers.IntegerField(help_text="Events in the last 30 local days (type=person: persons).")


class PropertyValuesOutput(_Out):
    results = TaxonomyValue(many=True)

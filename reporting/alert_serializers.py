"""The alerts, subscriptions and deliveries API's shapes. Every refusal names its field: a
threshold that is not a number is a 400 keyed ``threshold``, a bad address one keyed ``emails``."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from rest_framework import serializers

from reporting.alerts.evaluate import ALERT_KINDS, AlertInsightError, alert_interval
from reporting.models import (
    Alert,
    AlertCondition,
    AlertEvent,
    Dashboard,
    Delivery,
    DeliveryStatus,
    Insight,
    Subscription,
    SubscriptionFrequency,
)

MAX_ADDRESSES = 20
ID = {"min_value": 1, "max_value": 2**63 - 1}  # a row id: beyond bigint is a 400, not a database error


class FiniteFloatField(serializers.FloatField):
    """A number; "abc", NaN and infinities are refused (they would make every comparison false)."""

    def to_internal_value(self, data: Any) -> float:
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class HttpURLField(serializers.URLField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("must be an http:// or https:// URL.")
        return value


def _emails(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=serializers.EmailField(max_length=254), max_length=MAX_ADDRESSES, **kwargs)


def _project_object(model: Any, project: Any, pk: int, what: str) -> Any:
    found = model.objects.filter(project=project, pk=pk).first()
    if found is None:
        raise serializers.ValidationError(f"no {what} {pk} in this project.")
    return found


class AlertInput(serializers.Serializer):
    """POST (name, insight, condition, threshold and a channel required) and PATCH (the fields to change)."""

    name = serializers.CharField(max_length=200)
    insight = serializers.IntegerField(**ID, help_text=f"A saved insight of kind {', '.join(ALERT_KINDS)}.")
    condition = serializers.ChoiceField(choices=AlertCondition.choices)
    threshold = FiniteFloatField(help_text="The value; for change_pct, the percentage (e.g. 20 for 20 %).")
    emails = _emails(required=False, default=list)
    webhook_url = HttpURLField(max_length=500, required=False, allow_blank=True, default="")
    enabled = serializers.BooleanField(required=False, default=True)
    rotate_secret = serializers.BooleanField(
        required=False, default=False, help_text="PATCH: make a new webhook secret (shown in that answer only)."
    )

    def validate_insight(self, value: int) -> Insight:
        insight = _project_object(Insight, self.context["project"], value, "insight")
        try:
            alert_interval(insight)
        except AlertInsightError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return insight

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current: Alert | None = self.context.get("alert")
        condition = attrs.get("condition", current.condition if current else None)
        threshold = attrs.get("threshold", current.threshold if current else None)
        if condition == AlertCondition.CHANGE_PCT and threshold is not None and threshold < 0:
            raise serializers.ValidationError({"threshold": "a change percentage is 0 or more."})
        emails = attrs.get("emails", current.emails if current else [])
        url = attrs.get("webhook_url", current.webhook_url if current else "")
        if not emails and not url:
            raise serializers.ValidationError({"emails": "give email addresses, a webhook_url, or both."})
        return attrs


class AlertOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    insight = serializers.IntegerField(source="insight_id")
    condition = serializers.CharField()
    threshold = serializers.FloatField()
    interval = serializers.CharField(
        allow_null=True, help_text="The insight's: hour, day, week or month; null if it no longer has a time series."
    )
    emails = serializers.ListField(child=serializers.CharField())
    webhook_url = serializers.CharField()
    webhook_secret = serializers.CharField(
        required=False, help_text="Only in the answer that made it (creation, or PATCH rotate_secret)."
    )
    enabled = serializers.BooleanField()
    firing = serializers.BooleanField()
    evaluated_until = serializers.DateTimeField(allow_null=True, help_text="The start of the last interval judged.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AlertListOutput(serializers.Serializer):
    results = AlertOutput(many=True)


def alert_out(alert: Alert, *, secret: str | None = None) -> dict:
    data = {field: getattr(alert, field) for field in (
        "id", "name", "insight_id", "condition", "threshold", "emails", "webhook_url", "enabled", "firing",
        "evaluated_until", "created_at", "updated_at",
    )}  # fmt: skip
    try:
        data["interval"] = alert_interval(alert.insight)
    except AlertInsightError:  # the insight was changed since into a kind alerts cannot watch
        data["interval"] = None
    if secret:
        data["webhook_secret"] = secret
    return dict(AlertOutput(data).data)


class AlertEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    interval_start = serializers.DateTimeField()
    state = serializers.CharField()
    value = serializers.FloatField()
    previous_value = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()


class AlertEventListOutput(serializers.Serializer):
    results = AlertEventOutput(many=True, help_text="Newest interval first.")


def alert_event_out(event: AlertEvent) -> dict:
    return dict(AlertEventOutput(event).data)


class SubscriptionInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    dashboard = serializers.IntegerField(**ID, required=False, allow_null=True)
    insight = serializers.IntegerField(**ID, required=False, allow_null=True)
    emails = _emails(min_length=1)
    frequency = serializers.ChoiceField(choices=SubscriptionFrequency.choices)
    weekday = serializers.IntegerField(min_value=0, max_value=6, required=False, allow_null=True,
                                       help_text="0 = Monday; weekly only.")  # fmt: skip
    day_of_month = serializers.IntegerField(min_value=1, max_value=31, required=False, allow_null=True,
                                            help_text="Monthly only; the last day in shorter months.")  # fmt: skip
    time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"], help_text="HH:MM, the project's local time.")
    enabled = serializers.BooleanField(required=False, default=True)

    def validate_dashboard(self, value: int | None) -> Dashboard | None:
        return None if value is None else _project_object(Dashboard, self.context["project"], value, "dashboard")

    def validate_insight(self, value: int | None) -> Insight | None:
        return None if value is None else _project_object(Insight, self.context["project"], value, "insight")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current: Subscription | None = self.context.get("subscription")

        def now(name: str) -> Any:
            return attrs[name] if name in attrs else (getattr(current, name) if current else None)

        if sum(now(name) is not None for name in ("dashboard", "insight")) != 1:
            raise serializers.ValidationError({"dashboard": "give exactly one of dashboard and insight."})
        frequency = now("frequency")
        if frequency == SubscriptionFrequency.WEEKLY and now("weekday") is None:
            raise serializers.ValidationError({"weekday": "a weekly subscription needs a weekday (0 = Monday)."})
        if frequency == SubscriptionFrequency.MONTHLY and now("day_of_month") is None:
            raise serializers.ValidationError({"day_of_month": "a monthly subscription needs a day_of_month (1..31)."})
        return attrs


class SubscriptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    dashboard = serializers.IntegerField(source="dashboard_id", allow_null=True)
    insight = serializers.IntegerField(source="insight_id", allow_null=True)
    emails = serializers.ListField(child=serializers.CharField())
    frequency = serializers.CharField()
    weekday = serializers.IntegerField(allow_null=True)
    day_of_month = serializers.IntegerField(allow_null=True)
    time = serializers.TimeField(format="%H:%M")
    enabled = serializers.BooleanField()
    next_send_at = serializers.DateTimeField(help_text="When the next report is due (UTC).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SubscriptionListOutput(serializers.Serializer):
    results = SubscriptionOutput(many=True)


def subscription_out(subscription: Subscription, next_send_at: dt.datetime) -> dict:
    subscription.next_send_at = next_send_at  # type: ignore[attr-defined]
    return dict(SubscriptionOutput(subscription).data)


class DeliveryQuery(serializers.Serializer):
    alert = serializers.IntegerField(**ID, required=False)
    subscription = serializers.IntegerField(**ID, required=False)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="Also the X-Eventbase-Delivery header of a webhook.")
    channel = serializers.CharField()
    target = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField(allow_blank=True)
    failures = serializers.JSONField(help_text='Every failed attempt: [{"attempt", "at", "error"}], oldest first.')
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    alert = serializers.IntegerField(source="alert_id", allow_null=True)
    alert_event = serializers.IntegerField(source="alert_event_id", allow_null=True)
    subscription = serializers.IntegerField(source="subscription_id", allow_null=True)
    payload = serializers.JSONField(help_text="The webhook body, or the mail's subject, text and html.")


class DeliveryListOutput(serializers.Serializer):
    results = DeliveryOutput(many=True, help_text="Newest first.")


def delivery_out(delivery: Delivery) -> dict:
    return dict(DeliveryOutput(delivery).data)

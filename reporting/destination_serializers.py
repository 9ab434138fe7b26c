"""The destinations API's shapes: a destination's settings, its batches, a replay request."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers

from ingestion.models import BatchStatus, Destination, DestinationBatch

MAX_EVENT_NAMES = 100
MAX_PROPERTY_FILTERS = 20
MAX_REPLAY_IDS = 1000


class DestinationInput(serializers.Serializer):
    """POST (name and url required) and PATCH (the fields to change) bodies."""

    name = serializers.CharField(max_length=200)
    url = serializers.CharField(max_length=2000, help_text="The webhook: an http:// or https:// URL.")
    events = serializers.ListField(
        child=serializers.CharField(max_length=200),
        max_length=MAX_EVENT_NAMES,
        required=False,
        help_text="Event names to forward; empty or absent for all. Names not seen yet are allowed.",
    )
    properties = serializers.DictField(
        required=False,
        help_text="Property values an event must have to be forwarded ({key: string, number or boolean}).",
    )
    batch_size = serializers.IntegerField(
        min_value=1, max_value=Destination.MAX_BATCH, required=False, help_text="Events per POST, 1 to 1000 (100)."
    )
    enabled = serializers.BooleanField(required=False)

    def validate_url(self, value: str) -> str:
        value = value.strip()
        try:
            parts = urlsplit(value)
        except ValueError as exc:  # e.g. "Invalid IPv6 URL"
            raise serializers.ValidationError(f"is not a valid URL ({exc}).") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise serializers.ValidationError("must be an http:// or https:// URL.")
        if not parts.hostname:
            raise serializers.ValidationError("must name a host.")
        try:
            parts.port  # noqa: B018  (a bad port raises here)
        except ValueError:
            raise serializers.ValidationError("has an invalid port.") from None
        if any(c.isspace() or ord(c) < 32 for c in value):
            raise serializers.ValidationError("may not contain spaces or control characters.")
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value))

    def validate_properties(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_PROPERTY_FILTERS:
            raise serializers.ValidationError(f"at most {MAX_PROPERTY_FILTERS} properties.")
        for key, wanted in value.items():
            if not key or len(key) > 200 or "\x00" in key:
                raise serializers.ValidationError("keys must be 1 to 200 characters, without NUL.")
            # (PostgreSQL's jsonb holds neither NUL in a string nor NaN or an infinity.)
            plain = isinstance(wanted, str) and len(wanted) <= 1000 and "\x00" not in wanted
            number = isinstance(wanted, int | float) and math.isfinite(wanted)
            if not (plain or number):
                raise serializers.ValidationError(
                    f"{key}: the value must be a string (at most 1,000 characters), a finite number or a boolean."
                )
        return value


class DestinationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    properties = serializers.DictField()
    batch_size = serializers.IntegerField()
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    secret = serializers.CharField(required=False, help_text="Only in the answer to the POST that created it.")


class DestinationListOutput(serializers.Serializer):
    results = DestinationOutput(many=True)


def destination_out(destination: Destination, *, with_secret: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": destination.pk,
        "name": destination.name,
        "url": destination.url,
        "events": destination.events,
        "properties": destination.properties,
        "batch_size": destination.batch_size,
        "enabled": destination.enabled,
        "created_at": destination.created_at,
    }
    if with_secret:
        data["secret"] = destination.secret
    return dict(DestinationOutput(data).data)


class BatchesInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=BatchStatus.choices, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)


class BatchOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="Sent as X-Eventbase-Delivery.")
    status = serializers.ChoiceField(choices=BatchStatus.choices)
    events = serializers.IntegerField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class BatchListOutput(serializers.Serializer):
    results = BatchOutput(many=True, help_text="Newest first.")


def batch_out(batch: DestinationBatch) -> dict[str, Any]:
    return dict(
        BatchOutput(
            {
                "id": batch.pk,
                "status": batch.status,
                "events": batch.event_count,
                "attempts": batch.attempts,
                "next_attempt_at": batch.next_attempt_at,
                "last_error": batch.last_error,
                "created_at": batch.created_at,
                "delivered_at": batch.delivered_at,
            }
        ).data
    )


class ReplayInput(serializers.Serializer):
    batch_ids = serializers.ListField(
        child=serializers.UUIDField(),
        max_length=MAX_REPLAY_IDS,
        allow_empty=False,
        required=False,
        help_text="Dead batches to send again; absent for all of the destination's dead batches.",
    )


class ReplayOutput(serializers.Serializer):
    replayed = serializers.IntegerField(help_text="Batches set back to pending.")

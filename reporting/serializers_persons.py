"""Input and output of the persons endpoints (``persons``, ``persons/<person_id>``).

Cursors are opaque to clients: base64url text of the keyset where a page ended, the list's
``[last_seen, person_id]`` as JSON, the timeline's ``timestamp|event_id`` as in the export.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from rest_framework import serializers

from reporting import outputs as o
from reporting.cursors import decode_cursor, encode_cursor, export_cursor_decode, export_cursor_encode
from reporting.queries.export import ExportCursor
from reporting.queries.persons import PersonsCursor
from reporting.query_fields import FiltersField
from reporting.serializers import MAX_RAW_DAYS, _RangeInput

MAX_SEARCH = 200


def persons_cursor_encode(cursor: PersonsCursor) -> str:
    return encode_cursor(orjson.dumps([cursor.last_seen.isoformat(), cursor.person_key]).decode())


class PersonsInput(_RangeInput):
    """``from``/``to`` are the days in which a person's event must match ``filters``."""

    max_days = MAX_RAW_DAYS
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    cursor = serializers.CharField(required=False, max_length=1000, help_text="The `next` of the previous page.")
    search = serializers.CharField(
        required=False,
        allow_blank=True,  # an empty search box searches nothing
        max_length=MAX_SEARCH,
        help_text="Case-insensitive text contained in one of the person's ids or property values.",
    )
    filters = FiltersField(help_text="Persons with at least one matching event in from..to; see the README.")

    def validate_cursor(self, raw: str) -> PersonsCursor:
        try:
            last_seen, key = orjson.loads(decode_cursor(raw))
            cursor = PersonsCursor(dt.datetime.fromisoformat(last_seen), key)
        except (orjson.JSONDecodeError, ValueError, TypeError):
            raise serializers.ValidationError("malformed cursor.") from None
        if cursor.last_seen.tzinfo is None or not isinstance(key, str) or "\x00" in key:
            raise serializers.ValidationError("malformed cursor.")
        return cursor


class TimelineInput(serializers.Serializer):
    """A page of the person's timeline."""

    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100, help_text="Timeline events per page.")
    timeline_cursor = serializers.CharField(
        required=False, max_length=300, help_text="The timeline's `next` of the previous page."
    )

    def validate_timeline_cursor(self, raw: str) -> ExportCursor:
        return export_cursor_decode(raw)


class PersonDetailInput(TimelineInput):
    """And the person key from the path: any text an id could be (so never a NUL)."""

    person_id = serializers.CharField(trim_whitespace=False)


class PersonRow(serializers.Serializer):
    person_id = serializers.CharField(
        help_text="The person key: 'person:<n>' for an identified person, else the one id (usable in persons/<id>)."
    )
    distinct_ids = serializers.ListField(child=serializers.CharField())
    properties = serializers.JSONField(help_text="From $set / $set_once / traits; {} for an id of no person.")
    first_seen = serializers.DateTimeField(allow_null=True)
    last_seen = serializers.DateTimeField(allow_null=True)
    event_count = serializers.IntegerField()


class PersonsOutput(o._Out):
    results = PersonRow(many=True)
    next = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page.")


class Timeline(serializers.Serializer):
    results = o.ExportEvent(many=True)
    next = serializers.CharField(allow_null=True, help_text="Pass as ?timeline_cursor= for the next page.")


class PersonDetailOutput(PersonRow, o._Out):
    cohorts = serializers.ListField(
        child=serializers.JSONField(), help_text='The cohorts the person is a member of: [{"id", "name"}].'
    )
    timeline = Timeline()


def person_detail_payload(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail with its timeline cursor encoded."""
    after = detail["timeline"]["next"]
    return {**detail, "timeline": {**detail["timeline"], "next": export_cursor_encode(after) if after else None}}

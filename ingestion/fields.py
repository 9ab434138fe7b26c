"""The rules of an event's fields, shared by the native API and every protocol adapter.

Each check returns the normalised value or raises ``EventError`` with a message that says what
to fix; none of them does I/O.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from core.days import EARLIEST_DAY
from ingestion.errors import EventError
from ingestion.json_values import SURROGATE_MESSAGE, has_surrogate, json_type

MAX_FUTURE = dt.timedelta(days=1)
EARLIEST = dt.datetime.combine(EARLIEST_DAY, dt.time(), tzinfo=dt.UTC)


def parse_timestamp(value: Any, field_name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise EventError(
            f"{field_name} must be an ISO-8601 string with a time zone, e.g. 2024-05-01T12:00:00Z.",
            "invalid_timestamp",
        )
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise EventError(f"{field_name} {value[:60]!r} is not an ISO-8601 date-time.", "invalid_timestamp") from None
    if parsed.tzinfo is None:
        raise EventError(
            f"{field_name} {value[:60]!r} has no time zone; add Z or an offset like +02:00.",
            "invalid_timestamp",
        )
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00, an instant before the year 1
        raise EventError(f"{field_name} {value[:60]!r} is out of range.", "invalid_timestamp") from None


def check_text(value: Any, field_name: str, *, max_length: int, allow_int: bool = False) -> str:
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        kind = "a string or an integer of 64 bits at most" if allow_int else "a string"
        raise EventError(f"{field_name} must be {kind}, not {json_type(value)}.", f"invalid_{field_name}")
    if not value or len(value) > max_length:
        raise EventError(f"{field_name} must be 1 to {max_length} characters long.", f"invalid_{field_name}")
    if "\x00" in value:
        raise EventError(f"{field_name} contains a NUL character.", "nul_character")
    if has_surrogate(value):
        raise EventError(f"{field_name} {SURROGATE_MESSAGE}", "invalid_text")
    return value


CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_event_id(value: Any) -> str:
    if value is None:
        return str(uuid.uuid4())
    if isinstance(value, str) and CANONICAL_UUID.fullmatch(value):
        return value  # the common case, without building a UUID object
    if not isinstance(value, str):
        raise EventError(f"event_id must be a UUID string, not {json_type(value)}.", "invalid_event_id")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise EventError(f"event_id {value[:60]!r} is not a UUID.", "invalid_event_id") from None


def corrected_timestamp(
    timestamp: dt.datetime | None, sent_at: dt.datetime | None, received_at: dt.datetime
) -> dt.datetime:
    """Correct the client's clock skew the way the Segment and PostHog protocols do.

    The client says when the event happened and when it sent the request, both by its own clock;
    the gap between them is trusted, the clock is not: timestamp = received_at - (sent_at - timestamp).
    """
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp
    try:
        return received_at - (sent_at - timestamp)
    except OverflowError:
        raise EventError(
            f"timestamp {timestamp.isoformat()} and sent_at {sent_at.isoformat()} are too far apart: the "
            "corrected time (received_at - (sent_at - timestamp)) is out of range.",
            "invalid_timestamp",
        ) from None


def check_in_range(timestamp: dt.datetime, received_at: dt.datetime) -> None:
    """An event happened between 1970 and a day after it was received (clocks drift, a little)."""
    if timestamp - received_at > MAX_FUTURE:
        raise EventError(
            f"timestamp {timestamp.isoformat()} is more than 1 day in the future (server time "
            f"{received_at.isoformat(timespec='seconds')}).",
            "future_timestamp",
        )
    if timestamp < EARLIEST:
        raise EventError(
            f"timestamp {timestamp.isoformat()} is before {EARLIEST_DAY.isoformat()}; eventbase stores events "
            "from 1970 on.",
            "invalid_timestamp",
        )

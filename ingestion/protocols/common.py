"""What every protocol adapter shares: the batch loop and field helpers on top of ``validation``."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingestion.errors import EventError, RequestError
from ingestion.fields import parse_timestamp
from ingestion.json_values import MAX_PROPERTIES_BYTES, encode_value
from ingestion.validation import Batch

# The same per-event limit as the native API's properties, applied to the whole message: an SDK
# message also carries context, traits and options that end up in the stored properties.
MAX_MESSAGE_BYTES = MAX_PROPERTIES_BYTES

# Person properties and links travel inside the event's properties under PostHog's names, so
# the flush (persons.services) reads one shape whatever the protocol, the native API included.
SET = "$set"
SET_ONCE = "$set_once"
ANON_DISTINCT_ID = "$anon_distinct_id"
ALIAS = "alias"


@dataclass
class Envelope:
    """One request of a foreign SDK, unpacked: its key, its raw messages and when it was sent."""

    raw_key: str
    messages: list[Any]
    sent_at: dt.datetime | None


def build_batch(messages: list[Any], to_event: Callable[[Any], Any]) -> Batch:
    """Validate every message with ``to_event``; invalid ones become errors, the rest go on.

    A message id that repeats within one request is taken once, as in the native API.
    """
    batch = Batch(received=len(messages))
    seen: dict[str, int] = {}
    for index, raw in enumerate(messages):
        try:
            event = to_event(raw)
            first = seen.setdefault(event.event_id, index)
            if first != index:
                raise EventError(
                    f"event {event.event_id} appears twice in this batch (first at index {first}); it was taken once.",
                    "duplicate_in_batch",
                )
        except EventError as exc:
            batch.reject(index, exc)
            continue
        batch.events.append((index, event))
    return batch


def check_message(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise EventError("a message must be a JSON object.", "invalid_shape")
    # depth=0: the message's members (properties, context, traits) are what become properties.
    size = len(encode_value(raw, "", depth=0))
    if size > MAX_MESSAGE_BYTES:
        raise EventError(
            f"the message is {size} bytes as JSON; the limit is {MAX_MESSAGE_BYTES} bytes.", "properties_too_large"
        )
    return raw


def optional_timestamp(value: Any, field_name: str) -> dt.datetime | None:
    return None if value is None else parse_timestamp(value, field_name)


def request_timestamp(value: Any, field_name: str) -> dt.datetime | None:
    """A request-level time (``sent_at``): a bad one makes the whole request unusable."""
    try:
        return optional_timestamp(value, field_name)
    except EventError as exc:
        raise RequestError(400, exc.message, "invalid_timestamp") from None


def epoch_seconds(value: Any, field_name: str) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EventError(f"{field_name} must be a number of seconds since 1970.", "invalid_timestamp")
    try:
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise EventError(f"{field_name} {value} is out of range.", "invalid_timestamp") from None


def person_updates(properties: dict[str, Any], set_: Any, set_once: Any) -> None:
    """Merge top-level ``$set``/``$set_once`` (PostHog's legacy form) into the properties."""
    for key, value in ((SET, set_), (SET_ONCE, set_once)):
        if value is None:
            continue
        if not isinstance(value, dict):
            raise EventError(f"{key} must be a JSON object.", "invalid_properties")
        existing = properties.get(key)
        properties[key] = {**value, **existing} if isinstance(existing, dict) else value

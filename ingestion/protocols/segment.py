"""The Segment tracking API (analytics.js / analytics-next, analytics-python, RudderStack's SDKs).

``POST /v1/<type>`` carries one message, ``/v1/batch`` (``/v1/b``) ``{"batch": [...], "sentAt"}``.
The write key comes as HTTP Basic user name or as ``writeKey`` in the body.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import Any

from ingestion.errors import EventError, RequestError
from ingestion.fields import check_in_range, check_text, corrected_timestamp
from ingestion.json_values import check_object, encode_properties, parse_json
from ingestion.protocols.common import (
    ALIAS,
    ANON_DISTINCT_ID,
    SET,
    Envelope,
    build_batch,
    check_message,
    optional_timestamp,
    request_timestamp,
)
from ingestion.validation import MAX_EVENT_NAME, MAX_ID_LENGTH, Batch, Event

SOURCE = "segment"
MAX_BATCH_BYTES = 500 * 1024
# messageId is any string (analytics.js: "ajs-next-<hash>"), our event ids are UUIDs: a name-based
# UUID of (project, messageId) keeps dedupe exact and per project. Changing it breaks dedupe.
MESSAGE_ID_NAMESPACE = uuid.UUID("5b4c2d4e-6f0e-4d7a-9a51-2f1d0c7e8b3a")

# The short paths analytics-next uses (/v1/t ...) and the long ones of the server SDKs.
PATH_TYPES = {
    "t": "track",
    "i": "identify",
    "p": "page",
    "s": "screen",
    "g": "group",
    "a": "alias",
    **{name: name for name in ("track", "identify", "page", "screen", "group", "alias")},
}
BATCH_PATHS = {"b", "batch", "import"}


def parse_request(body: bytes, *, path_type: str, authorization: str = "") -> Envelope:
    if len(body) > MAX_BATCH_BYTES:
        raise RequestError(400, f"the request is {len(body)} bytes; the limit is 500 KB.", "too_large")
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise RequestError(400, "body must be a JSON object.", "invalid_shape")
    if path_type in BATCH_PATHS:
        messages = payload.get("batch")
        if not isinstance(messages, list) or not messages:
            raise RequestError(400, '"batch" must be a non-empty list of messages.', "invalid_shape")
    else:
        messages = [{**payload, "type": PATH_TYPES[path_type]}]
    key = _basic_user(authorization) or payload.get("writeKey") or _first_write_key(messages)
    return Envelope(
        raw_key=key if isinstance(key, str) else "",
        messages=messages,
        sent_at=request_timestamp(payload.get("sentAt"), "sentAt"),
    )


def _basic_user(authorization: str) -> str:
    if authorization[:6].lower() != "basic ":
        return ""
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0]


def _first_write_key(messages: list[Any]) -> str:
    for message in messages:
        if isinstance(message, dict) and isinstance(message.get("writeKey"), str):
            return message["writeKey"]
    return ""


def event_id_for(project_id: int, message_id: Any) -> str:
    if message_id is None:
        return str(uuid.uuid4())
    # check_text also refuses what UTF-8 cannot encode (the name of a uuid5 is UTF-8).
    message_id = check_text(message_id, "messageId", max_length=MAX_ID_LENGTH, allow_int=True)
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{project_id}:{message_id}"))


def _object(message: dict[str, Any], field_name: str) -> dict[str, Any]:
    return dict(check_object(message.get(field_name), field_name))


def _id(message: dict[str, Any], field_name: str) -> str | None:
    value = message.get(field_name)
    if value is None or value == "":
        return None
    return check_text(value, field_name, max_length=MAX_ID_LENGTH, allow_int=True)


def to_event(
    raw: Any,
    *,
    project_id: int,
    received_at: dt.datetime,
    sent_at: dt.datetime | None,
    allowed_sources: frozenset[str] | None,
) -> Event:
    """One Segment message as a native ``Event``: names and person updates in PostHog's terms."""
    message = check_message(raw)
    kind = message.get("type", "")
    if kind not in PATH_TYPES.values():
        raise EventError("type must be one of track, identify, page, screen, group, alias.", "invalid_type")
    user_id, anonymous_id = _id(message, "userId"), _id(message, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise EventError("userId or anonymousId is required.", "missing_user_id")
    properties = _object(message, "properties")
    context = _object(message, "context")
    # The sender's address is the request's, handled by the project's IP policy; a copy in the
    # properties would bypass that policy.
    context.pop("ip", None)
    if context:
        properties["$context"] = context
    if anonymous_id is not None:
        properties["$anonymous_id"] = anonymous_id
    name = _name_and_person(kind, message, properties, user_id=user_id, anonymous_id=anonymous_id)
    if allowed_sources is not None and SOURCE not in allowed_sources:
        raise EventError(f"source {SOURCE!r} is not one of this project's event sources.", "unknown_source")
    timestamp = optional_timestamp(message.get("timestamp") or message.get("originalTimestamp"), "timestamp")
    message_sent_at = optional_timestamp(message.get("sentAt"), "sentAt") or sent_at
    timestamp = corrected_timestamp(timestamp, message_sent_at, received_at)
    check_in_range(timestamp, received_at)
    return Event(
        event_id=event_id_for(project_id, message.get("messageId")),
        name=check_text(name, "event", max_length=MAX_EVENT_NAME),
        source=SOURCE,
        user_id=user_id or anonymous_id,
        session_id=None,
        timestamp=timestamp,
        properties_json=encode_properties(properties),
        properties=properties,
    )


def _name_and_person(
    kind: str, message: dict[str, Any], properties: dict[str, Any], *, user_id: str | None, anonymous_id: str | None
) -> str:
    if kind == "track":
        if message.get("event") is None:
            raise EventError("event is required for a track call.", "missing_event")
        return message["event"]
    if kind in {"page", "screen"}:
        if message.get("name") is not None:
            properties.setdefault("name", message["name"])
        if message.get("category") is not None:
            properties.setdefault("category", message["category"])
        return "$pageview" if kind == "page" else "$screen"
    if kind == "identify":
        # RudderStack's SDKs send identify traits in context.traits instead.
        traits = _object(message, "traits") or _object(message.get("context") or {}, "traits")
        if traits:
            properties[SET] = traits
        if user_id is not None and anonymous_id is not None:
            properties[ANON_DISTINCT_ID] = anonymous_id
        return "$identify"
    if kind == "group":
        group_id = message.get("groupId")
        if group_id is None:
            raise EventError("groupId is required for a group call.", "missing_group_id")
        properties["$group_id"] = check_text(group_id, "groupId", max_length=MAX_ID_LENGTH, allow_int=True)
        traits = _object(message, "traits")
        if traits:
            properties["$group_set"] = traits
        return "$groupidentify"
    previous_id = _id(message, "previousId")
    if previous_id is None:
        raise EventError("previousId is required for an alias call.", "missing_previous_id")
    properties[ALIAS] = previous_id
    return "$create_alias"


def batch_from(
    envelope: Envelope, *, project_id: int, received_at: dt.datetime, allowed_sources: frozenset[str] | None
) -> Batch:
    return build_batch(
        envelope.messages,
        lambda raw: to_event(
            raw,
            project_id=project_id,
            received_at=received_at,
            sent_at=envelope.sent_at,
            allowed_sources=allowed_sources,
        ),
    )

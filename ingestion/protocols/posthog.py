"""The PostHog capture protocol, as posthog-js and posthog-python speak it.

Bodies: one event, a JSON array of events, or ``{"api_key"|"token", "batch": [...], "sent_at"}``
(``created_at`` in capture v1); possibly gzip (posthog-js sends raw gzip as text/plain with no
Content-Encoding: ``read_body`` detects it by its magic bytes), a form field ``data=`` holding
base64 JSON, or LZString base64 (``?compression=lz64``, old posthog-js).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from core.http import bearer_token
from ingestion.errors import EventError, RequestError
from ingestion.fields import check_event_id, check_in_range, check_text, corrected_timestamp
from ingestion.json_values import check_object, encode_properties, parse_json
from ingestion.protocols import lzstring
from ingestion.protocols.common import (
    Envelope,
    build_batch,
    check_message,
    epoch_seconds,
    optional_timestamp,
    person_updates,
    request_timestamp,
)
from ingestion.validation import MAX_BODY_BYTES, MAX_EVENT_NAME, MAX_ID_LENGTH, Batch, Event

SOURCE = "posthog"
# What the server tells posthog-js at start-up: no flags, no recordings, no surveys, nothing that
# would make the SDK load more code from elsewhere.
REMOTE_CONFIG: dict[str, Any] = {
    "supportedCompression": ["gzip", "gzip-js"],
    "hasFeatureFlags": False,
    "sessionRecording": False,
    "heatmaps": False,
    "surveys": False,
    "autocaptureExceptions": False,
    "captureDeadClicks": False,
    "capturePerformance": False,
    "siteApps": [],
    "elementsChainAsString": True,
}


def parse_request(body: bytes, *, query: Mapping[str, str], authorization: str = "") -> Envelope:
    """Unpack any of the shapes PostHog SDKs send (``body`` is already un-gzipped)."""
    compression = query.get("compression", "")
    text = body
    if body.startswith(b"data=") or b"&data=" in body[:200]:
        # Latin-1 both ways, percent-escapes included: each byte comes back as the byte it was.
        form = parse_qs(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
        text = form.get("data", [""])[0].encode("latin-1")
        compression = form.get("compression", [compression])[0] or compression
    payload = parse_json(_uncompress(text, compression))
    token = query.get("token", "")
    sent_at = None
    if isinstance(payload, list):
        messages = payload
    elif isinstance(payload, dict) and "batch" in payload:
        messages = payload["batch"]
        if not isinstance(messages, list):
            raise RequestError(400, '"batch" must be a list of events.', "invalid_shape")
        token = payload.get("api_key") or payload.get("token") or token
        sent_at = request_timestamp(payload.get("sent_at") or payload.get("created_at"), "sent_at")
    elif isinstance(payload, dict):
        messages = [payload]
        sent_at = request_timestamp(payload.get("sent_at"), "sent_at")
    else:
        raise RequestError(400, "body must be an event, a list of events or a batch object.", "invalid_shape")
    if not messages:
        raise RequestError(400, "the request holds no events.", "invalid_shape")
    clock = query.get("_", "")
    if sent_at is None and clock.isascii() and clock.isdigit():
        # posthog-js sends its clock at send time as ?_=<epoch ms>: the base of skew correction.
        # (Any other ?_= is some cache-buster, ignored as before.)
        sent_at = _clock_of(clock)
    if not token:
        token = _token_of_first_event(messages) or bearer_token(authorization) or ""
    return Envelope(raw_key=str(token or ""), messages=messages, sent_at=sent_at)


def _clock_of(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise RequestError(
            400, f"?_={value[:40]} is out of range for a time in milliseconds since 1970.", "invalid_timestamp"
        ) from None


def _uncompress(text: bytes, compression: str) -> bytes:
    stripped = text.strip()
    if compression == "lz64":
        try:
            out = lzstring.decompress_from_base64(stripped.decode("ascii")).encode()
        except (lzstring.LZStringError, UnicodeError) as exc:
            raise RequestError(400, f"body is not valid lz64 data: {exc}", "invalid_encoding") from None
        if len(out) > MAX_BODY_BYTES:
            raise RequestError(
                413, f"decompressed body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.", "too_large"
            )
        return out
    if compression == "base64" or (stripped and stripped[:1] not in b"{["):
        urlsafe = b"-" in stripped or b"_" in stripped
        try:
            decoded = base64.b64decode(stripped + b"=" * (-len(stripped) % 4), altchars=b"-_" if urlsafe else None)
        except (binascii.Error, ValueError):
            decoded = b""
        if not decoded:  # not one base64 character in it
            raise RequestError(400, "body is neither JSON nor base64 JSON.", "invalid_encoding")
        return decoded
    return text


def _token_of_first_event(messages: list[Any]) -> str:
    for message in messages:
        if isinstance(message, dict):
            props = message.get("properties")
            token = (
                message.get("api_key")
                or message.get("token")
                or (props.get("token") if isinstance(props, dict) else None)
            )
            if isinstance(token, str) and token:
                return token
    return ""


def to_event(
    raw: Any,
    *,
    received_at: dt.datetime,
    sent_at: dt.datetime | None,
    allowed_sources: frozenset[str] | None,
) -> Event:
    """One PostHog event as a native ``Event`` (same rules as ``validation.validate_native_event``)."""
    message = check_message(raw)
    name = message.get("event")
    if name is None:
        raise EventError("event is required (the event name).", "missing_event")
    name = check_text(name, "event", max_length=MAX_EVENT_NAME)
    properties = dict(check_object(message.get("properties")))
    distinct_id = message.get("distinct_id", message.get("$distinct_id", properties.get("distinct_id")))
    if distinct_id is None:
        raise EventError("distinct_id is required.", "missing_distinct_id")
    user_id = check_text(distinct_id, "distinct_id", max_length=MAX_ID_LENGTH, allow_int=True)
    # The token is the project's key, already known; it is not event data.
    for key in ("token", "distinct_id"):
        properties.pop(key, None)
    person_updates(properties, message.get("$set"), message.get("$set_once"))
    session_id = message.get("session_id", properties.get("$session_id"))
    session_id = None if session_id is None else check_text(session_id, "session_id", max_length=MAX_ID_LENGTH)
    if allowed_sources is not None and SOURCE not in allowed_sources:
        raise EventError(f"source {SOURCE!r} is not one of this project's event sources.", "unknown_source")
    timestamp = _timestamp(message, properties, received_at=received_at, sent_at=sent_at)
    check_in_range(timestamp, received_at)
    return Event(
        event_id=check_event_id(message.get("uuid")),
        name=name,
        source=SOURCE,
        user_id=user_id,
        session_id=session_id,
        timestamp=timestamp,
        properties_json=encode_properties(properties),
        properties=properties,
    )


def _timestamp(
    message: dict[str, Any], properties: dict[str, Any], *, received_at: dt.datetime, sent_at: dt.datetime | None
) -> dt.datetime:
    options = message.get("options")
    if not isinstance(options, dict):
        options = {}
    if properties.get("$ignore_sent_at") is True or options.get("disable_skew_correction") is True:
        sent_at = None
    timestamp = optional_timestamp(message.get("timestamp"), "timestamp")
    if timestamp is None and properties.get("$time") is not None:
        timestamp = epoch_seconds(properties["$time"], "properties.$time")
    offset = message.get("offset")
    if timestamp is None and offset is not None:
        # "offset" is how many ms before sending the event happened: already skew-free.
        if isinstance(offset, bool) or not isinstance(offset, int | float) or offset < 0:
            raise EventError("offset must be a number of milliseconds.", "invalid_timestamp")
        try:
            return received_at - dt.timedelta(milliseconds=offset)
        except OverflowError:
            raise EventError(f"offset {offset} ms reaches back before the year 1.", "invalid_timestamp") from None
    return corrected_timestamp(timestamp, sent_at, received_at)


def batch_from(envelope: Envelope, *, received_at: dt.datetime, allowed_sources: frozenset[str] | None) -> Batch:
    return build_batch(
        envelope.messages,
        lambda raw: to_event(raw, received_at=received_at, sent_at=envelope.sent_at, allowed_sources=allowed_sources),
    )

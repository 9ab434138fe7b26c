"""Parsing and validating capture requests: bytes in, normalised events and precise errors out.

Pure functions with no I/O, so they are cheap to test and shared by every protocol adapter
(native API, PostHog, Segment, backfill). An invalid event never fails its batch: it becomes an
error entry naming what to fix, and the other events go on. The rules of single fields live in
``ingestion.fields``, what a JSON value may hold (and so what can be stored) in
``ingestion.json_values``; this module puts them together for a request.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
import orjson

from events.models import WEB_COLUMNS
from ingestion.errors import EventError, RequestError
from ingestion.fields import (
    CANONICAL_UUID,
    EARLIEST,
    MAX_FUTURE,
    check_event_id,
    check_in_range,
    check_text,
    corrected_timestamp,
    parse_timestamp,
)
from ingestion.json_values import (
    MAX_PROPERTIES_BYTES,
    MAX_PROPERTIES_DEPTH,
    encode_properties,
    has_surrogate,
    json_type,
    parse_json,
)
from ingestion.json_values import dumps as dumps  # answers of the protocol adapters

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_EVENTS_PER_REQUEST = 1000
MAX_EVENT_NAME = 200
MAX_ID_LENGTH = 200
LATE_AFTER = dt.timedelta(days=1)
DEFAULT_SOURCE = "api"
MAX_WEB_VALUE = 2048  # the longest value enrichment stores (a pathname)


@dataclass(slots=True)
class Event:
    """A validated event, ready for the stream. ``timestamp`` is clock-skew corrected, in UTC."""

    event_id: str
    name: str
    source: str
    user_id: str | None
    session_id: str | None
    timestamp: dt.datetime
    properties_json: bytes  # the properties object as JSON text: encoded once, or kept as sent (fast path)
    # The same object as parsed, for enrichment at capture (page URL, referrer, UTM, SDK device
    # fields) without parsing the JSON again; None when the event has no properties.
    properties: dict[str, Any] | None = None
    # The web columns (WEB_COLUMNS order) as they were stored before, taken instead of deriving
    # them: only a backfill sets them (``stored_web``), so no client can claim a country.
    web: tuple[str | None, ...] | None = None


@dataclass
class Batch:
    events: list[tuple[int, Event]] = field(default_factory=list)  # (index in request, event)
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"index", "error"}
    reasons: dict[str, int] = field(default_factory=dict)  # rejected-by-reason counts
    received: int = 0

    def reject(self, index: int, error: EventError) -> None:
        self.errors.append({"index": index, "error": error.message})
        self.reasons[error.reason] = self.reasons.get(error.reason, 0) + 1


# --- Body ------------------------------------------------------------------------------------


def decode_body(raw: bytes, content_encoding: str = "") -> bytes:
    """Undo gzip/deflate (by header or by magic bytes: some SDKs omit the header) within limits."""
    encoding = content_encoding.strip().lower()
    if encoding in {"gzip", "x-gzip"} or raw[:2] == b"\x1f\x8b":
        return _bounded_decompress(raw, zlib.MAX_WBITS | 16, "gzip")
    if encoding == "deflate":
        return _bounded_decompress(raw, zlib.MAX_WBITS, "deflate")
    if encoding not in {"", "identity"}:
        raise RequestError(
            415, f"Content-Encoding {content_encoding!r} is not supported; use gzip.", "unsupported_encoding"
        )
    return raw


def _bounded_decompress(raw: bytes, wbits: int, name: str) -> bytes:
    # A small compressed body can expand enormously; stop at the same limit as plain bodies.
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise RequestError(400, f"body is not valid {name} data: {exc}", "invalid_encoding") from None
    if len(out) > MAX_BODY_BYTES or decompressor.unconsumed_tail:
        raise RequestError(413, f"decompressed body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.", "too_large")
    if not decompressor.eof:
        raise RequestError(
            400, f"body is truncated {name} data: the stream ends before its end marker.", "invalid_encoding"
        )
    return out


def split_events(payload: Any) -> tuple[list[Any], Any]:
    """The list of raw events and the request-level ``sent_at`` from a native-API payload."""
    if isinstance(payload, list):
        raise RequestError(400, 'a JSON array is not accepted here; send {"events": [...]}.', "invalid_shape")
    if not isinstance(payload, dict):
        raise RequestError(400, 'body must be a JSON object: one event, or {"events": [...]}.', "invalid_shape")
    if "events" in payload:
        events = payload["events"]
        if not isinstance(events, list):
            raise RequestError(400, '"events" must be a list of event objects.', "invalid_shape")
        if not events:
            raise RequestError(400, '"events" is empty.', "invalid_shape")
        return events, payload.get("sent_at")
    return [payload], None


def check_count(events: list[Any]) -> None:
    if len(events) > MAX_EVENTS_PER_REQUEST:
        raise RequestError(
            413, f"{len(events)} events in one request; the limit is {MAX_EVENTS_PER_REQUEST}.", "too_large"
        )


# --- Native API events -----------------------------------------------------------------------


def _is_plain_text(value: Any, max_length: int) -> bool:
    # The common case of check_text in one expression; check_text explains anything else.
    return (
        type(value) is str
        and 0 < len(value) <= max_length
        and "\x00" not in value
        and (value.isascii() or not has_surrogate(value))
    )


def validate_native_event(
    raw: Any,
    *,
    received_at: dt.datetime,
    request_sent_at: dt.datetime | None,
    allowed_sources: frozenset[str] | None,
    stored_web: bool = False,
) -> Event:
    """Validate one event of the native API (``POST /api/v1/events``); with ``stored_web`` (the
    backfill), also its web columns as an export writes them (``stored_web_columns``).

    This runs for every event received, so the common shape of each field is accepted inline and
    the helpers (which word the errors) are called only for anything else.
    """
    if type(raw) is not dict:
        raise EventError(f"an event must be a JSON object, not {json_type(raw)}.", "invalid_shape")
    get = raw.get
    name = get("event")
    if name is None:
        name = get("event_name")
        if name is None:
            raise EventError("event is required (the event name, 1 to 200 characters).", "missing_event")
    if not _is_plain_text(name, MAX_EVENT_NAME):
        name = check_text(name, "event", max_length=MAX_EVENT_NAME)
    event_id = get("event_id")
    if type(event_id) is not str or CANONICAL_UUID.fullmatch(event_id) is None:
        event_id = check_event_id(event_id)
    user_id = get("user_id")
    if user_id is not None and not _is_plain_text(user_id, MAX_ID_LENGTH):
        user_id = check_text(user_id, "user_id", max_length=MAX_ID_LENGTH, allow_int=True)
    session_id = get("session_id")
    if session_id is not None and not _is_plain_text(session_id, MAX_ID_LENGTH):
        session_id = check_text(session_id, "session_id", max_length=MAX_ID_LENGTH, allow_int=True)
    source = get("source")
    if source is None:
        source = DEFAULT_SOURCE
    elif not _is_plain_text(source, 64):
        source = check_text(source, "source", max_length=64)
    if allowed_sources is not None and source not in allowed_sources:
        raise EventError(
            f"source {source!r} is not one of this project's event sources "
            f"({', '.join(sorted(allowed_sources)) or 'none defined'}).",
            "unknown_source",
        )
    ts_raw = get("timestamp")
    if ts_raw is None:
        ts_raw = get("occurred_at")
        timestamp = None if ts_raw is None else parse_timestamp(ts_raw, "occurred_at")
    else:
        timestamp = parse_timestamp(ts_raw, "timestamp")
    sent_at = request_sent_at
    if get("sent_at") is not None:
        sent_at = parse_timestamp(raw["sent_at"], "sent_at")
    properties = get("properties")
    properties_json = encode_properties(properties)
    if timestamp is None:
        timestamp = received_at
    elif sent_at is not None:
        timestamp = corrected_timestamp(timestamp, sent_at, received_at)
    if timestamp - received_at > MAX_FUTURE or timestamp < EARLIEST:
        check_in_range(timestamp, received_at)
    web = stored_web_columns(raw) if stored_web else None
    return Event(event_id, name, source, user_id, session_id, timestamp, properties_json, properties, web)


def stored_web_columns(raw: dict[str, Any]) -> tuple[str | None, ...] | None:
    """The web columns an event carries as stored values (an export's, read back by a backfill),
    or None when it carries none of them (they are then derived, as at capture).

    An event that names any of them names them all: one it leaves out, null or empty is NULL, as
    in the export (whose csv writes NULL as an empty cell)."""
    if not any(name in raw for name in WEB_COLUMNS):
        return None
    values = []
    for name in WEB_COLUMNS:
        value = raw.get(name)
        values.append(None if value is None or value == "" else check_text(value, name, max_length=MAX_WEB_VALUE))
    return tuple(values)


def validate_native_batch(
    raw_events: list[Any],
    *,
    received_at: dt.datetime,
    sent_at_raw: Any,
    allowed_sources: frozenset[str] | None,
    stored_web: bool = False,
) -> Batch:
    batch = Batch(received=len(raw_events))
    request_sent_at = None
    if sent_at_raw is not None:
        try:
            request_sent_at = parse_timestamp(sent_at_raw, "sent_at")
        except EventError as exc:
            raise RequestError(400, exc.message, "invalid_timestamp") from None
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_events):
        try:
            event = validate_native_event(
                raw,
                received_at=received_at,
                request_sent_at=request_sent_at,
                allowed_sources=allowed_sources,
                stored_web=stored_web,
            )
            first = seen.setdefault(event.event_id, index)
            if first != index:
                raise EventError(
                    f"event_id {event.event_id} appears twice in this batch (first at index "
                    f"{first}); it was taken once.",
                    "duplicate_in_batch",
                )
        except EventError as exc:
            batch.reject(index, exc)
            continue
        batch.events.append((index, event))
    return batch


# --- Native API: the fast path ---------------------------------------------------------------
#
# Nearly every request is a batch of well-formed events. msgspec decodes and type-checks such a
# body in C, about ten times faster than parsing it and checking each field in Python. The
# properties are decoded by msgspec and encoded again by orjson, both in C: no slower than
# keeping them as sent (``msgspec.Raw``, which this path did before, needed a UTF-8 pass of its
# own), and every value is checked on the way, which text kept as sent was not: a number beyond
# a double's range (PostgreSQL would store it, no reader could read it back), an integer beyond
# 64 bits, an unpaired surrogate, a deep document (msgspec stops with a RecursionError).
# Anything this path is not sure of — an error, an alias, a user id sent as a number, an
# upper-case UUID, a NUL escape, a large or deep properties object, a time outside
# 1970..tomorrow — makes it answer None, and the request takes the precise path above, which
# words the errors.

_Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]


class _FastEvent(msgspec.Struct):
    event: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EVENT_NAME)]
    event_id: Annotated[str, msgspec.Meta(pattern=f"^{CANONICAL_UUID.pattern}$")] | None = None
    user_id: _Text200 | None = None
    session_id: _Text200 | None = None
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    timestamp: Annotated[dt.datetime, msgspec.Meta(tz=True)] | None = None
    properties: dict[str, Any] | None = None
    # Present only to notice them: their rules live in the precise path.
    event_name: Any = None
    occurred_at: Any = None
    sent_at: Any = None


class _FastBatch(msgspec.Struct):
    events: list[_FastEvent]
    sent_at: Annotated[dt.datetime, msgspec.Meta(tz=True)] | None = None


_fast_decoder = msgspec.json.Decoder(_FastBatch)


def fast_native_batch(body: bytes, *, received_at: dt.datetime, allowed_sources: frozenset[str] | None) -> Batch | None:
    """The batch when every event of ``{"events": [...]}`` is valid and plain, else None."""
    if b"\\u0000" in body:
        return None
    try:
        decoded = _fast_decoder.decode(body)
        sent_at = None if decoded.sent_at is None else decoded.sent_at.astimezone(dt.UTC)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, OverflowError):
        return None
    raw_events = decoded.events
    if not raw_events or len(raw_events) > MAX_EVENTS_PER_REQUEST:
        return None
    batch = Batch(received=len(raw_events))
    seen: set[str] = set()
    for index, raw in enumerate(raw_events):
        if raw.event_name is not None or raw.occurred_at is not None or raw.sent_at is not None:
            return None
        source = raw.source or DEFAULT_SOURCE
        if allowed_sources is not None and source not in allowed_sources:
            return None
        event_id = raw.event_id or str(uuid.uuid4())
        if event_id in seen:
            return None
        seen.add(event_id)
        if raw.properties is None:
            properties = b"{}"
        else:
            try:
                properties = orjson.dumps(raw.properties)
            except TypeError:  # an integer beyond 64 bits
                return None
            if (
                len(properties) > MAX_PROPERTIES_BYTES
                or properties.count(b"{") + properties.count(b"[") > MAX_PROPERTIES_DEPTH
            ):
                return None
        timestamp = raw.timestamp
        if timestamp is None:
            timestamp = received_at
        else:
            try:
                timestamp = timestamp.astimezone(dt.UTC)
                if sent_at is not None:
                    timestamp = corrected_timestamp(timestamp, sent_at, received_at)
            except (OverflowError, EventError):
                return None
            if timestamp - received_at > MAX_FUTURE or timestamp < EARLIEST:
                return None
        batch.events.append(
            (
                index,
                Event(event_id, raw.event, source, raw.user_id, raw.session_id, timestamp, properties, raw.properties),
            )
        )
    return batch


def native_batch(body: bytes, *, received_at: dt.datetime, allowed_sources: frozenset[str] | None) -> Batch:
    """A native-API body as a batch: the fast path when it can vouch for every event, else the precise one.

    Raises ``RequestError`` when the whole request is unusable.
    """
    batch = fast_native_batch(body, received_at=received_at, allowed_sources=allowed_sources)
    if batch is not None:
        return batch
    raw_events, sent_at = split_events(parse_json(body))
    check_count(raw_events)
    return validate_native_batch(
        raw_events, received_at=received_at, sent_at_raw=sent_at, allowed_sources=allowed_sources
    )

"""Parsing and validating capture requests: bytes in, normalised events and precise errors out.

Pure functions with no I/O, so they are cheap to test and shared by every protocol adapter
(native API, PostHog, Segment, backfill). An invalid event never fails its batch: it becomes an
error entry naming what to fix, and the other events go on.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
import orjson

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_EVENTS_PER_REQUEST = 1000
MAX_EVENT_NAME = 200
MAX_ID_LENGTH = 200
MAX_PROPERTIES_BYTES = 32 * 1024
MAX_PROPERTIES_DEPTH = 16
MAX_FUTURE = dt.timedelta(days=1)
LATE_AFTER = dt.timedelta(days=1)
DEFAULT_SOURCE = "api"


class RequestError(Exception):
    """The whole request is unusable; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


class EventError(Exception):
    """One event is invalid; ``reason`` is a stable code for the ledger's rejected-by-reason."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


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
    return out


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise RequestError(400, 'body is empty; send a JSON event or {"events": [...]}.', "invalid_json")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    # Parse again with the standard library only to say where the problem is: orjson's
    # messages give a character offset, people need a line and column.
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise RequestError(400, "body is not valid UTF-8 JSON.", "invalid_json") from None
    except json.JSONDecodeError as exc:
        raise RequestError(
            400, f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.", "invalid_json"
        ) from None


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


# --- Fields ----------------------------------------------------------------------------------


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
    return parsed.astimezone(dt.UTC)


def check_text(value: Any, field_name: str, *, max_length: int, allow_int: bool = False) -> str:
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        kind = "a string or an integer" if allow_int else "a string"
        raise EventError(f"{field_name} must be {kind}, not {_json_type(value)}.", f"invalid_{field_name}")
    if not value or len(value) > max_length:
        raise EventError(f"{field_name} must be 1 to {max_length} characters long.", f"invalid_{field_name}")
    if "\x00" in value:
        raise EventError(f"{field_name} contains a NUL character.", "nul_character")
    if not value.isascii() and _SURROGATE.search(value):
        raise EventError(f"{field_name} {_SURROGATE_MESSAGE}", "invalid_text")
    return value


def _json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        bool: "a boolean",
        type(None): "null",
        int: "a number",
        float: "a number",
        str: "a string",
    }.get(type(value), type(value).__name__)


def check_object(value: Any, field_name: str = "properties") -> dict[str, Any]:
    """The value as a dict ({} for null), or an error naming the field; contents unchecked."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError(f"{field_name} must be a JSON object, not {_json_type(value)}.", "invalid_properties")
    return value


def encode_properties(value: Any, field_name: str = "properties") -> bytes:
    """Validate a properties object and return it as compact JSON: encoded once, carried on the
    Event as ``properties_json`` so that nothing downstream encodes it again."""
    value = check_object(value, field_name)
    if not value:
        return b"{}"
    encoded = dumps(value)
    # Cheap screens on the encoded text first: the tree walk (the slow, precise check) runs only
    # when the text could hide a NUL (JSON escapes it as \u0000) or enough brackets to nest
    # past the limit. Almost every event passes both screens.
    if b"\\u0000" in encoded or encoded.count(b"{") + encoded.count(b"[") > MAX_PROPERTIES_DEPTH:
        _check_tree(value, field_name, 1)
    if len(encoded) > MAX_PROPERTIES_BYTES:
        raise EventError(
            f"{field_name} is {len(encoded)} bytes as JSON; the limit is {MAX_PROPERTIES_BYTES} bytes.",
            "properties_too_large",
        )
    return encoded


_SURROGATE_MESSAGE = (
    "contains an unpaired UTF-16 surrogate (a \\ud800 to \\udfff escape without its pair), which is not "
    "text and cannot be stored."
)


def dumps(value: Any) -> bytes:
    """Compact JSON; falls back to the standard library for integers beyond 64 bits.

    The standard library also decodes what orjson refuses, such as a lone ``\\ud800`` escape: such
    a string cannot be encoded as UTF-8 (nor stored by PostgreSQL), which is the sender's error.
    """
    try:
        return orjson.dumps(value)
    except TypeError:
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise EventError(f"the event {_SURROGATE_MESSAGE}", "invalid_text") from None


def _check_tree(value: Any, path: str, depth: int) -> None:
    # PostgreSQL's jsonb cannot hold \u0000, and very deep documents are a denial-of-service shape.
    if depth > MAX_PROPERTIES_DEPTH:
        raise EventError(f"{path} is nested deeper than {MAX_PROPERTIES_DEPTH} levels.", "properties_too_deep")
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise EventError(f"a key in {path} contains a NUL character.", "nul_character")
            if isinstance(item, dict | list):
                _check_tree(item, f"{path}.{key}", depth + 1)
            elif isinstance(item, str) and "\x00" in item:
                raise EventError(f"{path}.{key} contains a NUL character.", "nul_character")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            if isinstance(item, dict | list):
                _check_tree(item, f"{path}[{n}]", depth + 1)
            elif isinstance(item, str) and "\x00" in item:
                raise EventError(f"{path}[{n}] contains a NUL character.", "nul_character")


_SURROGATE = re.compile("[\ud800-\udfff]")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_event_id(value: Any) -> str:
    if value is None:
        return str(uuid.uuid4())
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value  # the common case, without building a UUID object
    if not isinstance(value, str):
        raise EventError(f"event_id must be a UUID string, not {_json_type(value)}.", "invalid_event_id")
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
    return received_at - (sent_at - timestamp)


def check_not_future(timestamp: dt.datetime, received_at: dt.datetime) -> None:
    if timestamp - received_at > MAX_FUTURE:
        raise EventError(
            f"timestamp {timestamp.isoformat()} is more than 1 day in the future (server time "
            f"{received_at.isoformat(timespec='seconds')}).",
            "future_timestamp",
        )


# --- Native API events -----------------------------------------------------------------------


def _is_plain_text(value: Any, max_length: int) -> bool:
    # The common case of check_text in one expression; check_text explains anything else.
    return (
        type(value) is str
        and 0 < len(value) <= max_length
        and "\x00" not in value
        and (value.isascii() or _SURROGATE.search(value) is None)
    )


def validate_native_event(
    raw: Any,
    *,
    received_at: dt.datetime,
    request_sent_at: dt.datetime | None,
    allowed_sources: frozenset[str] | None,
) -> Event:
    """Validate one event of the native API (``POST /api/v1/events``).

    This runs for every event received, so the common shape of each field is accepted inline and
    the helpers (which word the errors) are called only for anything else.
    """
    if type(raw) is not dict:
        raise EventError(f"an event must be a JSON object, not {_json_type(raw)}.", "invalid_shape")
    get = raw.get
    name = get("event")
    if name is None:
        name = get("event_name")
        if name is None:
            raise EventError("event is required (the event name, 1 to 200 characters).", "missing_event")
    if not _is_plain_text(name, MAX_EVENT_NAME):
        name = check_text(name, "event", max_length=MAX_EVENT_NAME)
    event_id = get("event_id")
    if type(event_id) is not str or _CANONICAL_UUID.fullmatch(event_id) is None:
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
    properties_json = encode_properties(get("properties"))
    if timestamp is None:
        timestamp = received_at
    elif sent_at is not None:
        timestamp = corrected_timestamp(timestamp, sent_at, received_at)
    if timestamp - received_at > MAX_FUTURE:
        check_not_future(timestamp, received_at)
    return Event(event_id, name, source, user_id, session_id, timestamp, properties_json)


def validate_native_batch(
    raw_events: list[Any],
    *,
    received_at: dt.datetime,
    sent_at_raw: Any,
    allowed_sources: frozenset[str] | None,
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
                raw, received_at=received_at, request_sent_at=request_sent_at, allowed_sources=allowed_sources
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
# body in C, about ten times faster than parsing it and checking each field in Python; the
# properties are kept as the JSON text they arrived as (``msgspec.Raw``) instead of being built
# into dicts and encoded again. Anything this path is not sure of — an error, an alias, a user
# id sent as a number, an upper-case UUID, a NUL escape, a large or deep properties object —
# makes it answer None, and the request takes the precise path above, which words the errors.

_Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]
_NULL_JSON = msgspec.Raw(b"null")


class _FastEvent(msgspec.Struct):
    event: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EVENT_NAME)]
    event_id: Annotated[str, msgspec.Meta(pattern=f"^{_CANONICAL_UUID.pattern}$")] | None = None
    user_id: _Text200 | None = None
    session_id: _Text200 | None = None
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    timestamp: Annotated[dt.datetime, msgspec.Meta(tz=True)] | None = None
    properties: msgspec.Raw = _NULL_JSON
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
        # msgspec checks the UTF-8 of the strings it decodes, not of the properties it keeps raw.
        body.decode()
        decoded = _fast_decoder.decode(body)
    except (UnicodeDecodeError, msgspec.ValidationError, msgspec.DecodeError):
        return None
    raw_events = decoded.events
    if not raw_events or len(raw_events) > MAX_EVENTS_PER_REQUEST:
        return None
    sent_at = decoded.sent_at
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
        properties = bytes(raw.properties)
        if properties == b"null":
            properties = b"{}"
        elif (
            properties[:1] != b"{"
            or len(properties) > MAX_PROPERTIES_BYTES
            or properties.count(b"{") + properties.count(b"[") > MAX_PROPERTIES_DEPTH
        ):
            return None
        elif b"\\u" in properties:
            # Key names spelled with escapes ("\\u0024set") are normalised so the flusher's
            # screen for person properties ("$set") sees them as they are.
            try:
                properties = orjson.dumps(orjson.loads(properties))
            except orjson.JSONDecodeError:  # e.g. an unpaired surrogate: the precise path says so
                return None
        timestamp = raw.timestamp
        if timestamp is None:
            timestamp = received_at
        else:
            timestamp = timestamp.astimezone(dt.UTC)
            if sent_at is not None:
                timestamp = corrected_timestamp(timestamp, sent_at.astimezone(dt.UTC), received_at)
            if timestamp - received_at > MAX_FUTURE:
                return None
        batch.events.append(
            (index, Event(event_id, raw.event, source, raw.user_id, raw.session_id, timestamp, properties))
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

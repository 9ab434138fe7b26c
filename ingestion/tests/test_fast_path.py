"""The native API's fast path must agree with the precise path, and step aside whenever unsure."""

import datetime as dt
import json
import uuid

import orjson
import pytest

from ingestion.validation import fast_native_batch, native_batch, validate_native_batch

RECEIVED = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def _precise(body: dict, sources=None):
    return validate_native_batch(
        body["events"], received_at=RECEIVED, sent_at_raw=body.get("sent_at"), allowed_sources=sources
    )


def _fields(batch):
    return [
        (i, e.event_id, e.name, e.source, e.user_id, e.session_id, e.timestamp, orjson.loads(e.properties_json))
        for i, e in batch.events
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"events": [{"event": "pageview", "event_id": str(uuid.uuid4()), "user_id": "u1"}]},
        {
            "events": [
                {
                    "event": "purchase",
                    "event_id": str(uuid.uuid4()),
                    "user_id": "u2",
                    "session_id": "s1",
                    "source": "web",
                    "timestamp": "2026-05-01T13:59:00+02:00",
                    "properties": {"amount": 9.5, "items": [{"sku": "a"}], "note": 'tab\there \\ "q" 🎉'},
                },
                {"event": "click", "event_id": str(uuid.uuid4()), "timestamp": "2026-04-01T00:00:00Z"},
                {"event": "spaced", "event_id": str(uuid.uuid4()), "timestamp": "2026-05-01 11:00:00.5-03:30"},
            ]
        },
        {
            "sent_at": "2026-05-01T12:05:00Z",
            "events": [{"event": "late clock", "event_id": str(uuid.uuid4()), "timestamp": "2026-05-01T12:04:00Z"}],
        },
        {"events": [{"event": "$identify", "event_id": str(uuid.uuid4()), "user_id": "u", "properties": None}]},
    ],
)
def test_fast_path_agrees_with_the_precise_path(body):
    fast = fast_native_batch(json.dumps(body).encode(), received_at=RECEIVED, allowed_sources=None)
    assert fast is not None
    assert _fields(fast) == _fields(_precise(body))
    assert (fast.received, fast.errors, fast.reasons) == (len(body["events"]), [], {})


def test_properties_formatted_with_newlines_and_escaped_keys_are_kept_as_sent():
    body = b'{"events": [{"event": "e", "properties": {\n\t"\\u0024set": {"plan": "pro"},\r\n "k": [1, 2]\n}}]}'
    [(_, event)] = fast_native_batch(body, received_at=RECEIVED, allowed_sources=None).events
    assert orjson.loads(event.properties_json) == {"$set": {"plan": "pro"}, "k": [1, 2]}
    assert b'"$set"' in event.properties_json  # the flusher's screen for person work sees it


EVENT_ID = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"event_name": "alias"}, None),  # accepted, by the precise path
        ({"event": "e", "occurred_at": "2026-05-01T11:00:00Z"}, None),
        ({"event": "e", "sent_at": "2026-05-01T11:00:00Z"}, None),
        ({"event": "e", "user_id": 42}, None),
        ({"event": "e", "event_id": EVENT_ID.upper()}, None),
        ({"event": "e", "timestamp": "2026-05-01T11:00:00"}, "has no time zone"),
        ({"event": "e", "timestamp": "2026-05-03T11:00:00Z"}, "in the future"),
        ({"event": "nul\u0000"}, "NUL"),
        ({"event": "e", "properties": ["not", "an", "object"]}, "must be a JSON object"),
        ({"event": "e", "properties": {"deep": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}}, "nested deeper"),
        ({"event": "e", "properties": {"big": "x" * 40_000}}, "the limit is"),
        ({"event": "e", "source": "tv"}, "not one of this project's event sources"),
        ({"event": ""}, "1 to 200"),
    ],
)
def test_anything_unusual_takes_the_precise_path(event, error):
    body = {"events": [{"event": "fine", "event_id": str(uuid.uuid4())}, {"event_id": str(uuid.uuid4()), **event}]}
    raw = json.dumps(body).encode()
    sources = frozenset({"api", "web"})
    assert fast_native_batch(raw, received_at=RECEIVED, allowed_sources=sources) is None
    batch = native_batch(raw, received_at=RECEIVED, allowed_sources=sources)
    assert _fields(batch) == _fields(_precise(body, sources))
    if error is None:
        assert len(batch.events) == 2 and not batch.errors
    else:
        assert [e["index"] for e in batch.errors] == [1] and error in batch.errors[0]["error"]
        assert len(batch.events) == 1  # the good neighbour is still taken


def test_duplicate_ids_in_one_batch_are_reported_by_the_precise_path():
    body = {"events": [{"event": "a", "event_id": EVENT_ID}, {"event": "b", "event_id": EVENT_ID}]}
    raw = json.dumps(body).encode()
    assert fast_native_batch(raw, received_at=RECEIVED, allowed_sources=None) is None
    batch = native_batch(raw, received_at=RECEIVED, allowed_sources=None)
    assert len(batch.events) == 1 and "appears twice" in batch.errors[0]["error"]


def test_a_single_event_body_is_not_for_the_fast_path():
    raw = json.dumps({"event": "solo"}).encode()
    assert fast_native_batch(raw, received_at=RECEIVED, allowed_sources=None) is None
    assert [e.name for _, e in native_batch(raw, received_at=RECEIVED, allowed_sources=None).events] == ["solo"]

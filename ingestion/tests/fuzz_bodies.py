"""Hypothesis strategies for capture bodies: JSON with every shape a sender can get wrong.

Bodies are built as JSON *text*, not through ``json.dumps``, so that what a serializer would never
write is in reach: duplicate keys, ``1e400``, ``NaN``, unpaired surrogate escapes, a NUL escape,
raw bytes that are not UTF-8, nesting thousands of levels deep. Known fields take either a
plausible value or any JSON at all, so that both the accepting paths and every type check are hit.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import zlib

from hypothesis import strategies as st

ODD_NUMBERS = [
    "0",
    "-0",
    "0.1",
    "1e-400",
    "1e400",
    "-1E+400",
    "1.7976931348623157e308",
    "1.8e308",
    "9" * 400,
    "9" * 5000,
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    str(-(2**63) - 1),
    str(2**70),
    "NaN",
    "Infinity",
    "-Infinity",
    "01",
    "1.",
    "+1",
]
ODD_STRINGS = [
    '""',
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\ud83d\\ude00"',
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\u0024set"',
    '"\\\\"',
    '"\\t\\n\\r"',
    '"\\u2028"',
    '"\\ufeff"',
    '"x' + "y" * 40_000 + '"',
]
# Code points of every category, unpaired surrogates included.
_ANY_CHAR = st.characters(exclude_categories=())

numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(ODD_NUMBERS),
)
strings = st.one_of(
    st.text(_ANY_CHAR, max_size=12).map(json.dumps),  # escaped: \\ud800 for a surrogate
    st.text(_ANY_CHAR, max_size=12).map(lambda s: json.dumps(s, ensure_ascii=False)),  # raw
    st.sampled_from(ODD_STRINGS),
)
# A small set of keys, so that duplicates are frequent.
keys = st.one_of(st.sampled_from(['"a"', '"k"', '"$set"', '"token"', '"distinct_id"', '"\\u0000"']), strings)
leaves = st.one_of(st.sampled_from(["null", "true", "false"]), numbers, strings)


def _array(items: list[str]) -> str:
    return "[" + ",".join(items) + "]"


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"


any_json = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(_array),
        st.lists(st.tuples(keys, children), max_size=4).map(_object),
    ),
    max_leaves=12,
)


@st.composite
def deep_json(draw) -> str:
    depth = draw(st.sampled_from([15, 16, 17, 255, 256, 1023, 1025, 5000]))
    opening, closing = draw(st.sampled_from([('{"a":', "}"), ("[", "]")]))
    balanced = draw(st.booleans())
    return opening * depth + "1" + (closing * depth if balanced else "")


def _instant(moment: dt.datetime) -> str:
    return json.dumps(moment.isoformat())


timestamps = st.one_of(
    st.just(dt.datetime.now(dt.UTC)).map(_instant),
    st.datetimes(timezones=st.timezones()).map(_instant),  # from year 1 to 9999, any zone
    st.datetimes().map(_instant),  # no zone
    st.sampled_from(['"yesterday"', '"2024-02-30T00:00:00Z"', '"0001-01-01T00:00:00+14:00"']),
)
plain_properties = st.dictionaries(
    st.text(max_size=8),
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text()),
    max_size=5,
).map(json.dumps)
properties = st.one_of(plain_properties, any_json, deep_json())
uuids = st.uuids().map(lambda u: json.dumps(str(u)))
names = st.sampled_from(['"pageview"', '"$identify"', '"$create_alias"', '"signup"'])
ids = st.sampled_from(['"u1"', '"u2"', "42", '"anon-1"'])


def _field(value: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly a plausible value, sometimes any JSON at all."""
    return st.one_of(value, value, any_json)


def message(fields: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    return st.fixed_dictionaries({}, optional={json.dumps(k): _field(v) for k, v in fields.items()}).map(
        lambda d: _object(list(d.items()))
    )


native_event = message(
    {
        "event": names,
        "event_id": uuids,
        "user_id": ids,
        "session_id": ids,
        "source": st.just('"api"'),
        "timestamp": timestamps,
        "sent_at": timestamps,
        "properties": properties,
        "occurred_at": timestamps,
    }
)
posthog_event = message(
    {
        "event": names,
        "distinct_id": ids,
        "uuid": uuids,
        "timestamp": timestamps,
        "offset": numbers,
        "properties": properties,
        "$set": plain_properties,
        "$set_once": plain_properties,
        "options": st.just('{"disable_skew_correction":true}'),
    }
)
segment_message = message(
    {
        "type": st.sampled_from(['"track"', '"identify"', '"page"', '"screen"', '"group"', '"alias"']),
        "event": names,
        "userId": ids,
        "anonymousId": ids,
        "messageId": strings,
        "timestamp": timestamps,
        "sentAt": timestamps,
        "properties": properties,
        "context": properties,
        "traits": plain_properties,
        "name": strings,
        "groupId": ids,
        "previousId": ids,
    }
)


def _batch(envelope: str, items: st.SearchStrategy[str], sent_at: str) -> st.SearchStrategy[str]:
    return st.tuples(st.lists(items, min_size=1, max_size=5), st.one_of(st.none(), timestamps)).map(
        lambda t: _object([(f'"{envelope}"', _array(t[0]))] + ([(f'"{sent_at}"', t[1])] if t[1] else []))
    )


native_bodies = st.one_of(native_event, _batch("events", native_event, "sent_at"), any_json, deep_json())
posthog_bodies = st.one_of(
    posthog_event, _batch("batch", posthog_event, "sent_at"), st.lists(posthog_event, max_size=4).map(_array), any_json
)
segment_bodies = st.one_of(segment_message, _batch("batch", segment_message, "sentAt"), any_json)


def encode(text: str) -> bytes:
    # surrogatepass: a raw (unescaped) surrogate becomes the bytes no UTF-8 decoder accepts.
    return text.encode("utf-8", "surrogatepass")


@st.composite
def mutated(draw, bodies: st.SearchStrategy[str]) -> bytes:
    """A body, then a few byte-level edits: cut, insert, replace, duplicate."""
    data = bytearray(encode(draw(bodies)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["cut", "insert", "replace", "duplicate", "truncate"]))
        if kind == "cut":
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"{", b"}", b"[", b",", b'"', b"\\", b"\x00", b"\xff", b"e9"]))
        elif kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 40))]
        else:
            del data[at:]
    return bytes(data)


@st.composite
def wire(draw, body: bytes) -> tuple[bytes, dict[str, str]]:
    """The body as sent: plain, gzip or deflate (possibly cut short), or with an unknown encoding."""
    kind = draw(st.sampled_from(["plain", "plain", "gzip", "gzip-cut", "gzip-unannounced", "deflate", "br"]))
    if kind == "gzip":
        return gzip.compress(body), {"HTTP_CONTENT_ENCODING": "gzip"}
    if kind == "gzip-cut":
        packed = gzip.compress(body)
        return packed[: draw(st.integers(0, len(packed)))], {"HTTP_CONTENT_ENCODING": "gzip"}
    if kind == "gzip-unannounced":  # posthog-js: detected by its magic bytes
        return gzip.compress(body), {}
    if kind == "deflate":
        return zlib.compress(body), {"HTTP_CONTENT_ENCODING": "deflate"}
    if kind == "br":
        return body, {"HTTP_CONTENT_ENCODING": "br"}
    return body, {}


@st.composite
def posthog_wire(draw, body: bytes) -> tuple[bytes, str]:
    """PostHog's own envelopes: base64, a form field, LZString (fuzzed: there is no encoder here)."""
    kind = draw(st.sampled_from(["json", "json", "base64", "form", "form-base64", "lz64"]))
    if kind == "base64":
        return base64.b64encode(body), ""
    if kind == "form":
        return b"data=" + body, ""
    if kind == "form-base64":
        return b"data=" + base64.urlsafe_b64encode(body), "&compression=base64"
    if kind == "lz64":
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= "
        return encode(draw(st.text(alphabet, max_size=60))), "&compression=lz64"
    return body, ""

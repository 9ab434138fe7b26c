"""JSON in and out of the capture API: parsing bodies, and the values an event may carry.

Every accepted event is stored in a PostgreSQL ``jsonb`` column and read back with orjson (by the
flusher's person updates and by the reporting API). A value that either of them cannot take is
refused here, per event and with its path, so that nothing accepted can fail at flush time,
where it would hold a whole batch back:

- a NUL character: neither jsonb nor PostgreSQL text can hold one;
- an unpaired UTF-16 surrogate (a lone ``\\ud800`` escape): not text, UTF-8 cannot encode it;
- a number beyond a double's range (``1e400``): jsonb would store it, no reader could read it back;
- nesting deeper than ``MAX_PROPERTIES_DEPTH``.

Integers beyond 64 bits become doubles, as orjson reads them, whichever parser reads the body.
Of duplicate keys the last one wins, as in jsonb.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from ingestion.errors import EventError, RequestError

MAX_PROPERTIES_BYTES = 32 * 1024
MAX_PROPERTIES_DEPTH = 16
_MAX_SHOWN_KEY = 40

_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_MESSAGE = (
    "contains an unpaired UTF-16 surrogate (a \\ud800 to \\udfff escape without its pair), which is not "
    "text and cannot be stored."
)


class NumberOutOfRange:
    """A JSON number beyond a double's range, as it was sent: kept so that its event is refused
    with a message that names it, instead of the whole request."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def has_surrogate(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


# --- Parsing ---------------------------------------------------------------------------------


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise RequestError(400, 'body is empty; send a JSON event or {"events": [...]}.', "invalid_json")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if exc.msg.startswith("depth limit"):
            # Never handed to the standard library: its parser recurses in C, one frame per level.
            raise _too_deep() from None
    return _parse_precisely(body)


def _too_deep() -> RequestError:
    return RequestError(
        400,
        f"body is nested too deeply to read; properties may be nested {MAX_PROPERTIES_DEPTH} levels deep at most.",
        "too_deep",
    )


def _parse_precisely(body: bytes) -> Any:
    # The standard library says where a syntax error is (orjson gives a character offset, people
    # need a line and column), and reads what orjson refuses but a sender can fix per event: an
    # unpaired surrogate escape, a number beyond a double's range. Those events are refused later,
    # each with its own message, and the rest of the batch goes on.
    try:
        text = body.decode(json.detect_encoding(body))
    except UnicodeDecodeError as exc:
        raise RequestError(
            400, f"body is not valid UTF-8 JSON (an invalid byte at offset {exc.start}).", "invalid_json"
        ) from None
    try:
        return json.loads(text, parse_int=_integer, parse_float=_double, parse_constant=_not_json)
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError as exc:
        raise RequestError(
            400, f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.", "invalid_json"
        ) from None


def _integer(text: str) -> int | float | NumberOutOfRange:
    # As orjson reads integers: exact within 64 bits (signed or unsigned), a double beyond.
    if len(text) < 19:
        return int(text)
    if len(text) <= 20:
        value = int(text)
        if -(2**63) <= value < 2**64:
            return value
    return _double(text)


def _double(text: str) -> float | NumberOutOfRange:
    value = float(text)
    return value if math.isfinite(value) else NumberOutOfRange(text)


def _not_json(name: str) -> None:
    raise RequestError(
        400, f"body is not valid JSON: {name} is not a JSON number; send null or a string.", "invalid_json"
    )


# --- Encoding --------------------------------------------------------------------------------


def dumps(value: Any) -> bytes:
    """Compact JSON for answers: never fails (a surrogate quoted back to its sender is escaped)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), default=repr).encode()


def encode_value(value: Any, path: str, *, depth: int = 1) -> bytes:
    """``value`` as compact JSON that jsonb and orjson both take, or an ``EventError`` naming what to fix.

    ``depth`` is the nesting level of ``value`` itself: 1 for a properties object, 0 for a message
    whose members become properties.
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: a surrogate, a number out of range, or deep nesting
        pass
    check_tree(value, path, depth=depth)
    raise EventError(f"{path or 'the message'} cannot be encoded as JSON.", "invalid_properties")


def check_tree(value: Any, path: str, *, depth: int = 1) -> None:
    """Raise ``EventError`` for the first value in the tree that cannot be stored (see the module doc).

    A loop over a stack rather than recursion: the check must not itself fail on a deep document.
    """
    stack = [(value, path, depth)]
    while stack:
        node, where, level = stack.pop()
        if level > MAX_PROPERTIES_DEPTH:
            raise EventError(
                f"{where or 'the message'} is nested deeper than {MAX_PROPERTIES_DEPTH} levels.", "properties_too_deep"
            )
        if isinstance(node, dict):
            for key, item in node.items():
                if "\x00" in key:
                    raise EventError(f"a key in {where or 'the message'} contains a NUL character.", "nul_character")
                if has_surrogate(key):
                    raise EventError(f"a key in {where or 'the message'} {SURROGATE_MESSAGE}", "invalid_text")
                shown = key if len(key) <= _MAX_SHOWN_KEY else key[:_MAX_SHOWN_KEY] + "…"
                _check_item(item, f"{where}.{shown}" if where else shown, level, stack)
        elif isinstance(node, list):
            for n, item in enumerate(node):
                _check_item(item, f"{where}[{n}]", level, stack)


def _check_item(item: Any, where: str, level: int, stack: list) -> None:
    if isinstance(item, dict | list):
        stack.append((item, where, level + 1))
    elif isinstance(item, str):
        if "\x00" in item:
            raise EventError(f"{where} contains a NUL character.", "nul_character")
        if has_surrogate(item):
            raise EventError(f"{where} {SURROGATE_MESSAGE}", "invalid_text")
    elif isinstance(item, NumberOutOfRange):
        raise EventError(
            f"{where} is {item.text[:40]}, beyond the range of a double (±1.8e308); send it as a string.",
            "number_out_of_range",
        )
    elif type(item) is int and not -(2**63) <= item < 2**64:  # orjson writes 64 bits at most
        raise EventError(f"{where} is an integer beyond 64 bits; send it as a string.", "number_out_of_range")


# --- Properties ------------------------------------------------------------------------------


def json_type(value: Any) -> str:
    """How an error names the type of a JSON value."""
    return {
        dict: "an object",
        list: "an array",
        bool: "a boolean",
        type(None): "null",
        int: "a number",
        float: "a number",
        str: "a string",
        NumberOutOfRange: "a number beyond a double's range",
    }.get(type(value), type(value).__name__)


def check_object(value: Any, field_name: str = "properties") -> dict[str, Any]:
    """The value as a dict ({} for null), or an error naming the field; contents unchecked."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError(f"{field_name} must be a JSON object, not {json_type(value)}.", "invalid_properties")
    return value


def encode_properties(value: Any, field_name: str = "properties") -> bytes:
    """Validate a properties object and return it as compact JSON: encoded once, carried on the
    Event as ``properties_json`` so that nothing downstream encodes it again."""
    value = check_object(value, field_name)
    if not value:
        return b"{}"
    encoded = encode_value(value, field_name)
    # Cheap screens on the encoded text first: the tree walk (the slow, precise check) runs only
    # when the text could hide a NUL (JSON escapes it as \u0000) or enough brackets to nest
    # past the limit. Almost every event passes both screens.
    if b"\\u0000" in encoded or encoded.count(b"{") + encoded.count(b"[") > MAX_PROPERTIES_DEPTH:
        check_tree(value, field_name)
    if len(encoded) > MAX_PROPERTIES_BYTES:
        raise EventError(
            f"{field_name} is {len(encoded)} bytes as JSON; the limit is {MAX_PROPERTIES_BYTES} bytes.",
            "properties_too_large",
        )
    return encoded

"""The stream record: one accepted event, already in the text form PostgreSQL's COPY reads.

The capture API validates and encodes each event once, here; the flusher then only adds what it
alone knows (project, server session, receive time) and hands the lines to COPY without parsing
or re-encoding them. A record is one line of tab-separated fields, each escaped for COPY's text
format, so it can hold neither a raw newline nor a raw tab:

    <ts µs> \t <user id> \t <session id or empty> \t <flag> \t <body>

``body`` is the COPY row of ``BODY_COLUMNS``: the event, the client's IP and user agent, then the
web columns derived at capture (events.models.WEB_COLUMNS, ingestion.enrichment). An entry holding
records of that shape says so (``VERSION`` in its ``v`` field); records of entries buffered before
the web columns existed end at the user agent and are padded by ``padded_to_current``.

The leading fields are what the flusher reads: the timestamp (partitions, session order), the
user and client session (server sessions) and a flag, ``i`` when the event may carry person work
(identify, alias, ``$set``) and ``-`` otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.clock import from_micros
from events.models import WEB_COLUMNS
from persons.services import CREATE_ALIAS, IDENTIFY

BODY_COLUMNS = (
    "event_id",
    "event_name",
    "source",
    "user_id",
    "is_anonymous",
    '"timestamp"',
    "properties",
    "ip",
    "user_agent",
    *WEB_COLUMNS,
)
NULL = "\\N"
VERSION = "2"  # records carry the web columns
_NO_WEB_FIELDS = f"\t{NULL}" * len(WEB_COLUMNS)
EMPTY_WEB = _NO_WEB_FIELDS[1:]  # ``web`` of an event with nothing derived
PERSON_WORK = "i"
NO_PERSON_WORK = "-"

_IDENTITY_NAMES = frozenset({IDENTIFY, CREATE_ALIAS})
_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPED = re.compile(r"\\(.)")
_UNESCAPE = {"t": "\t", "n": "\n", "r": "\r"}


@dataclass
class Entry:
    """One stream entry as the flusher reads it: its records, split, with where and when they came."""

    stream: str
    entry_id: str
    project_id: int
    received_us: int
    records: list[list[str]]  # split() of each event


def copy_escape(text: str) -> str:
    """``text`` as a field of COPY's text format (backslash, tab, newline and CR escaped)."""
    if _SPECIAL.search(text) is None:
        return text
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_unescape(field: str) -> str | None:
    if field == NULL:
        return None
    if "\\" not in field:
        return field
    return _ESCAPED.sub(lambda m: _UNESCAPE.get(m.group(1)) or m.group(1), field)


def client_fields(ip: str | None, user_agent: str | None) -> str:
    """The last two body fields, the same for every event of a request: escaped once per request."""
    if user_agent is not None and "\x00" in user_agent:
        # COPY cannot carry a NUL in any form; gunicorn refuses such a header, other servers may not.
        user_agent = user_agent.replace("\x00", "")
    return f"{NULL if ip is None else copy_escape(ip)}\t{NULL if user_agent is None else copy_escape(user_agent)}"


@lru_cache(maxsize=8192)  # a site's events repeat a few pages, browsers and countries
def web_fields(values: tuple[str | None, ...]) -> str:
    """The web columns' fields of a record, from ``ingestion.enrichment.enrich``'s values."""
    return "\t".join(NULL if value is None else copy_escape(value) for value in values)


def padded_to_current(record: str) -> str:
    """A record of an entry buffered before the web columns (no ``v`` field), with them empty."""
    return record + _NO_WEB_FIELDS


def encode(
    ts_us: int,
    timestamp_iso: str,
    event_id: str,
    name: str,
    source: str,
    user_id: str,
    anonymous: bool,
    session_id: str | None,
    properties_json: str,
    client: str,
    web: str,
) -> str:
    """One record; ``client`` comes from ``client_fields``, ``web`` from ``web_fields``.

    Positional: this runs for every event accepted."""
    if _SPECIAL.search(f"{name}{source}{user_id}{session_id or ''}") is not None:
        name, source, user_id = copy_escape(name), copy_escape(source), copy_escape(user_id)
        session_id = copy_escape(session_id) if session_id else session_id
    properties_json = copy_escape(properties_json)  # JSON as sent may hold raw newlines between tokens
    person_work = not anonymous and (name in _IDENTITY_NAMES or '"$set' in properties_json)
    return (
        f"{ts_us}\t{user_id}\t{session_id or ''}\t{PERSON_WORK if person_work else NO_PERSON_WORK}\t"
        f"{event_id}\t{name}\t{source}\t{user_id}\t{'t' if anonymous else 'f'}\t{timestamp_iso}\t"
        f"{properties_json}\t{client}\t{web}"
    )


def split(record: str) -> list[str]:
    """``[ts µs, user, session, flag, body]`` (all still COPY-escaped)."""
    parts = record.split("\t", 4)
    if len(parts) != 5:
        raise ValueError(f"a stream record has {len(parts)} of its 5 parts")
    return parts


def person_fields(ts_us: int, body: str) -> dict[str, Any]:
    """The event in the shape ``persons.services.identity_op_of`` reads, from a record's body."""
    import orjson

    event_id, name, _source, user, anonymous, _ts, properties, _rest = body.split("\t", 7)
    return {
        "id": event_id,
        "n": copy_unescape(name),
        "u": copy_unescape(user),
        "a": anonymous == "t",
        "t": ts_us,
        "p": orjson.loads(copy_unescape(properties) or "{}"),
    }


def from_legacy(event: dict[str, Any]) -> str:
    """A record from an entry buffered before records existed (a JSON object per event)."""

    import orjson

    properties = event.get("p")
    if not isinstance(properties, str):
        properties = orjson.dumps(properties).decode() if properties else "{}"
    ts_us = int(event["t"])
    timestamp = from_micros(ts_us)
    return encode(
        ts_us,
        timestamp.isoformat(),
        str(event["id"]),
        event["n"],
        event["s"],
        event["u"],
        bool(event["a"]),
        event.get("sid"),
        properties,
        client_fields(event.get("ip"), event.get("ua")),
        EMPTY_WEB,
    )

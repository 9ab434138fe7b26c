"""Raw events that match filters, for the export endpoint: pages in (timestamp, event_id) order,
or one streamed read of the whole range.

Instants leave DuckDB as epoch microseconds (its TIMESTAMPTZ values would need pytz to become
Python datetimes) and properties as JSON text.

``EXPORT_COLUMNS`` is the export's row shape, which the reporting layer's PostgreSQL reads, its
writers (json, csv, ndjson), its output serializer and a person's timeline share.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import orjson

from analytics.query.source import EventScope, events_relation
from core.clock import EPOCH
from events.duck import duckdb_cursor
from events.models import WEB_COLUMNS

# The event's fields, then the web columns derived at capture in their table order (null when
# unset): new columns go at the end, so a reader of the csv by position keeps working.
EXPORT_COLUMNS = (
    "event_id",
    "event",
    "source",
    "user_id",
    "is_anonymous",
    "session_id",
    "timestamp",
    "received_at",
    "properties",
    *WEB_COLUMNS,
)
EXPORT_SELECT = (
    "SELECT event_id, event_name, source, user_id, is_anonymous, session_id, epoch_us(ts), epoch_us(received_at), "
    f"properties, {', '.join(WEB_COLUMNS)} FROM ev"
)


def _instant(micros: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=micros)


def _row(row: tuple) -> dict[str, Any]:
    eid, name, source, user_id, anonymous, session, ts, received, properties, *web = row
    values = (
        eid,
        name,
        source,
        user_id,
        anonymous,
        session,
        _instant(ts),
        _instant(received),
        orjson.loads(properties),
        *web,
    )
    return dict(zip(EXPORT_COLUMNS, values, strict=True))


def export_page(
    scope: EventScope, *, limit: int, after: tuple[dt.datetime, str] | None
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` matching events after the keyset ``after``; and whether more follow."""
    relation, params = events_relation(scope)
    keyset = ""
    if after is not None:
        micros = (after[0] - EPOCH) // dt.timedelta(microseconds=1)
        keyset = " WHERE epoch_us(ts) > ? OR (epoch_us(ts) = ? AND event_id > ?)"
        params = [*params, micros, micros, uuid.UUID(after[1])]
    cur = duckdb_cursor()
    try:
        cur.execute(f"SET TimeZone = '{scope.tz.key}'")
        rows = cur.execute(
            f"WITH ev AS ({relation}) {EXPORT_SELECT}{keyset} ORDER BY ts, event_id LIMIT ?", [*params, limit + 1]
        ).fetchall()
    finally:
        cur.close()
    return [_row(row) for row in rows[:limit]], len(rows) > limit


def export_iter(scope: EventScope, *, chunk: int = 5000) -> Iterator[dict[str, Any]]:
    """Every matching event in order, from one query read in chunks (never the range in memory)."""
    relation, params = events_relation(scope)
    cur = duckdb_cursor()
    try:
        cur.execute(f"SET TimeZone = '{scope.tz.key}'")
        cur.execute(f"WITH ev AS ({relation}) {EXPORT_SELECT} ORDER BY ts, event_id", params)
        while rows := cur.fetchmany(chunk):
            yield from (_row(row) for row in rows)
    finally:
        cur.close()

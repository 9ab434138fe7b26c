"""Storing rows in ``events``, each once: COPY straight in, or skip the rows already stored.

Fast path: COPY the caller's text into ``events`` inside a savepoint, at the speed of a bare COPY.
If any row is already stored (an entry replayed after a crash, or a retry the ingest dedupe
window missed), the unique key ``(project_id, event_id, timestamp)`` refuses the COPY; the
savepoint is rolled back and the rows go through a temporary table and ``INSERT … ON CONFLICT
DO NOTHING``, which skips those rows and says which went in.

The writer runs in the caller's transaction, on the caller's cursor: whatever must commit with
the events (the ingestion ledger, persons, the dirty-day markers) commits with them or not at
all. It does no work per row in Python; the caller hands over the rows as COPY text already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import psycopg
from django.db import IntegrityError, transaction
from django.db.backends.utils import CursorWrapper

from events.partitions import ensure_partitions, forget_known_partitions

T = TypeVar("T")

# The slow path's staging table: the events' columns and defaults, emptied at every commit.
_BUFFER_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS events_write_buffer (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)

# Inserts what is not stored yet and reports it in a few rows: per project and receive time, the
# rows inserted and, of the watched event ids, those that were new.
_INSERT_SQL = """
WITH inserted AS (
    INSERT INTO events ({columns})
    SELECT {columns} FROM events_write_buffer
    ON CONFLICT DO NOTHING
    RETURNING project_id, received_at, event_id
)
SELECT project_id,
       (extract(epoch FROM received_at) * 1000000)::bigint,
       count(*),
       coalesce(array_agg(event_id::text) FILTER (WHERE event_id = ANY(%s::uuid[])), '{{}}')
FROM inserted
GROUP BY 1, 2
"""


@dataclass(frozen=True)
class Written:
    """What ``events_write`` stored.

    ``all_new``: the COPY took every row (the fast path); the caller knows what it handed over,
    so nothing else is counted. Otherwise some rows were stored already and were skipped:
    ``inserted`` counts the rows really inserted per (project id, receive time in µs since the
    epoch), and ``watched`` holds the (project id, event id) of the watched events that were new.
    """

    all_new: bool
    inserted: dict[tuple[int, int], int] = field(default_factory=dict)
    watched: frozenset[tuple[int, str]] = frozenset()


ALL_NEW = Written(all_new=True)


def events_write(
    cursor: CursorWrapper,
    *,
    text: str,
    columns: Sequence[str],
    days: Iterable[dt.date],
    watch: Iterable[str] = (),
) -> Written:
    """Store ``text``, rows of ``columns`` in COPY's text format, in ``events``; skip stored rows.

    ``columns`` must include ``project_id``, ``event_id`` and ``received_at``; ``days`` are the
    UTC days the rows fall on (their partitions are created if missing). ``watch`` is only read
    when some rows were already stored: the event ids whose being new the caller needs to know
    (ingestion applies person updates only for rows really inserted). Call inside a transaction,
    with a cursor of Django's connection.
    """
    ensure_partitions(days, cursor=cursor)
    names = ", ".join(columns)
    try:
        with transaction.atomic(), cursor.copy(f"COPY events ({names}) FROM STDIN") as copy:
            copy.write(text)
        return ALL_NEW
    except (IntegrityError, psycopg.errors.UniqueViolation):
        pass
    cursor.execute(_BUFFER_SQL)
    with cursor.copy(f"COPY events_write_buffer ({names}) FROM STDIN") as copy:
        copy.write(text)
    cursor.execute(_INSERT_SQL.format(columns=names), [list(watch)])
    inserted: dict[tuple[int, int], int] = {}
    watched: set[tuple[int, str]] = set()
    for project_id, received_us, count, new_ids in cursor.fetchall():
        inserted[(project_id, received_us)] = count
        watched.update((project_id, event_id) for event_id in new_ids)
    return Written(all_new=False, inserted=inserted, watched=frozenset(watched))


def events_write_retrying(store: Callable[[], T]) -> T:
    """Run ``store``, a whole transaction that writes events, once more if a partition was dropped.

    Retention, in another process, may drop a partition this process still has cached as
    existing; the write then fails ("no partition of relation … found for row") and takes its
    transaction with it. The cache is forgotten and the transaction run again, which creates the
    partition anew.
    """
    try:
        return store()
    except psycopg.errors.CheckViolation as exc:
        if "no partition" not in str(exc):
            raise
        forget_known_partitions()
        return store()

"""Daily partitions of ``events``: named ``events_pYYYYMMDD``, bounded by UTC midnights.

Partitions are created ahead by a scheduled job and on demand, inside the flush transaction,
for any day a batch touches (late and backfilled events land in their own day). There is no
default partition: one would have to be scanned, under lock, every time a new day is attached.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection as default_connection
from django.db import transaction

from core import locks

_known: set[dt.date] = set()
_known_lock = threading.Lock()


def partition_name(day: dt.date) -> str:
    return f"events_p{day:%Y%m%d}"


def _create_sql(day: dt.date) -> str:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF events "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )


def ensure_partitions(days: Iterable[dt.date], *, cursor: Any = None) -> list[dt.date]:
    """Make sure a partition exists for each day; returns the days that were created.

    Safe under concurrency: creation is serialised by a transaction-scoped advisory lock, so two
    workers flushing the same new day do not race on CREATE TABLE. Call inside a transaction.
    """
    missing = sorted(set(days) - _known)
    if not missing:
        return []
    own_cursor = cursor is None
    cur = cursor or default_connection.cursor()
    try:
        cur.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'events'::regclass AND c.relname = ANY(%s)",
            [[partition_name(day) for day in missing]],
        )
        existing = {row[0] for row in cur.fetchall()}
        created = []
        to_create = [day for day in missing if partition_name(day) not in existing]
        if to_create:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [locks.PARTITIONS])
            for day in to_create:
                cur.execute(_create_sql(day))
                created.append(day)
    finally:
        if own_cursor:
            cur.close()
    with _known_lock:
        _known.update(day for day in missing if day not in created)
    # A partition created here exists only if this transaction commits: remember it only then,
    # or a rolled-back batch would leave the cache claiming a partition that is not there.
    transaction.on_commit(lambda: _remember(created))
    return created


def _remember(days: list[dt.date]) -> None:
    with _known_lock:
        _known.update(days)


def forget_known_partitions() -> None:
    """Drop the in-process cache (after partitions were dropped, e.g. by retention or tests)."""
    with _known_lock:
        _known.clear()


def create_upcoming_partitions(*, days_ahead: int = 7, today: dt.date | None = None) -> list[dt.date]:
    start = today or dt.datetime.now(dt.UTC).date()
    with transaction.atomic():
        return ensure_partitions(start + dt.timedelta(days=n) for n in range(-1, days_ahead + 1))


@dataclass(frozen=True)
class PartitionInfo:
    name: str
    day: dt.date
    total_bytes: int
    estimated_rows: int


def list_partitions() -> list[PartitionInfo]:
    with default_connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), GREATEST(c.reltuples, 0)::bigint "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'events'::regclass ORDER BY c.relname"
        )
        rows = cur.fetchall()
    return [
        PartitionInfo(
            name=name,
            day=dt.date.fromisoformat(name[len("events_p") :]),  # YYYYMMDD is ISO basic format
            total_bytes=size,
            estimated_rows=rows_,
        )
        for name, size, rows_ in rows
    ]

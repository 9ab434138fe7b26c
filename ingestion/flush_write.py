"""Storing a batch of stream entries for the flush (ingestion.flush), in one transaction.

The entries' records already are COPY rows; this adds what the flusher alone knows (project,
server session, receive time) and hands the text to the event store's writer
(``events.writer``), which COPYs it into ``events`` and skips rows already stored. With the rows
commit the ledger's ``flushed`` counts, identity links and person properties, and the dirty-day
markers, each counting or applying only the rows really inserted.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils.timezone import now as django_now

from core.clock import EPOCH_ORDINAL, from_micros
from events.dirty import rollups_mark_dirty
from events.writer import events_write, events_write_retrying
from ingestion import records
from ingestion.records import Entry
from persons.services import IdentityOp, identity_op_of, persons_apply

_DAY_US = 86_400 * 1_000_000


@dataclass
class FlushStats:
    entries: int = 0
    events: int = 0
    inserted: int = 0
    dead_lettered: int = 0
    touched: dict[int, set] = field(default_factory=lambda: defaultdict(set))

    def add(self, other: FlushStats) -> None:
        self.entries += other.entries
        self.events += other.events
        self.inserted += other.inserted
        self.dead_lettered += other.dead_lettered
        for project_id, days in other.touched.items():
            self.touched[project_id] |= days


def _copy_text(entries: Iterable[Entry], touched: dict[int, set], identity: list[IdentityOp]) -> list[str]:
    """The COPY lines of the entries' events; notes the days touched and the person work found."""
    lines = []
    for entry in entries:
        days = touched[entry.project_id]
        head = f"{entry.project_id}\t"
        tail = f"\t{from_micros(entry.received_us).isoformat()}\n"
        for ts, _user, session, flag, body in entry.records:
            ts_us = int(ts)
            days.add(ts_us // _DAY_US)
            if flag == records.PERSON_WORK:
                op = identity_op_of(entry.project_id, records.person_fields(ts_us, body))
                if op is not None:
                    identity.append(op)
            lines.append(head + body + "\t" + (session or records.NULL) + tail)
    return lines


def _days(day_numbers: set) -> set:
    return {dt.date.fromordinal(EPOCH_ORDINAL + n) for n in day_numbers}


# The rows the flush hands to the event store: the record's body between what the flusher adds.
_COPY_COLUMNS = ("project_id", *records.BODY_COLUMNS, "session_id", "received_at")

_COUNT_FLUSHED_SQL = """
INSERT INTO ingestion_ingestionledger
    (project_id, minute, received, accepted, duplicate, late, rejected, rejected_by_reason,
     rate_limited, quota_exceeded, flushed)
SELECT p, to_timestamp(m), 0, 0, 0, 0, 0, '{}', 0, 0, n
FROM unnest(%s::int[], %s::bigint[], %s::bigint[]) AS t(p, m, n)
WHERE EXISTS (SELECT 1 FROM projects_project WHERE id = p)
ON CONFLICT (project_id, minute) DO UPDATE SET flushed = ingestion_ingestionledger.flushed + EXCLUDED.flushed
"""


def write_entries(entries: list[Entry]) -> FlushStats:
    """Store the entries' events in one transaction; returns what was inserted.

    The event store (``events.writer``) COPYs the rows straight into ``events`` and skips those
    already stored (an entry replayed after a crash, or a retry the dedupe window missed). The
    ledger's ``flushed`` counts, person work and dirty-day markers commit with the rows, and
    count or apply only the rows really inserted.
    """
    stats = FlushStats(entries=len(entries))
    touched: dict[int, set] = defaultdict(set)
    identity: list[IdentityOp] = []
    text = "".join(_copy_text(entries, touched, identity))
    stats.events = sum(len(entry.records) for entry in entries)
    events_write_retrying(lambda: _store(entries, text, touched, identity, stats))
    return stats


def _store(entries: list[Entry], text: str, touched: dict[int, set], identity: list, stats: FlushStats) -> None:
    # (The partitions cache only learns of a partition this batch creates when it commits.)
    with transaction.atomic():
        with connection.cursor() as cursor:
            all_days = set().union(*touched.values()) if touched else set()
            written = events_write(
                cursor,
                text=text,
                columns=_COPY_COLUMNS,
                days=_days(all_days),
                watch=(op.event_id for op in identity),
            )
            if written.all_new:
                by_minute = _by_minute((e.project_id, e.received_us, len(e.records)) for e in entries)
                stats.inserted = stats.events
                fresh = identity
            else:
                by_minute = _by_minute((p, r, n) for (p, r), n in written.inserted.items())
                stats.inserted = sum(written.inserted.values())
                # Person updates only for rows really inserted: a replay must not re-apply a stale $set.
                fresh = [op for op in identity if (op.project_id, op.event_id) in written.watched]
            _count_flushed(cursor, by_minute)
        for project_id, day_numbers in touched.items():
            stats.touched[project_id] = _days(day_numbers)
        _after_store(stats.touched, fresh)


def _by_minute(received: Iterable[tuple[int, int, int]]) -> dict[tuple[int, int], int]:
    """Sums of (project, receive time in µs, rows) per project and minute of receipt (Unix seconds)."""
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for project_id, received_us, n in received:
        counts[(project_id, received_us // 60_000_000 * 60)] += n
    return counts


def _count_flushed(cursor: CursorWrapper, by_minute: dict[tuple[int, int], int]) -> None:
    """Add the rows really inserted to the ledger's ``flushed``."""
    cursor.execute(
        _COUNT_FLUSHED_SQL,
        [[p for p, _ in by_minute], [m for _, m in by_minute], list(by_minute.values())],
    )


def _after_store(touched: dict[int, set], identity: list[IdentityOp]) -> None:
    """Work that must commit with the events: persons learn links, the rollups which days changed."""
    if identity:
        persons_apply(ops=identity, now=django_now())
    rollups_mark_dirty(touched=touched)

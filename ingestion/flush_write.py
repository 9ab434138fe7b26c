"""Storing a batch of stream entries for the flush (ingestion.flush), in one transaction.

The entries' records already are COPY rows; this adds what the flusher alone knows (project,
server session, receive time) and hands the text to the event store's writer
(``events.writer``), which COPYs it into ``events`` and skips rows already stored. With the rows
commit the ledger's ``flushed`` counts, identity links and person properties, and the dirty-day
markers, and the destinations' outbox (``ingestion.destination_outbox``), each counting or
applying only the rows really inserted.
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
from events.models import GROUP_COLUMNS
from events.writer import events_write, events_write_retrying
from ingestion import records
from ingestion.destination_outbox import Candidate, outbox_candidates, outbox_write
from ingestion.records import Entry
from persons.groups import GroupOp, group_columns, groups_apply, groups_of
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


@dataclass
class _Work:
    """What the batch's records ask of persons and groups besides storing the rows."""

    identity: list[IdentityOp] = field(default_factory=list)
    group_updates: list[GroupOp] = field(default_factory=list)
    # The lines naming groups: (line number, project, {type: key}); their columns are filled in
    # the batch's transaction, where new group types get their index.
    grouped: list[tuple[int, int, dict[str, str]]] = field(default_factory=list)

    @property
    def watched(self) -> list[str]:
        return [op.event_id for op in self.identity] + [op.event_id for op in self.group_updates]


# An event's group columns when it names no group (the common case).
_NO_GROUPS = f"\t{records.NULL}" * len(GROUP_COLUMNS)
# Every record that can name a group holds this text: ``$groups``, ``$group_type``, ``$group_id``
# (a false hit only costs a JSON parse). The record carries no flag for it, so records buffered
# by an older API flush the same way.
_GROUP_HINT = '"$group'


def _copy_lines(entries: Iterable[Entry], touched: dict[int, set], work: _Work) -> list[str]:
    """The COPY lines of the entries' events, without the group columns and the newline; notes
    the days touched and the person and group work found."""
    lines: list[str] = []
    for entry in entries:
        days = touched[entry.project_id]
        head = f"{entry.project_id}\t"
        tail = f"\t{from_micros(entry.received_us).isoformat()}"
        for ts, _user, session, flag, body in entry.records:
            ts_us = int(ts)
            days.add(ts_us // _DAY_US)
            person_work, group_work = flag == records.PERSON_WORK, _GROUP_HINT in body
            if person_work or group_work:
                event = records.person_fields(ts_us, body)
                if person_work and (op := identity_op_of(entry.project_id, event)) is not None:
                    work.identity.append(op)
                if group_work:
                    groups, update = groups_of(entry.project_id, event)
                    if groups:
                        work.grouped.append((len(lines), entry.project_id, groups))
                    if update is not None:
                        work.group_updates.append(update)
            lines.append(head + body + "\t" + (session or records.NULL) + tail)
    return lines


def _copy_text(cursor: CursorWrapper, lines: list[str], grouped: list[tuple[int, int, dict[str, str]]]) -> str:
    """The COPY text of the lines, with their group columns (``group_columns`` maps type names)."""
    if not grouped:
        end = _NO_GROUPS + "\n"
        return end.join(lines) + end if lines else ""
    named: dict[int, list[dict[str, str]]] = defaultdict(list)
    for _, project_id, groups in grouped:
        named[project_id].append(groups)
    columns = group_columns(cursor, named)
    fields: dict[int, str] = {}
    taken: dict[int, int] = defaultdict(int)
    for line_number, project_id, _ in grouped:
        row = columns[project_id][taken[project_id]]
        taken[project_id] += 1
        fields[line_number] = "".join("\t" + (records.NULL if key is None else records.copy_escape(key)) for key in row)
    return "".join(line + fields.get(number, _NO_GROUPS) + "\n" for number, line in enumerate(lines))


def _days(day_numbers: set) -> set:
    return {dt.date.fromordinal(EPOCH_ORDINAL + n) for n in day_numbers}


# The rows the flush hands to the event store: the record's body between what the flusher adds.
_COPY_COLUMNS = ("project_id", *records.BODY_COLUMNS, "session_id", "received_at", *GROUP_COLUMNS)

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
    work = _Work()
    lines = _copy_lines(entries, touched, work)
    stats.events = sum(len(entry.records) for entry in entries)
    forwarded = outbox_candidates(entries)
    events_write_retrying(lambda: _store(entries, lines, touched, work, stats, forwarded))
    return stats


def _store(
    entries: list[Entry],
    lines: list[str],
    touched: dict[int, set],
    work: _Work,
    stats: FlushStats,
    forwarded: list[Candidate],
) -> None:
    # (The partitions cache only learns of a partition this batch creates when it commits.)
    with transaction.atomic():
        with connection.cursor() as cursor:
            all_days = set().union(*touched.values()) if touched else set()
            written = events_write(
                cursor,
                text=_copy_text(cursor, lines, work.grouped),
                columns=_COPY_COLUMNS,
                days=_days(all_days),
                watch=work.watched + [c.event_id for c in forwarded] if forwarded else work.watched,
            )
            if written.all_new:
                by_minute = _by_minute((e.project_id, e.received_us, len(e.records)) for e in entries)
                stats.inserted = stats.events
                fresh, fresh_groups = work.identity, work.group_updates
            else:
                by_minute = _by_minute((p, r, n) for (p, r), n in written.inserted.items())
                stats.inserted = sum(written.inserted.values())
                # Person and group updates only for rows really inserted: a replay must not
                # re-apply a stale $set.
                fresh = [op for op in work.identity if (op.project_id, op.event_id) in written.watched]
                fresh_groups = [op for op in work.group_updates if (op.project_id, op.event_id) in written.watched]
            _count_flushed(cursor, by_minute)
            if forwarded:
                # The destinations' outbox commits with the events: only those really inserted.
                outbox_write(cursor, forwarded, None if written.all_new else written.watched)
        for project_id, day_numbers in touched.items():
            stats.touched[project_id] = _days(day_numbers)
        _after_store(stats.touched, fresh, fresh_groups)


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


def _after_store(touched: dict[int, set], identity: list[IdentityOp], group_updates: list[GroupOp]) -> None:
    """Work that must commit with the events: persons learn links, groups their properties, the
    rollups which days changed."""
    if identity:
        persons_apply(ops=identity, now=django_now())
    if group_updates:
        groups_apply(ops=group_updates, now=django_now())
    rollups_mark_dirty(touched=touched)

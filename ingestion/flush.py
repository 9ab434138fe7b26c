"""Moving buffered events from the Redis streams into PostgreSQL, exactly once.

One flush of a shard: read a batch of entries (first the ones this consumer left pending, then
entries idle too long under other consumers — a dead worker's — then new ones), assign server
sessions, COPY the rows straight into ``events`` (falling back to a temporary table and
``INSERT … ON CONFLICT DO NOTHING`` when some are already stored) together with the ledger's
``flushed`` counters in one transaction, and only after the commit acknowledge-and-delete the
entries. A crash anywhere before the acknowledgement
means the entries are read again and their rows are no-ops; a crash after it loses nothing.

An entry that fails on its data (not on a connection) is retried alone, so it cannot hold its
neighbours back; after ``FLUSH_MAX_ATTEMPTS`` failures it moves to the dead-letter stream with
its error, to be inspected and replayed with ``manage.py replay_dead_letters``.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
import psycopg
import redis
from django.conf import settings
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils.timezone import now as django_now

from core import keys
from core.clock import EPOCH_ORDINAL, from_micros
from core.redis import get_redis
from events.dirty import rollups_mark_dirty
from events.writer import events_write, events_write_retrying
from ingestion import buffer, records
from ingestion.buffer_reset import buffer_prepare, buffer_recover
from ingestion.dead_letters import FAILURES, failure_record
from ingestion.records import Entry
from ingestion.sessions import assign_sessions, session_key
from ingestion.shard_lock import consumer_name, lock_acquire, lock_release, lock_renew, lock_token
from persons.services import IdentityOp, identity_op_of, persons_apply

logger = logging.getLogger(__name__)

_DAY_US = 86_400 * 1_000_000
# Unix time of the last flush that stored at least one entry: the monitoring page shows it and
# the stall alert compares it with the age of the oldest buffered entry.
LAST_SUCCESS = keys.FLUSH_LAST_SUCCESS


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


class PoisonEntry(Exception):
    pass


# --- Reading ---------------------------------------------------------------------------------


def _decode(stream: str, entry_id: bytes, fields: dict) -> Entry:
    try:
        if b"e" in fields:
            lines = fields[b"e"].decode().split("\n")
        else:  # buffered by a version before records: a JSON array of event objects
            lines = [records.from_legacy(event) for event in orjson.loads(fields[b"d"])]
        return Entry(
            stream=stream,
            entry_id=entry_id.decode(),
            project_id=int(fields[b"p"]),
            received_us=int(fields[b"r"]),
            records=[records.split(line) for line in lines],
        )
    except (KeyError, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise PoisonEntry(f"undecodable stream entry: {exc}") from exc


def read_entries(client: redis.Redis, stream: str, consumer: str, max_events: int) -> list[tuple[bytes, dict]]:
    """Up to a batch of entries for this consumer: own pending first, then stale ones, then new."""
    count = max(1, max_events // 100)
    own = client.xreadgroup(buffer.GROUP, consumer, {stream: "0"}, count=count)
    entries = own[0][1] if own else []
    entries = [(entry_id, fields) for entry_id, fields in entries if fields]
    if len(entries) < count:
        claimed = client.xautoclaim(
            stream,
            buffer.GROUP,
            consumer,
            min_idle_time=settings.EVENTBASE["FLUSH_CLAIM_IDLE_MS"],
            start_id="0-0",
            count=count - len(entries),
        )
        entries += [(entry_id, fields) for entry_id, fields in claimed[1] if fields]
        # Ids of entries deleted while pending come back in claimed[2]; acknowledge them away.
        if len(claimed) > 2 and claimed[2]:
            client.xack(stream, buffer.GROUP, *claimed[2])
    if len(entries) < count:
        fresh = client.xreadgroup(buffer.GROUP, consumer, {stream: ">"}, count=count - len(entries))
        if fresh:
            entries += fresh[0][1]
    return entries


# --- Writing ---------------------------------------------------------------------------------


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


def _count_flushed(cursor, by_minute: dict[tuple[int, int], int]) -> None:
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


def acknowledge(client: redis.Redis, stream: str, entry_ids: list[str]) -> None:
    # ACK and DEL together: the stream then holds exactly the entries not yet stored, which is
    # what flushed_until() and the monitoring page read.
    pipe = client.pipeline(transaction=True)
    pipe.xack(stream, buffer.GROUP, *entry_ids)
    pipe.xdel(stream, *entry_ids)
    pipe.hdel(FAILURES, *entry_ids)
    pipe.execute()


_TRANSIENT = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
)
# Errors that say an entry's data can never be stored as it is. Anything else (a connection
# lost, a missing table after a bad deploy) keeps the entries pending for the next run: dead-
# lettering them would turn an outage into thousands of letters to replay. COPY runs on the raw
# psycopg cursor, so its errors arrive unwrapped by Django.
_DATA_ERRORS = (
    DataError,
    IntegrityError,
    psycopg.DataError,
    psycopg.IntegrityError,
    ValueError,
    TypeError,
    KeyError,
)


def flush_once(client: redis.Redis, stream: str, consumer: str) -> FlushStats:
    """Flush one batch from one shard. Connection errors propagate: the entries stay pending."""
    try:
        raw = read_entries(client, stream, consumer, settings.EVENTBASE["FLUSH_BATCH_EVENTS"])
    except redis.ResponseError as exc:
        if not str(exc).startswith("NOGROUP"):
            raise
        # The stream and its group are gone (Redis lost its data): recreate, say so once, go on.
        buffer_recover(client, stream)
        return FlushStats()
    stats = FlushStats()
    if not raw:
        return stats
    decoded: list[tuple[bytes, dict, Entry]] = []
    for entry_id, fields in raw:
        try:
            decoded.append((entry_id, fields, _decode(stream, entry_id, fields)))
        except PoisonEntry as exc:
            stats.dead_lettered += failure_record(client, stream, entry_id.decode(), fields, str(exc), immediate=True)
    entries = [entry for _, _, entry in decoded]
    if not entries:
        return stats
    try:
        assign_sessions(client, entries)
        stats.add(write_entries(entries))
        acknowledge(client, stream, [entry.entry_id for entry in entries])
        return stats
    except _TRANSIENT:
        raise
    except _DATA_ERRORS as exc:
        if len(entries) == 1:
            entry_id, fields, _ = decoded[0]
            stats.dead_lettered += failure_record(
                client, stream, entry_id.decode(), fields, f"{type(exc).__name__}: {exc}"
            )
            return stats
        logger.warning(
            "flush batch failed on its data; retrying entries one by one",
            extra={"stream": stream, "entries": len(entries), "error": str(exc)},
        )
    for _entry_id, fields, entry in decoded:
        try:
            stats.add(write_entries([entry]))
            acknowledge(client, stream, [entry.entry_id])
        except _TRANSIENT:
            raise
        except _DATA_ERRORS as exc:
            stats.dead_lettered += failure_record(
                client, stream, entry.entry_id, fields, f"{type(exc).__name__}: {exc}"
            )
    return stats


# --- Draining --------------------------------------------------------------------------------


def drain(
    *,
    seconds: float = 10.0,
    shards: Iterable[int] | None = None,
    linger: bool = False,
    max_shards: int | None = None,
) -> FlushStats:
    """Flush the shards this worker can lock until the buffer is empty or time is up.

    With ``linger`` (the periodic job), a worker keeps its shard until ``seconds`` have passed,
    flushing it every ``FLUSH_INTERVAL_MS`` (back to back while a backlog lasts), instead of
    returning as soon as it is empty: the next job would only start at the next scheduler tick,
    and that wait would be added to every event's lag.
    The job takes one shard (``max_shards=1``), the fullest free one, so that N flush
    workers drain N shards side by side; run at least as many flush workers as shards.
    """
    client = get_redis()
    streams = buffer_prepare(client)
    consumer = consumer_name()
    total = FlushStats()
    deadline = time.monotonic() + seconds
    token = lock_token()
    order = list(shards) if shards is not None else [buffer.shard_of(key) for key in streams]
    if linger:
        # Fullest shard first (ties in random order), so a backlog gets a worker before an idle shard.
        pipe = client.pipeline(transaction=False)
        for shard in order:
            pipe.xlen(buffer.stream_key(shard))
        backlog = dict(zip(order, pipe.execute(), strict=True))
        random.shuffle(order)
        order.sort(key=lambda shard: -backlog[shard])
    held: list[int] = []
    for shard in order:
        if max_shards is not None and len(held) >= max_shards:
            break
        # A shard another live worker holds is being drained right now; skip it.
        if lock_acquire(client, shard, token):
            held.append(shard)
    interval = settings.EVENTBASE["FLUSH_INTERVAL_MS"] / 1000
    full_batch = max(1, settings.EVENTBASE["FLUSH_BATCH_EVENTS"] // 100)
    configured = buffer.shard_count()  # shards past this were dropped from the setting: drain, then forget
    try:
        while held:
            cycle_started = time.monotonic()
            for shard in held:
                lock_renew(client, shard)
            progressed, backlog = False, False
            for shard in list(held):
                stream = buffer.stream_key(shard)
                if shard >= configured and buffer.retire_if_empty(client, stream, session_key(stream)):
                    held.remove(shard)
                    lock_release(client, shard, token)
                    continue
                stats = flush_once(client, stream, consumer)
                total.add(stats)
                progressed = progressed or bool(stats.entries)
                backlog = backlog or stats.entries >= full_batch
            if time.monotonic() > deadline:
                break
            if not progressed and not linger:
                break
            if linger and not backlog:
                # Keeping up: let the next batch gather (an idle shard is polled at the same pace).
                time.sleep(max(0.0, min(interval - (time.monotonic() - cycle_started), deadline - time.monotonic())))
    finally:
        for shard in held:
            lock_release(client, shard, token)
    if total.entries:
        logger.info(
            "flushed",
            extra={
                "entries": total.entries,
                "events": total.events,
                "inserted": total.inserted,
                "dead_lettered": total.dead_lettered,
            },
        )
    return total


def flush_record_progress(stats: FlushStats, *, client: redis.Redis | None = None) -> None:
    """Remember when a flush last moved entries out of the streams (read by monitoring)."""
    if stats.entries or stats.dead_lettered:
        (client or get_redis()).set(LAST_SUCCESS, f"{time.time():.3f}")

"""Moving buffered events from the Redis streams into PostgreSQL, exactly once.

One flush of a shard: read a batch of entries (first the ones this consumer left pending, then
entries idle too long under other consumers — a dead worker's — then new ones), assign server
sessions, COPY the rows straight into ``events`` (falling back to a temporary table and
``INSERT … ON CONFLICT DO NOTHING`` when some are already stored) together with the ledger's
``flushed`` counters in one transaction, and only after the commit acknowledge-and-delete the
entries. A crash anywhere before the acknowledgement means the entries are read again and their
rows are no-ops; a crash after it loses nothing. Reading a batch is ``ingestion.flush_read``,
storing it ``ingestion.flush_write``; this module is the loop around them.

An entry that fails on its data (not on a connection) is retried alone, so it cannot hold its
neighbours back; after ``FLUSH_MAX_ATTEMPTS`` failures it moves to the dead-letter stream with
its error, to be inspected and replayed with ``manage.py replay_dead_letters``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable

import psycopg
import redis
from django.conf import settings
from django.db import DataError, IntegrityError, InterfaceError, OperationalError

from core import keys
from core.redis import get_redis
from ingestion import buffer
from ingestion.buffer_reset import buffer_prepare, buffer_recover
from ingestion.dead_letters import FAILURES, failure_record
from ingestion.flush_read import PoisonEntry, decode_entry, read_entries
from ingestion.flush_write import FlushStats, write_entries
from ingestion.records import Entry
from ingestion.sessions import assign_sessions, session_key
from ingestion.shard_lock import consumer_name, lock_acquire, lock_release, lock_renew, lock_token

logger = logging.getLogger(__name__)

# Unix time of the last flush that stored at least one entry: the monitoring page shows it and
# the stall alert compares it with the age of the oldest buffered entry.
LAST_SUCCESS = keys.FLUSH_LAST_SUCCESS


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
            decoded.append((entry_id, fields, decode_entry(stream, entry_id, fields)))
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
        lengths = dict(zip(order, pipe.execute(), strict=True))
        random.shuffle(order)
        order.sort(key=lambda shard: -lengths[shard])
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

"""Reading a batch of a shard's stream for the flush (ingestion.flush), and decoding its entries.

A consumer reads its own pending entries first (those it read before and did not store), then
entries idle too long under other consumers (a dead worker's: ``XAUTOCLAIM``), then new ones.
An entry that cannot be decoded is poison: the flush dead-letters it at once.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis
from django.conf import settings

from core.redis import StreamEntry, stream_entries
from ingestion import buffer, records
from ingestion.records import Entry


class PoisonEntry(Exception):
    """An entry whose fields cannot be decoded: no retry can store it."""


def decode_entry(stream: str, entry_id: bytes, fields: dict) -> Entry:
    """The entry as the flusher reads it; ``PoisonEntry`` if its fields are not an entry's."""
    try:
        if b"e" in fields:
            lines = fields[b"e"].decode().split("\n")
            if fields.get(b"v") is None:  # buffered before records had the web columns
                lines = [records.padded_to_current(line) for line in lines]
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


def read_entries(client: redis.Redis, stream: str, consumer: str, max_events: int) -> list[StreamEntry]:
    """Up to a batch of entries for this consumer: own pending first, then stale ones, then new."""
    count = max(1, max_events // 100)
    # redis-py types these replies for RESP2 and RESP3 at once; this client speaks RESP2 (lists).
    own: Any = client.xreadgroup(buffer.GROUP, consumer, {stream: "0"}, count=count)
    entries = own[0][1] if own else []
    entries = [(entry_id, fields) for entry_id, fields in entries if fields]
    if len(entries) < count:
        claimed: Any = client.xautoclaim(
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
        fresh: Any = client.xreadgroup(buffer.GROUP, consumer, {stream: ">"}, count=count - len(entries))
        if fresh:
            entries += fresh[0][1]
    return stream_entries(entries)

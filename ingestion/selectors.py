"""Reads about the ingestion pipeline's progress."""

from __future__ import annotations

import datetime as dt

from config.redis import get_redis
from ingestion import buffer

# Requests in flight (received, not yet appended) are not in any stream yet; this margin covers
# them, and small clock differences between web nodes and Redis.
_IN_FLIGHT_MARGIN = dt.timedelta(seconds=2)


def flushed_until(*, now: dt.datetime | None = None) -> dt.datetime:
    """Every event accepted (received) before this instant is stored in PostgreSQL.

    Streams hold exactly the entries not yet stored (the flusher acknowledges and deletes in
    one step), so the answer is the receive time of the oldest entry still buffered, or now
    when every shard is empty.
    """
    now = now or dt.datetime.now(dt.UTC)
    client = get_redis()
    pipe = client.pipeline(transaction=False)
    for key in buffer.all_stream_keys():
        pipe.xrange(key, count=10)
    oldest = None
    for entries in pipe.execute():
        for _entry_id, fields in entries:
            received_us = int(fields[b"r"])
            oldest = received_us if oldest is None else min(oldest, received_us)
    if oldest is None:
        return now - _IN_FLIGHT_MARGIN
    return min(now, dt.datetime.fromtimestamp(oldest / 1_000_000, dt.UTC)) - _IN_FLIGHT_MARGIN


def buffered_entries() -> dict[str, int]:
    """Entries waiting in each shard's stream."""
    client = get_redis()
    pipe = client.pipeline(transaction=False)
    keys = buffer.all_stream_keys()
    for key in keys:
        pipe.xlen(key)
    return dict(zip(keys, pipe.execute(), strict=True))

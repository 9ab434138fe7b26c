"""Reads about the ingestion pipeline's progress."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from redis.client import Pipeline

from core.redis import get_redis
from ingestion import buffer
from ingestion.dead_letters import dead_letters_count
from ingestion.destination_services import destination_counts
from ingestion.ledger import ledger_sync
from ingestion.models import IngestionLedger
from projects.models import Project

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
    queue_oldest_reads(pipe, buffer.all_stream_keys(client))
    oldest = oldest_received_us(pipe.execute())
    if oldest is None:
        return now - _IN_FLIGHT_MARGIN
    return min(now, dt.datetime.fromtimestamp(oldest / 1_000_000, dt.UTC)) - _IN_FLIGHT_MARGIN


def queue_oldest_reads(pipe: Pipeline, keys: list[str]) -> None:
    """Queue, on a pipeline, the reads ``oldest_received_us`` needs (one XRANGE per stream of ``keys``).

    The first few entries, not just the first: web nodes append with slightly different clocks.
    """
    for key in keys:
        pipe.xrange(key, count=10)


def oldest_received_us(results: list[Any]) -> int | None:
    """The receive time (µs) of the oldest buffered event, from the replies of ``queue_oldest_reads``."""
    oldest = None
    for entries in results:
        for _entry_id, fields in entries:
            received_us = int(fields[b"r"])
            oldest = received_us if oldest is None else min(oldest, received_us)
    return oldest


def buffered_entries() -> dict[str, int]:
    """Entries waiting in each shard's stream."""
    client = get_redis()
    pipe = client.pipeline(transaction=False)
    keys = buffer.all_stream_keys(client)
    for key in keys:
        pipe.xlen(key)
    return dict(zip(keys, pipe.execute(), strict=True))


_LEDGER_FIELDS = (
    "received",
    "accepted",
    "duplicate",
    "late",
    "rejected",
    "rate_limited",
    "quota_exceeded",
    "bot",
    "flushed",
)


def ledger_report(*, project: Project, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    """The project's ledger rows in [since, until] with totals; Redis counters are synced first."""
    ledger_sync()
    rows = list(
        IngestionLedger.objects.filter(project=project, minute__gte=since, minute__lte=until)
        .order_by("minute")
        .values("minute", "rejected_by_reason", *_LEDGER_FIELDS)
    )
    totals: dict[str, Any] = {field: sum(row[field] for row in rows) for field in _LEDGER_FIELDS}
    reasons: dict[str, int] = {}
    for row in rows:
        for reason, count in row["rejected_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    totals.update(minute=since, rejected_by_reason=reasons)
    destinations = destination_counts(project_id=project.pk, since=since, until=until)
    return {
        "since": since,
        "until": until,
        "totals": totals,
        "results": rows,
        "buffered_entries": sum(buffered_entries().values()),
        "dead_letters": dead_letters_count(),
        "forwarded": sum(d.forwarded for d in destinations),
        "destinations": [asdict(d) for d in destinations],
    }

"""RQ jobs of the ingestion pipeline: thin, plain arguments, real work in ingestion.flush."""

from __future__ import annotations

import datetime as dt

from django.db import close_old_connections

from ingestion.destination_sender import destinations_deliver
from ingestion.destination_services import batches_prune
from ingestion.flush import drain, flush_record_progress
from ingestion.ledger import ledger_audit_refusals, ledger_sync
from ingestion.sessions import sessions_sweep


def flush_streams(seconds: float = 5.0) -> dict[str, int]:
    """Drain the stream shards this worker can lock for up to ``seconds``, then sync the ledger."""
    # Workers outlive requests: drop a connection a PostgreSQL restart broke before using it.
    close_old_connections()
    try:
        stats = drain(seconds=seconds, linger=True, max_shards=1)
        flush_record_progress(stats)
        ledger_sync()
    finally:
        close_old_connections()
    return {
        "entries": stats.entries,
        "events": stats.events,
        "inserted": stats.inserted,
        "dead_lettered": stats.dead_lettered,
    }


def sweep_sessions() -> int:
    return sessions_sweep()


def audit_refusals(minutes: int = 10) -> int:
    """Upsert the rate-limit/quota audit entries of the last ``minutes`` (overlapping runs are harmless)."""
    return ledger_audit_refusals(since=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes))


def deliver_destinations(seconds: float = 20.0) -> dict[str, int]:
    """Post the destinations' due batches for up to ``seconds`` (ingestion.destination_sender)."""
    close_old_connections()
    try:
        stats = destinations_deliver(seconds=seconds)
        pruned = batches_prune()
    finally:
        close_old_connections()
    return {
        "delivered": stats.delivered,
        "forwarded": stats.forwarded,
        "failed": stats.failed,
        "dead": stats.dead,
        "pruned": pruned,
    }

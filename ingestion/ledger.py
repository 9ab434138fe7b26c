"""Delivery-ledger counters: incremented in Redis on the hot path, copied to PostgreSQL by jobs."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import redis
from django.db import connection

from core import keys
from core.clock import minute_floor
from core.redis import get_redis
from ingestion.models import IngestionLedger
from projects.audit import audit_upsert_aggregated
from projects.models import AuditAction, AuditEntry

DIRTY = keys.LEDGER_DIRTY
TTL_SECONDS = keys.LEDGER_TTL_SECONDS
_API_FIELDS = ("received", "accepted", "duplicate", "late", "rate_limited", "quota_exceeded", "bot")


def minute_of(moment: dt.datetime) -> int:
    return minute_floor(moment.timestamp())


def ledger_key(project_id: int, minute_epoch: int) -> str:
    return keys.ledger(project_id, minute_epoch)


def ledger_increment(*, project_id: int, received_at: dt.datetime, counts: dict[str, int]) -> None:
    """Add to a project's counters for the minute of ``received_at`` (raises when Redis is down).

    The capture script does the same inside its Lua transaction for requests that buffer events.
    """
    key = ledger_key(project_id, minute_of(received_at))
    pipe = get_redis().pipeline(transaction=True)
    for name, value in counts.items():
        if value:
            pipe.hincrby(key, name, value)
    pipe.expire(key, TTL_SECONDS)
    pipe.sadd(DIRTY, key)
    pipe.execute()


def count_request_rejection(*, project_id: int, received_at: dt.datetime, reason: str, events: int = 0) -> None:
    """Count a whole request refused for a known project (rate limit, quota, bad body)."""
    field = {"rate_limited": "rate_limited", "quota_exceeded": "quota_exceeded"}.get(reason, f"rejected:{reason}")
    # The refusal itself is answered either way; losing one counter beats failing the answer.
    with contextlib.suppress(redis.RedisError, OSError):
        ledger_increment(project_id=project_id, received_at=received_at, counts={field: 1, "received": events})


def ledger_sync(*, client: redis.Redis | None = None, now: dt.datetime | None = None) -> int:
    """Copy the Redis counters of every touched minute into IngestionLedger rows.

    Values are copied as absolute numbers, so running this twice, or concurrently, is harmless;
    a stored number never goes down, so a Redis that lost its counters (ingestion.buffer_reset)
    cannot erase what was synced before: the minute of the reset keeps the larger count.
    Minutes that can no longer change are dropped from the dirty set afterwards.
    """
    client = client or get_redis()
    minutes = [k.decode() for k in cast("set[bytes]", client.smembers(DIRTY))]  # replies are bytes (core.redis)
    if not minutes:
        return 0
    pipe = client.pipeline(transaction=False)
    for key in minutes:
        pipe.hgetall(key)
    hashes = pipe.execute()
    rows = []
    for key, values in zip(minutes, hashes, strict=True):
        if not values:
            continue
        _, _, project_id, minute = key.split(":")
        counts = {k.decode(): int(v) for k, v in values.items()}
        reasons = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("rejected:")}
        rows.append(
            (
                int(project_id),
                int(minute),
                *(counts.get(f, 0) for f in _API_FIELDS),
                sum(reasons.values()),
                reasons,
            )
        )
    if rows:
        _upsert(rows)
    closed_before = minute_of(now or dt.datetime.now(dt.UTC)) - 120
    stale = [key for key in minutes if int(key.rsplit(":", 1)[1]) < closed_before]
    if stale:
        client.srem(DIRTY, *stale)
    return len(rows)


def _upsert(rows: list[tuple]) -> None:
    from psycopg.types.json import Jsonb

    # Sequence[Any]: django-stubs' parameter types leave out Jsonb, which psycopg adapts.
    params: list[Sequence[Any]] = [(*row[:-1], Jsonb(row[-1]), row[0]) for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO ingestion_ingestionledger AS l
                (project_id, minute, received, accepted, duplicate, late, rate_limited, quota_exceeded, bot,
                 rejected, rejected_by_reason, flushed)
            SELECT %s, to_timestamp(%s), %s, %s, %s, %s, %s, %s, %s, %s, %s, 0
            WHERE EXISTS (SELECT 1 FROM projects_project WHERE id = %s)
            ON CONFLICT (project_id, minute) DO UPDATE SET
                received = GREATEST(l.received, EXCLUDED.received),
                accepted = GREATEST(l.accepted, EXCLUDED.accepted),
                duplicate = GREATEST(l.duplicate, EXCLUDED.duplicate),
                late = GREATEST(l.late, EXCLUDED.late),
                rate_limited = GREATEST(l.rate_limited, EXCLUDED.rate_limited),
                quota_exceeded = GREATEST(l.quota_exceeded, EXCLUDED.quota_exceeded),
                bot = GREATEST(l.bot, EXCLUDED.bot),
                rejected_by_reason = CASE WHEN EXCLUDED.rejected >= l.rejected
                                          THEN EXCLUDED.rejected_by_reason ELSE l.rejected_by_reason END,
                rejected = GREATEST(l.rejected, EXCLUDED.rejected)
            """,
            params,
        )


def ledger_audit_refusals(*, since: dt.datetime) -> int:
    """Audit rate-limit and quota refusals: one entry per project, minute and kind, not per request.

    Reads the ledger rows from ``since`` on and upserts their counts, so running it every minute
    over an overlapping window keeps each minute's entry current. Returns entries written.
    """
    rows = IngestionLedger.objects.filter(minute__gte=since).exclude(rate_limited=0, quota_exceeded=0)
    entries = []
    for row in rows.values("project_id", "minute", "rate_limited", "quota_exceeded"):
        for action, count in (
            (AuditAction.RATE_LIMITED, row["rate_limited"]),
            (AuditAction.QUOTA_EXCEEDED, row["quota_exceeded"]),
        ):
            if count:
                entries.append(
                    AuditEntry(
                        at=row["minute"],
                        action=action,
                        project_id=row["project_id"],
                        actor="system",
                        count=count,
                        details={"minute": row["minute"].isoformat()},
                        dedupe_key=f"{action}:{row['project_id']}:{row['minute']:%Y-%m-%dT%H:%M}",
                    )
                )
    return audit_upsert_aggregated(entries)

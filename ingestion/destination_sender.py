"""Posting the outbox's due batches to their destinations: at least once, with back-off.

A batch is *claimed* in one short statement (``FOR UPDATE SKIP LOCKED``, then its
``next_attempt_at`` moved past the time a send can take), so two workers never send the same batch
at once and no transaction stays open while a webhook answers; a worker that dies mid-send leaves
the batch due again when that lease ends. The result is recorded in a second short transaction:
a 2xx marks the batch delivered and adds its events to the destination's ledger in the same
transaction (only if it was not delivered already, so a batch counts once); anything else — a
refused connection, a timeout, a non-2xx answer (its status and the start of its body) — is
written to ``last_error`` and the batch waits ``DESTINATION_RETRY_DELAYS[attempt - 1]``; one
failure after the last delay makes it dead, to be replayed (``ingestion.destination_services``).

The body names the events by the keys the flush wrote; they are read back from ``events`` here.
An event deleted in between (retention, a user's erasure) is not sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction

from core.clock import from_micros
from core.webhooks import post_signed
from ingestion.models import Destination

logger = logging.getLogger(__name__)


@dataclass
class DeliveryStats:
    delivered: int = 0  # batches
    forwarded: int = 0  # events in them
    failed: int = 0
    dead: int = 0


@dataclass(frozen=True)
class _Claimed:
    batch_id: str
    destination_id: int
    event_keys: list[list[Any]]
    attempts: int


_CLAIM_SQL = """
UPDATE ingestion_destinationbatch SET attempts = attempts + 1, next_attempt_at = %(lease_until)s
WHERE id = (
    SELECT b.id FROM ingestion_destinationbatch b
    JOIN ingestion_destination d ON d.id = b.destination_id
    WHERE b.status IN ('pending', 'failed') AND b.next_attempt_at <= %(now)s AND d.enabled
    ORDER BY b.next_attempt_at
    LIMIT 1
    FOR UPDATE OF b SKIP LOCKED
)
RETURNING id::text, destination_id, event_keys, attempts
"""


def _claim(now: dt.datetime) -> _Claimed | None:
    # Longer than a send can take (the timeout, plus reading the events back).
    lease_until = now + dt.timedelta(seconds=settings.EVENTBASE["DESTINATION_TIMEOUT_SECONDS"] * 3 + 30)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": now, "lease_until": lease_until})
        row = cursor.fetchone()
    if row is None:
        return None
    keys = row[2] if isinstance(row[2], list) else orjson.loads(row[2])  # Django hands jsonb back as text
    return _Claimed(row[0], row[1], keys, row[3])


_EVENTS_SQL = """
SELECT event_id::text, event_name, user_id, timestamp, properties::text, session_id, source, is_anonymous,
       received_at
FROM events
WHERE project_id = %s AND timestamp BETWEEN %s AND %s
  AND (event_id, timestamp) IN (SELECT * FROM unnest(%s::uuid[], %s::timestamptz[]))
"""


def _events(project_id: int, keys: list[list[Any]]) -> list[dict[str, Any]]:
    """The batch's events as they are stored, in the batch's order; deleted ones left out."""
    times = [from_micros(int(ts)) for _, ts in keys]
    with connection.cursor() as cursor:
        cursor.execute(_EVENTS_SQL, [project_id, min(times), max(times), [k[0] for k in keys], times])
        found = {row[0]: row for row in cursor.fetchall()}
    events = []
    for event_id, _ in keys:
        row = found.get(event_id)
        if row is None:
            continue
        events.append(
            {
                "event_id": row[0],
                "event": row[1],
                "user_id": row[2],
                "timestamp": row[3].isoformat(),
                "properties": orjson.Fragment(row[4]) if row[4] else {},
                "session_id": row[5],
                "source": row[6],
                "is_anonymous": row[7],
                "received_at": row[8].isoformat(),
            }
        )
    return events


def _send(claimed: _Claimed, destination: Destination) -> tuple[str | None, int]:
    """Post the batch; (error or None, events sent)."""
    events = _events(destination.project_id, claimed.event_keys)
    if not events:
        return None, 0  # all deleted since the flush: nothing left to forward
    body = orjson.dumps(
        {
            "destination": {"id": destination.pk, "name": destination.name},
            "project": destination.project.slug,
            "delivery": claimed.batch_id,
            "events": events,
        }
    )
    failure = post_signed(
        destination.url,
        body,
        secret=destination.secret,
        delivery_id=claimed.batch_id,
        user_agent="eventbase-destinations/1",
        timeout=settings.EVENTBASE["DESTINATION_TIMEOUT_SECONDS"],
        headers={"X-Eventbase-Attempt": str(claimed.attempts)},
    )
    if failure is None:
        return None, len(events)
    return (f"HTTP {failure.status}: {failure.detail}".strip() if failure.status else failure.detail), len(events)


_DELIVERED_SQL = """
UPDATE ingestion_destinationbatch SET status = 'delivered', delivered_at = %s, last_error = ''
WHERE id = %s AND status <> 'delivered'
RETURNING destination_id
"""
_COUNT_SQL = """
INSERT INTO ingestion_destinationledger (destination_id, minute, forwarded) VALUES (%s, %s, %s)
ON CONFLICT (destination_id, minute) DO UPDATE
SET forwarded = ingestion_destinationledger.forwarded + EXCLUDED.forwarded
"""
_FAILED_SQL = """
UPDATE ingestion_destinationbatch SET status = %s, next_attempt_at = %s, last_error = %s
WHERE id = %s AND status IN ('pending', 'failed')
"""


def _record(claimed: _Claimed, error: str | None, sent: int, now: dt.datetime, stats: DeliveryStats) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        if error is None:
            cursor.execute(_DELIVERED_SQL, [now, claimed.batch_id])
            if cursor.fetchone() is not None:
                stats.delivered += 1
                stats.forwarded += sent
                if sent:
                    cursor.execute(_COUNT_SQL, [claimed.destination_id, now.replace(second=0, microsecond=0), sent])
            return
        delays = settings.EVENTBASE["DESTINATION_RETRY_DELAYS"]
        if claimed.attempts > len(delays):
            status, next_at = "dead", now
            stats.dead += 1
        else:
            status, next_at = "failed", now + dt.timedelta(seconds=delays[claimed.attempts - 1])
            stats.failed += 1
        cursor.execute(_FAILED_SQL, [status, next_at, error[:1000], claimed.batch_id])
    logger.warning(
        "destination delivery failed",
        extra={"destination": claimed.destination_id, "batch": claimed.batch_id, "status": status, "error": error},
    )


def destinations_deliver(*, seconds: float = 20.0, now: dt.datetime | None = None) -> DeliveryStats:
    """Send due batches, one at a time, until none is due or ``seconds`` have passed.

    ``now`` (tests) fixes the clock that decides what is due and when a retry is.
    """
    stats = DeliveryStats()
    deadline = time.monotonic() + seconds
    destinations: dict[int, Destination] = {}
    while time.monotonic() < deadline:
        moment = now or dt.datetime.now(dt.UTC)
        claimed = _claim(moment)
        if claimed is None:
            break
        destination = destinations.get(claimed.destination_id)
        if destination is None:
            destination = Destination.objects.select_related("project").filter(pk=claimed.destination_id).first()
            if destination is None:
                continue  # deleted since the claim, its batches with it
            destinations[claimed.destination_id] = destination
        error, sent = _send(claimed, destination)
        _record(claimed, error, sent, now or dt.datetime.now(dt.UTC), stats)
    return stats

"""A buffer that Redis lost: noticed, recovered from, and said once.

Redis holds accepted events until a flush stores them. When it loses its data (restarted without
AOF, a FLUSHDB, a failover to an empty replica) the streams and their consumer group vanish with
whatever was still buffered. The flush then recreates the groups and carries on, and a
``buffer_reset`` alert fires once: a JSON log line on ``eventbase.alerts``, and /health says
``degraded`` for ``RESET_SHOWN_SECONDS`` with how many accepted events the ledger never saw stored.

Two ways to notice: a stream answers ``NOGROUP`` while it is flushed, or the marker key that the
first flush writes is gone while PostgreSQL's ledger shows this install accepted events before
(a fresh install has no ledger rows, and no alert).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from django.db import connection

from core import keys
from ingestion import buffer

logger = logging.getLogger("eventbase.alerts")

MARKER = keys.BUFFER_MARKER
RESET = keys.BUFFER_RESET
RESET_SHOWN_SECONDS = keys.BUFFER_RESET_SHOWN_SECONDS


def buffer_prepare(client: redis.Redis) -> list[str]:
    """Make sure every stream has its consumer group, noticing a lost buffer; returns the streams."""
    streams = buffer.ensure_groups(client)
    if client.set(MARKER, int(time.time()), nx=True) and _ledger_has_history():
        buffer_reset_report(
            client,
            cause="the buffer's marker key is gone: Redis lost its data (a restart without persistence, "
            "a FLUSHDB or a failover to an empty replica)",
        )
    return streams


def buffer_recover(client: redis.Redis, stream: str) -> None:
    """After ``NOGROUP`` on ``stream``: recreate the groups and say that the buffer was reset."""
    buffer.ensure_groups(client)
    client.set(MARKER, int(time.time()), nx=True)
    buffer_reset_report(client, cause=f"stream {stream} lost its consumer group while it was being flushed")


def buffer_reset_report(client: redis.Redis, *, cause: str) -> bool:
    """Fire the ``buffer_reset`` alert, once per reset however many workers notice it (True: fired)."""
    unflushed = ledger_unflushed()
    body = {"at": time.time(), "cause": cause, "unflushed": unflushed}
    if not client.set(RESET, json.dumps(body), nx=True, ex=RESET_SHOWN_SECONDS):
        return False
    logger.error(
        "alert firing: buffer_reset",
        extra={
            "alert": "buffer_reset",
            "state": "firing",
            "value": unflushed,
            "threshold": 0,
            "detail": buffer_reset_message(body),
        },
    )
    return True


def buffer_reset_message(body: dict[str, Any]) -> str:
    return (
        f"the event buffer was reset ({body['cause']}); events accepted but not yet stored may be lost: "
        f"the ingestion ledger counts {body['unflushed']} accepted events never stored. The flush goes on."
    )


def buffer_reset_seen(client: redis.Redis) -> dict[str, Any] | None:
    """The last reset, while it is shown (``RESET_SHOWN_SECONDS``), else None."""
    raw = client.get(RESET)
    return None if raw is None else json.loads(raw)


def ledger_unflushed() -> int:
    """Accepted minus stored events over the whole ledger: what a lost buffer may have taken."""
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(sum(accepted) - sum(flushed), 0) FROM ingestion_ingestionledger")
        return max(0, int(cur.fetchone()[0]))


def _ledger_has_history() -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM ingestion_ingestionledger WHERE accepted > 0)")
        return bool(cur.fetchone()[0])

"""Demo events written straight into ``events``, for tests that need a realistic project.

The ingest pipeline is not under test here, so rows go in with one INSERT; partitions for the
touched days are created first, inside the same transaction, and the rollups are then built, as
the flusher and the rollup job would.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

from django.db import connection, transaction

from analytics.rollups import rollups_process_dirty
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset
from events.partitions import ensure_partitions

FUNNEL = ("pageview", "signup", "activate", "purchase")
PLANS = ("free", "pro", "team")


def demo_events_insert(*, project_id: int, users: int = 60, days: int = 28, seed: int = 7) -> int:
    """Insert a few weeks of plausible activity ending now; returns the number of rows.

    Each user arrives on some day and goes down the funnel with falling odds, returns on some
    later days (so retention is not empty) and a handful act in the last minutes (so the live
    panel has something to show).
    """
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rows: list[tuple] = []

    def add(user: str, name: str, at: dt.datetime, plan: str) -> None:
        rows.append((project_id, uuid.uuid4(), name, "web", user, at, at, json.dumps({"plan": plan, "path": "/"})))

    for n in range(users):
        user = f"user-{n:03d}"
        plan = rng.choice(PLANS)
        first = now - dt.timedelta(days=rng.randint(0, days - 1), minutes=rng.randint(30, 600))
        at = first
        for step, name in enumerate(FUNNEL):
            if step and rng.random() > 0.7:
                break
            at += dt.timedelta(minutes=rng.randint(1, 90))
            add(user, name, min(at, now - dt.timedelta(minutes=20)), plan)
        for _ in range(rng.randint(0, 6)):
            later = first + dt.timedelta(days=rng.randint(1, days), minutes=rng.randint(0, 600))
            if later < now:
                add(user, "pageview", later, plan)
    for n in range(8):  # activity in the last few minutes, for the live panel
        at = now - dt.timedelta(seconds=15 + 30 * n)
        add(f"user-{n:03d}", rng.choice(("pageview", "search")), at, "pro")

    with transaction.atomic(), connection.cursor() as cur:
        ensure_partitions({row[5].date() for row in rows}, cursor=cur)
        cur.executemany(
            'INSERT INTO events (project_id, event_id, event_name, source, user_id, "timestamp", '
            "received_at, properties) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
            rows,
        )
    rollups_mark_dirty(touched={project_id: {row[5].date() for row in rows}})  # UTC days, as the flusher
    rollups_process_dirty()
    return len(rows)


def demo_events_delete(*, project_id: int) -> None:
    """``events`` is unmanaged, so a transactional test's flush leaves it (rollups it empties)."""
    duckdb_reset()  # funnels read through DuckDB; do not keep its connection across tests
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events WHERE project_id = %s", [project_id])

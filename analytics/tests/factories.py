"""Raw events for tests, written straight into ``events`` (no dependency on the ingestion app)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import factory
from django.db import connection, transaction

from events.models import WEB_COLUMNS
from events.partitions import ensure_partitions, forget_known_partitions


@dataclass
class RawEvent:
    project_id: int
    event_name: str
    user_id: str
    timestamp: dt.datetime
    source: str = "web"
    is_anonymous: bool = False
    session_id: str | None = None
    properties: dict = field(default_factory=dict)
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    received_at: dt.datetime | None = None
    # The columns enrichment derives at capture (events.models.WEB_COLUMNS), set directly.
    web: dict[str, str | None] = field(default_factory=dict)


class RawEventFactory(factory.Factory):
    class Meta:
        model = RawEvent

    project_id = 1
    event_name = "pageview"
    user_id = factory.Sequence(lambda n: f"user-{n}")
    timestamp = factory.LazyFunction(lambda: dt.datetime.now(dt.UTC))


def events_insert(events: list[RawEvent]) -> int:
    """Insert events like the flush does (a replayed event_id+timestamp is a no-op); returns rows added."""
    if not events:
        return 0
    # Partitions created inside a rolled-back test transaction vanish, but the in-process cache
    # of known partitions would still list them.
    forget_known_partitions()
    import orjson

    with transaction.atomic(), connection.cursor() as cur:
        ensure_partitions({e.timestamp.astimezone(dt.UTC).date() for e in events}, cursor=cur)
        before = _count(cur)
        cur.executemany(
            "INSERT INTO events (project_id, event_id, event_name, source, user_id, is_anonymous, "
            f'session_id, "timestamp", received_at, properties, {", ".join(WEB_COLUMNS)}) '
            f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb{', %s' * len(WEB_COLUMNS)}) "
            "ON CONFLICT DO NOTHING",
            [
                (
                    e.project_id,
                    e.event_id,
                    e.event_name,
                    e.source,
                    e.user_id,
                    e.is_anonymous,
                    e.session_id,
                    e.timestamp,
                    e.received_at or e.timestamp,
                    orjson.dumps(e.properties).decode(),
                    *(e.web.get(column) for column in WEB_COLUMNS),
                )
                for e in events
            ],
        )
        return _count(cur) - before


def _count(cur) -> int:
    cur.execute("SELECT count(*) FROM events")
    return cur.fetchone()[0]


def touched_days(events: list[RawEvent]) -> dict[int, set[dt.date]]:
    """What the flush passes to rollups_mark_dirty for these events."""
    out: dict[int, set[dt.date]] = {}
    for e in events:
        out.setdefault(e.project_id, set()).add(e.timestamp.astimezone(dt.UTC).date())
    return out


def events_delete(project_ids: list[int]) -> None:
    """For transactional tests: ``events`` is unmanaged, so Django's flush does not empty it."""
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events WHERE project_id = ANY(%s)", [project_ids])


def unique_events(events: list[RawEvent]) -> list[RawEvent]:
    """The rows the table keeps: the first of each (project, event_id, timestamp)."""
    seen: dict[tuple, RawEvent] = {}
    for e in events:
        seen.setdefault((e.project_id, e.event_id, e.timestamp), e)
    return list(seen.values())

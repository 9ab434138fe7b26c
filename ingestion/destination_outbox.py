"""The destinations' outbox, written by the flush in the transaction that stores the events.

A batch row commits with the events it names or not at all: a crash between storing and
forwarding cannot lose a batch (the sender finds it in PostgreSQL), and a flush that runs again
after a crash between its commit and its acknowledgement writes no second batch, because the
rows it names are only those the event store really inserted (``events.writer``'s ``watched``
answer on its slow path; every row on its fast path).

The hot path pays one dictionary lookup per stream entry when no destination is enabled: the
enabled destinations of every project are read in one query and kept in-process for
``DESTINATION_CACHE_SECONDS`` (so a new or changed destination takes effect within that time in
other processes; at once in the one that changed it).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db.backends.utils import CursorWrapper
from django.utils.timezone import now as django_now

from ingestion import records
from ingestion.models import Destination
from ingestion.records import Entry


@dataclass(frozen=True)
class Route:
    """What the flush needs to know of one enabled destination."""

    destination_id: int
    events: frozenset[str]  # empty: every event
    properties: tuple[tuple[str, Any], ...]  # (key, value) an event's properties must all have
    batch_size: int

    def takes(self, name: str, properties: dict[str, Any] | None) -> bool:
        if self.events and name not in self.events:
            return False
        if not self.properties:
            return True
        return properties is not None and all(properties.get(key) == value for key, value in self.properties)


class _Routes:
    """The enabled destinations by project, read in one query and kept for a few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expires = 0.0
        self._table: dict[int, tuple[Route, ...]] = {}

    def table(self) -> dict[int, tuple[Route, ...]]:
        if time.monotonic() < self._expires:
            return self._table
        table: dict[int, list[Route]] = defaultdict(list)
        for d in Destination.objects.filter(enabled=True).order_by("id"):
            props = tuple(sorted(d.properties.items())) if isinstance(d.properties, dict) else ()
            table[d.project_id].append(Route(d.pk, frozenset(d.events or ()), props, d.batch_size))
        with self._lock:
            self._table = {project_id: tuple(routes) for project_id, routes in table.items()}
            self._expires = time.monotonic() + settings.EVENTBASE["DESTINATION_CACHE_SECONDS"]
        return self._table

    def forget(self) -> None:
        with self._lock:
            self._expires = 0.0


_ROUTES = _Routes()


def destination_routes_forget() -> None:
    """Read the destinations again at the next flush (called when one is created or changed)."""
    _ROUTES.forget()


@dataclass
class Candidate:
    """An event of the batch that some destination takes, if the event store inserts it."""

    project_id: int
    event_id: str
    ts_us: int
    routes: list[Route]


def outbox_candidates(entries: Iterable[Entry]) -> list[Candidate]:
    """The batch's events that enabled destinations take (by name and properties)."""
    table = _ROUTES.table()
    if not table:
        return []
    found: list[Candidate] = []
    for entry in entries:
        routes = table.get(entry.project_id)
        if not routes:
            continue
        needs_properties = any(route.properties for route in routes)
        for ts, _user, _session, _flag, body in entry.records:
            properties = None
            if needs_properties:
                event_id, name, _source, _u, _a, _t, props_text, _rest = body.split("\t", 7)
                properties = orjson.loads(records.copy_unescape(props_text) or "{}")
            else:  # the id and the name lead the body: split no further
                event_id, name, _rest = body.split("\t", 2)
            name = records.copy_unescape(name) or ""
            taken = [route for route in routes if route.takes(name, properties)]
            if taken:
                found.append(Candidate(entry.project_id, event_id, int(ts), taken))
    return found


_OUTBOX_SQL = """
INSERT INTO ingestion_destinationbatch
    (id, destination_id, event_keys, event_count, status, attempts, next_attempt_at, last_error, created_at)
SELECT b, d, k::jsonb, n, 'pending', 0, %s, '', %s
FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::int[]) AS t(b, d, k, n)
WHERE EXISTS (SELECT 1 FROM ingestion_destination WHERE id = d)
"""
# (The EXISTS: a destination deleted after this process cached it must not fail the flush.)


def outbox_write(
    cursor: CursorWrapper, candidates: list[Candidate], inserted: frozenset[tuple[int, str]] | None
) -> int:
    """Write the batches of the candidates the event store inserted (``inserted`` None: all of
    them) in the caller's transaction, each destination's events in batches of its size.
    Returns the number of batches written."""
    keys_by_route: dict[Route, list[list[Any]]] = defaultdict(list)
    for candidate in candidates:
        if inserted is not None and (candidate.project_id, candidate.event_id) not in inserted:
            continue
        for route in candidate.routes:
            keys_by_route[route].append([candidate.event_id, candidate.ts_us])
    ids: list[uuid.UUID] = []
    destinations: list[int] = []
    keys: list[str] = []
    counts: list[int] = []
    for route, event_keys in keys_by_route.items():
        for start in range(0, len(event_keys), route.batch_size):
            chunk = event_keys[start : start + route.batch_size]
            ids.append(uuid.uuid4())
            destinations.append(route.destination_id)
            keys.append(orjson.dumps(chunk).decode())
            counts.append(len(chunk))
    if ids:
        now = django_now()
        cursor.execute(_OUTBOX_SQL, [now, now, ids, destinations, keys, counts])
    return len(ids)

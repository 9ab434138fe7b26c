"""The events behind the alert and subscription tests, and their plain-Python counts.

Committed (the report queries read through DuckDB, which sees committed rows only) in
America/New_York, across the 2024-03-10 DST change, with events close to local midnight so that a
UTC-day count would differ from the local one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Iterator

from analytics.rollups import derived_rows_delete, rollups_process_dirty
from analytics.tests.factories import RawEvent, events_delete, events_insert, touched_days
from core import days as daysmod
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset
from projects.models import Project

TZ_NAME = "America/New_York"
TZ = daysmod.zone(TZ_NAME)
FIRST = dt.date(2024, 3, 5)
SIGNUPS = [4, 10, 10, 2, 0, 0, 7, 7, 30, 15, 15, 3]  # per local day from FIRST
PAGEVIEWS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
DAYS = [FIRST + dt.timedelta(days=i) for i in range(len(SIGNUPS))]


def dataset_events(project_id: int) -> list[RawEvent]:
    out = []
    for day, signups, views in zip(DAYS, SIGNUPS, PAGEVIEWS, strict=True):
        for n in range(signups):
            # Alternately just after local midnight and just before the next: other UTC days.
            local = dt.datetime.combine(day, dt.time(0, 5 + n) if n % 2 else dt.time(23, 50 - n), tzinfo=TZ)
            out.append(RawEvent(project_id, "signup", f"u-{n}", local.astimezone(dt.UTC)))
        for n in range(views):
            local = dt.datetime.combine(day, dt.time(12, n), tzinfo=TZ)
            out.append(RawEvent(project_id, "$pageview", f"v-{n % 3}", local.astimezone(dt.UTC)))
    return out


@contextlib.contextmanager
def project_with_events(django_db_blocker, slug: str) -> Iterator[Project]:
    """A committed project holding ``dataset_events`` (as ``test_events``), removed afterwards."""
    with django_db_blocker.unblock():
        made = Project.objects.create(name=slug, slug=slug, timezone=TZ_NAME)
        events = dataset_events(made.pk)
        events_insert(events)
        rollups_mark_dirty(touched=touched_days(events))
        rollups_process_dirty()
        made.test_events = events  # type: ignore[attr-defined]
        try:
            yield made
        finally:
            duckdb_reset()
            events_delete([made.pk])
            derived_rows_delete(project_ids=[made.pk])
            Project.objects.filter(pk=made.pk).delete()


def oracle_counts(events: list[RawEvent], name: str) -> Counter[dt.date]:
    """Events of ``name`` per local day, counted in plain Python."""
    return Counter(e.timestamp.astimezone(TZ).date() for e in events if e.event_name == name)


def oracle_users(events: list[RawEvent]) -> dict[dt.date, int]:
    """Distinct users with any event per local day."""
    users: dict[dt.date, set[str]] = {}
    for e in events:
        users.setdefault(e.timestamp.astimezone(TZ).date(), set()).add(e.user_id)
    return {day: len(ids) for day, ids in users.items()}

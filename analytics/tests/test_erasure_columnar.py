"""An erasure removes the ids' events from the columnar tier's answers and its files at once."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import connection, transaction

from analytics.erasure import user_erase
from analytics.query.series import top_events_counts
from analytics.query.source import EventScope
from analytics.tests.factories import RawEventFactory, events_delete, events_insert, touched_days
from events.columnar import columnar_forget, columnar_path, columnar_write_dirty
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)  # DuckDB reads committed rows only

DAY = dt.date(2025, 6, 2)


def test_erased_ids_leave_the_files_and_the_answers():
    duckdb_reset()
    project = ProjectFactory(timezone="UTC", raw_retention_days=10 * 365)
    at = dt.datetime.combine(DAY, dt.time(12), tzinfo=dt.UTC)
    events = [
        RawEventFactory(project_id=project.pk, user_id=user, timestamp=at + dt.timedelta(minutes=i))
        for i, user in enumerate(["gone", "gone", "kept"])
    ]
    try:
        events_insert(events)
        rollups_mark_dirty(touched=touched_days(events))
        assert columnar_write_dirty(max_days=5, settle_seconds=0) == 1
        scope = EventScope(project.pk, zoneinfo.ZoneInfo("UTC"), DAY, DAY)
        assert top_events_counts(scope, limit=5) == [("pageview", 3, 2)]
        user_erase(project=project, user_id="gone")
        assert not columnar_path(project.pk, DAY).exists()
        assert top_events_counts(scope, limit=5) == [("pageview", 1, 1)]
    finally:
        events_delete([project.pk])
        with transaction.atomic():
            columnar_forget(project_id=project.pk)
        with connection.cursor() as cur:
            cur.execute("DELETE FROM events_columnar_dirty WHERE project_id = %s", [project.pk])
        duckdb_reset()

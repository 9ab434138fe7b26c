"""The taxonomy's part of a rebuild: per-type counts follow the events, rebuilds are idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from analytics import rollups
from analytics.models import DailyPropertySample, PropertyDefinition
from analytics.rollups import rollup_rebuild_days
from analytics.tests.factories import RawEventFactory, events_insert
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _counts(project_id: int, event: str, key: str) -> tuple[int, int, int, int]:
    row = PropertyDefinition.objects.get(project_id=project_id, event_name=event, key=key)
    return row.string_events, row.number_events, row.boolean_events, row.datetime_events


def test_types_are_summed_over_days_and_follow_erased_events(today):
    project = ProjectFactory(timezone="UTC", raw_retention_days=400)
    days = [today - dt.timedelta(days=3), today - dt.timedelta(days=2)]
    values = {days[0]: [1, "x", "2026-01-01", None], days[1]: [2.5, True]}
    events = [
        RawEventFactory.build(
            project_id=project.pk,
            event_name="e",
            user_id=f"u{n}",
            timestamp=dt.datetime.combine(day, dt.time(10, n), tzinfo=dt.UTC),
            properties={"k": value, "only_first_day": 1} if day == days[0] else {"k": value},
        )
        for day, day_values in values.items()
        for n, value in enumerate(day_values)
    ]
    events_insert(events)
    rollup_rebuild_days(project_id=project.pk, tz_name="UTC", days=days)
    rollup_rebuild_days(project_id=project.pk, tz_name="UTC", days=days)  # idempotent
    assert _counts(project.pk, "e", "k") == (1, 2, 1, 1)
    assert _counts(project.pk, "e", "only_first_day") == (0, 4, 0, 0)
    # The first day's events are erased: its keys are re-summed, down to zero when no day is left.
    with connection.cursor() as cur:
        cur.execute(
            'DELETE FROM events WHERE project_id = %s AND "timestamp" < %s',
            [project.pk, dt.datetime.combine(days[1], dt.time(), tzinfo=dt.UTC)],
        )
    rollup_rebuild_days(project_id=project.pk, tz_name="UTC", days=[days[0]])
    assert _counts(project.pk, "e", "k") == (0, 1, 1, 0)
    assert _counts(project.pk, "e", "only_first_day") == (0, 0, 0, 0)


def test_keys_over_the_cap_keep_their_most_frequent_values(monkeypatch, today):
    monkeypatch.setattr(rollups, "PROPERTY_VALUES_CAP", 2)
    project = ProjectFactory(timezone="UTC", raw_retention_days=400)
    day = today - dt.timedelta(days=1)
    paths = ["/a", "/a", "/a", "/b", "/b", "/c"]
    events_insert(
        [
            RawEventFactory.build(
                project_id=project.pk,
                timestamp=dt.datetime.combine(day, dt.time(9, n), tzinfo=dt.UTC),
                properties={"path": path, "$set": {"email": f"{n}@x"}, "$anon_distinct_id": f"a{n}"},
            )
            for n, path in enumerate(paths)
        ]
    )
    rollup_rebuild_days(project_id=project.pk, tz_name="UTC", days=[day])
    kept = DailyPropertySample.objects.filter(project_id=project.pk, day=day).values_list("key", "value", "events")
    assert sorted(kept) == [("path", "/a", 3), ("path", "/b", 2)]  # never a person data key's values

"""The real-time view reads raw events of the last hour; checked against the same rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.tests.factories import RawEventFactory, events_insert
from projects.tests.factories import ProjectFactory, read_key_for

pytestmark = pytest.mark.django_db


def test_live_view(django_assert_max_num_queries):
    project, other = ProjectFactory(), ProjectFactory()
    now = timezone.now()
    ago = [dt.timedelta(seconds=s) for s in (5, 50, 130, 299, 301, 600, 899, 1500, 3000, 3700)]
    events = [
        RawEventFactory(project_id=project.pk, user_id=f"u{i % 4}", event_name=f"e{i % 3}", timestamp=now - d)
        for i, d in enumerate(ago)
    ]
    events_insert([*events, RawEventFactory(project_id=other.pk, timestamp=now - dt.timedelta(seconds=10))])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key_for(project)}")
    with django_assert_max_num_queries(4):
        body = client.get(f"/api/v1/projects/{project.slug}/live").json()
    served_now = dt.datetime.fromisoformat(body["now"])
    recent5 = {e.user_id for e in events if served_now - e.timestamp < dt.timedelta(minutes=5)}
    assert body["active_users_5m"] == len(recent5)
    minutes = [dt.datetime.fromisoformat(m["minute"]) for m in body["events_per_minute"]]
    assert len(minutes) == 15 and minutes[-1] == served_now.replace(second=0, microsecond=0)
    per_minute = Counter(e.timestamp.replace(second=0, microsecond=0) for e in events)
    assert [m["count"] for m in body["events_per_minute"]] == [per_minute.get(m, 0) for m in minutes]
    last_hour = Counter(e.event_name for e in events if served_now - e.timestamp < dt.timedelta(hours=1))
    assert body["top_events_1h"] == [
        {"event": name, "count": n} for name, n in sorted(last_hour.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


@pytest.mark.django_db(transaction=True)  # DuckDB reads committed rows only
def test_live_view_filtered():
    project = ProjectFactory()
    now = timezone.now()
    ago = [dt.timedelta(seconds=s) for s in (5, 50, 130, 299, 301, 600, 899, 1500, 3000, 3700)]
    events = [
        RawEventFactory(
            project_id=project.pk,
            user_id=f"u{i % 4}",
            event_name=f"e{i % 3}",
            timestamp=now - d,
            properties={"plan": "pro" if i % 2 else "free"},
        )
        for i, d in enumerate(ago)
    ]
    events_insert(events)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key_for(project)}")
    pro = '[{"type": "event", "key": "plan", "operator": "exact", "value": "pro"}]'
    body = client.get(f"/api/v1/projects/{project.slug}/live", {"filters": pro}).json()
    kept = [e for e in events if e.properties["plan"] == "pro"]
    served_now = dt.datetime.fromisoformat(body["now"])
    assert body["active_users_5m"] == len(
        {e.user_id for e in kept if served_now - e.timestamp < dt.timedelta(minutes=5)}
    )
    minutes = [dt.datetime.fromisoformat(m["minute"]) for m in body["events_per_minute"]]
    per_minute = Counter(e.timestamp.replace(second=0, microsecond=0) for e in kept)
    assert [m["count"] for m in body["events_per_minute"]] == [per_minute.get(m, 0) for m in minutes]
    last_hour = Counter(e.event_name for e in kept if served_now - e.timestamp < dt.timedelta(hours=1))
    assert body["top_events_1h"] == [
        {"event": name, "count": n} for name, n in sorted(last_hour.items(), key=lambda kv: (-kv[1], kv[0]))
    ]

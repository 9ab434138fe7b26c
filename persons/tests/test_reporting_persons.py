"""Reports count persons: events sent under an anonymous id before the link count for the person.

Hand count. Yesterday, visitor A browses anonymously (3 page views as "anon-a"), the day is rolled
up, then A signs up: $identify links "anon-a" to "user-a", and "signup", "purchase" and one more page
view follow as "user-a". Visitor B views one page and leaves. So:

- daily active people: 2 (A and B), not 3 ids;
- funnel $pageview -> signup -> purchase: 2, 1, 1 (A's page views were anonymous);
- unique users of $pageview: 2; the day's retention cohort: 2 people.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from django.db import connection

from analytics.rollups import rollups_process_dirty
from bench import engines
from events.duck import duckdb_reset
from events.partitions import forget_known_partitions
from ingestion.flush import drain
from projects.tests.factories import ProjectFactory, ingest_key_for
from reporting.queries import active_users, funnels, retention, trends

pytestmark = pytest.mark.django_db(transaction=True)

DAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
T0 = dt.datetime.combine(DAY, dt.time(10), tzinfo=dt.UTC)


@pytest.fixture
def project() -> Iterator[object]:
    forget_known_partitions()
    duckdb_reset()
    project = ProjectFactory()
    yield project
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events WHERE project_id = %s", [project.pk])
    duckdb_reset()  # its attached PostgreSQL session would block dropping the test database
    forget_known_partitions()


def _send(client, project, events: list[tuple[str, str, int, dict | None]]) -> None:
    body = {
        "events": [
            {
                "event": name,
                "user_id": user,
                "timestamp": (T0 + dt.timedelta(minutes=minute)).isoformat(),
                "properties": props or {},
            }
            for name, user, minute, props in events
        ]
    }
    response = client.post(
        "/api/v1/events",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key_for(project)}",
    )
    assert response.status_code == 202 and response.json()["accepted"] == len(events)
    drain(seconds=10)
    rollups_process_dirty()


def _reports(project) -> dict:
    funnel = {"steps": ["$pageview", "signup", "purchase"], "date_from": DAY, "date_to": DAY, "window_hours": 24}
    return {
        "dau": active_users.active_users_series(project=project, date_from=DAY, date_to=DAY, interval="day")[0],
        "funnel": [row["users"] for row in funnels.funnel_compute(project=project, **funnel)],
        "funnel_pg": [row["users"] for row in engines.funnel_compute_postgres(project=project, **funnel)],
        "pageview_users": trends.trends_series(
            project=project, event="$pageview", date_from=DAY, date_to=DAY, interval="day", math="users"
        ),
        "hourly_pageview_users": trends.trends_series(
            project=project, event="$pageview", date_from=DAY, date_to=DAY, interval="hour", math="users"
        ),
        "cohort": retention.retention_cohorts(project=project, date_from=DAY, date_to=DAY, period="day")[0],
    }


def test_anonymous_history_counts_for_the_identified_person(client, project):
    _send(client, project, [("$pageview", "anon-a", m, None) for m in range(3)] + [("$pageview", "b", 1, None)])
    before = _reports(project)
    assert before["dau"]["users"] == 2
    _send(
        client,
        project,
        [
            ("$identify", "user-a", 3, {"$anon_distinct_id": "anon-a", "$set": {"email": "a@example.com"}}),
            ("signup", "user-a", 4, None),
            ("purchase", "user-a", 5, None),
            ("$pageview", "user-a", 6, None),
        ],
    )
    after = _reports(project)
    assert after["dau"]["users"] == 2  # A (anon-a + user-a) and B; three ids
    assert after["funnel"] == [2, 1, 1]
    assert after["funnel_pg"] == [2, 1, 1]
    # $pageview was sent by three ids of two people: daily (rollup bitmaps), hourly (raw events).
    assert [point["value"] for point in after["pageview_users"][0]["data"]] == [2]
    assert sum(point["value"] for point in after["hourly_pageview_users"][0]["data"]) == 2
    assert after["cohort"]["cohort_size"] == 2

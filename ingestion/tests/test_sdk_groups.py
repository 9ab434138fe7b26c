"""Groups sent by the real SDKs (posthog-python's ``group_identify`` and ``groups=``, Segment's
``group``) through the live server, counted by company in the trends report."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from rest_framework.test import APIClient

from analytics.rollups import rollups_process_dirty
from events.duck import duckdb_reset
from ingestion.tests.test_sdks import _posthog_client, _sdk_errors
from persons.groups import group_types
from persons.models import Group
from projects.models import Project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _clean_up(project, live_server_closes_connections) -> Iterator[None]:
    yield
    duckdb_reset()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events WHERE project_id = %s", [project.pk])


def _trends(project: Project, read_key: str, event: str, **params) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key}")
    response = client.get(f"/api/v1/projects/{project.slug}/trends", {"event": event, "math": "users", **params})
    assert response.status_code == 200, response.content
    return sum(point["value"] for point in response.json()["series"][0]["data"])


def test_sdk_groups_are_counted_by_company(project, ingest_key, read_key, live_server, flush):
    from segment.analytics import Client as SegmentClient

    errors, on_error = _sdk_errors()
    posthog = _posthog_client(ingest_key, live_server, on_error)
    posthog.group_identify("company", "acme", {"name": "Acme", "plan": "pro"}, distinct_id="alice")
    posthog.group_identify("company", "acme", {"plan": "enterprise"}, distinct_id="alice")
    for user, company in (("alice", "acme"), ("bob", "acme"), ("carol", "globex")):
        posthog.capture("report_viewed", distinct_id=user, groups={"company": company})
    posthog.capture("report_viewed", distinct_id="dave")  # of no company: a person, not a company
    posthog.shutdown()
    segment = SegmentClient(ingest_key, host=live_server.url, sync_mode=True, max_retries=0, on_error=on_error)
    segment.group(user_id="erin", group_id="initech", traits={"employees": 12})
    segment.flush()
    assert errors == []
    flush()
    rollups_process_dirty()  # the reports know the events' names from the rollups

    assert group_types(project_id=project.pk) == [{"group_type": "company", "index": 0}]
    groups = {g.group_key: g.properties for g in Group.objects.filter(project_id=project.pk)}
    assert groups == {"acme": {"name": "Acme", "plan": "enterprise"}, "initech": {"employees": 12}}
    assert _trends(project, read_key, "report_viewed") == 4
    assert _trends(project, read_key, "report_viewed", aggregation_group_type="company") == 2
    assert _trends(project, read_key, "$groupidentify", aggregation_group_type="company") == 2

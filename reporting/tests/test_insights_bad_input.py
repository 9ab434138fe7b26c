"""Bad input to the insights, dashboards and share-link endpoints: a 4xx naming the field, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from analytics.models import EventDefinition
from projects.models import ProjectMembership, ProjectRole
from projects.tests.factories import ProjectFactory
from reporting.models import Dashboard, Insight, ShareLink

pytestmark = pytest.mark.django_db

TRENDS = {"series": [{"event": "signup"}]}
HUGE = 10**20  # beyond PostgreSQL's bigint


@pytest.fixture
def ctx():
    project = ProjectFactory(timezone="Europe/Berlin")
    day = dt.date(2024, 3, 1)
    EventDefinition.objects.create(project_id=project.pk, event_name="signup", first_seen_day=day, last_seen_day=day)
    user = get_user_model().objects.create_user("bad-input-editor")
    ProjectMembership.objects.create(project=project, user=user, role=ProjectRole.EDITOR)
    client = APIClient()
    client.force_login(user)
    insight = Insight.objects.create(project=project, name="i", kind="trends", query=TRENDS)
    dashboard = Dashboard.objects.create(project=project, name="d")
    return client, f"/api/v1/projects/{project.slug}/", insight, dashboard


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "key"),
    [
        ("post", "insights", ["a", "list"], 400, "non_field_errors"),
        ("post", "insights", {"name": "x" * 201, "kind": "trends", "query": TRENDS}, 400, "name"),
        ("post", "insights", {"name": "x", "kind": 123, "query": TRENDS}, 400, "kind"),
        ("post", "insights", {"name": "x", "kind": "trends"}, 400, "query"),
        ("post", "insights", {"name": "x", "kind": "trends", "query": None}, 400, "query"),
        ("post", "insights", {"name": "x", "kind": "trends", "query": {"series": [{"event": "nope"}]}}, 400,
         "query.series"),
        ("post", "insights", {"name": "x", "kind": "trends", "query": {**TRENDS, "filters": [{"type": "x"}]}}, 400,
         "query.filters"),
        ("post", "insights", {"name": "x", "kind": "trends", "query": TRENDS, "date_range": None}, 400, "date_range"),
        ("post", "insights", {"name": "x", "kind": "trends", "query": TRENDS, "date_range": {"last_days": True}}, 400,
         "date_range"),
        ("post", "insights", {"name": "x", "kind": "trends", "query": TRENDS, "date_range": {"from": 20240101}}, 400,
         "date_range"),
        ("post", "insights", {"name": "x", "kind": "trends", "query": TRENDS, "date_range": {"from": "9999-01-01"}},
         400, "date_range"),
        ("post", "insights", {"name": "x", "kind": "paths", "query": {}, "date_range": {"last_days": 731}}, 400,
         "date_range"),
        ("post", "insights", {"name": "x", "kind": "retention", "query": {"period": "day"},
                              "date_range": {"last_days": 200}}, 400, "date_range"),
        ("patch", "insights/{insight}", {"version": "x"}, 400, "version"),
        ("patch", "insights/{insight}", {"version": 0}, 400, "version"),
        ("patch", "insights/{insight}", {"query": {"series": "signup"}}, 400, "query.series"),
        ("get", f"insights/{HUGE}", None, 404, None),
        ("get", "insights/{insight}/results?dashboard=-1", None, 400, "dashboard"),
        ("get", f"insights/{{insight}}/results?dashboard={HUGE}", None, 404, None),
        ("post", "dashboards", {"name": "x", "tiles": "all"}, 400, "tiles"),
        ("post", "dashboards", {"name": "x", "tiles": [{"insight": "abc"}]}, 400, "tiles"),
        ("post", "dashboards", {"name": "x", "tiles": [{"insight": HUGE}]}, 400, "tiles"),
        ("post", "dashboards", {"name": "x", "is_default": "maybe"}, 400, "is_default"),
        ("post", "dashboards", {"name": "x", "filters": {"type": "event"}}, 400, "filters"),
        ("post", "dashboards", {"name": "x", "filters": [{"type": "group", "group_type": "company", "key": "k",
                                                          "operator": "exact", "value": "v"}]}, 400, "filters"),
        ("post", "dashboards", {"name": "x", "date_range": {"period": "eon"}}, 400, "date_range"),
        ("post", "dashboards/{dashboard}/tiles", {"insight": HUGE}, 400, "insight"),
        ("post", "dashboards/{dashboard}/tiles", {"insight": "{insight}", "width": 13}, 400, "width"),
        ("post", "dashboards/{dashboard}/tiles", {"insight": "{insight}", "height": 0}, 400, "height"),
        ("post", f"dashboards/{HUGE}/tiles", {"insight": "{insight}"}, 404, None),
        ("post", "dashboards/{dashboard}/share", {"expires_at": "2999-13-01"}, 400, "expires_at"),
        ("post", "dashboards/{dashboard}/share", {"expires_at": 0}, 400, "expires_at"),
        ("post", "insights/{insight}/share", {"expires_at": "yesterday"}, 400, "expires_at"),
        ("delete", f"share-links/{HUGE}", None, 404, None),
    ],
)  # fmt: skip
def test_bad_input_is_a_precise_4xx(ctx, method, path, body, status, key):
    client, base, insight, dashboard = ctx
    ids = {"insight": insight.pk, "dashboard": dashboard.pk}
    if isinstance(body, dict):
        body = {k: ids["insight"] if v == "{insight}" else v for k, v in body.items()}
    response = getattr(client, method)(base + path.format(**ids), body, format="json")
    assert response.status_code == status, response.content
    if key is not None:
        assert key in response.json(), response.json()
    assert Insight.objects.filter(project_id=insight.project_id).count() == 1
    assert Insight.objects.get(pk=insight.pk).version == 1
    assert Dashboard.objects.filter(project_id=insight.project_id).count() == 1
    assert not ShareLink.objects.exists()

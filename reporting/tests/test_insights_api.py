"""Insights and dashboards CRUD: the shapes, the 400s naming the field, versions (409), layouts,
the one default dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from analytics.models import EventDefinition
from projects.models import ProjectMembership, ProjectRole
from projects.tests.factories import ProjectFactory
from reporting.models import Dashboard, DashboardTile, Insight

pytestmark = pytest.mark.django_db

TRENDS = {"series": [{"event": "signup"}], "interval": "day"}


@pytest.fixture
def project():
    project = ProjectFactory(timezone="UTC")
    # What the reports' inputs check events against (the rollups would write it from events).
    for name in ("signup", "$pageview"):
        day = dt.date(2024, 3, 1)
        EventDefinition.objects.create(project_id=project.pk, event_name=name, first_seen_day=day, last_seen_day=day)
    return project


@pytest.fixture
def editor(project):
    user = get_user_model().objects.create_user("ins-editor", password="pw-123456-long")
    ProjectMembership.objects.create(project=project, user=user, role=ProjectRole.EDITOR)
    client = APIClient()
    client.force_login(user)
    client.user = user
    return client


def url(project, path: str) -> str:
    return f"/api/v1/projects/{project.slug}/{path}"


def make(client, project, **body):
    payload = {"name": "Signups", "kind": "trends", "query": TRENDS, **body}
    response = client.post(url(project, "insights"), payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_insight_round_trip(editor, project):
    body = make(editor, project, description="daily")
    assert set(body) == {
        "id", "name", "description", "kind", "query", "date_range", "created_by", "created_at", "updated_at",
        "version", "dashboards",
    }  # fmt: skip
    assert body["date_range"] == {"last_days": 30}  # the default, stored relative
    assert body["created_by"] == {"id": editor.user.pk, "username": "ins-editor"}
    assert body["version"] == 1 and body["dashboards"] == [] and body["query"] == TRENDS
    got = editor.get(url(project, f"insights/{body['id']}")).json()
    assert got == body

    patched = editor.patch(url(project, f"insights/{body['id']}"), {"name": "Renamed"}, format="json").json()
    assert patched["name"] == "Renamed" and patched["version"] == 2 and patched["query"] == TRENDS
    assert editor.delete(url(project, f"insights/{body['id']}")).status_code == 204
    assert editor.get(url(project, f"insights/{body['id']}")).status_code == 404


def test_list_newest_first_kind_and_search(editor, project):
    a = make(editor, project, name="Signups per day")
    b = make(editor, project, name="Funnel", kind="funnels", query={"steps": ["$pageview", "signup"]})
    c = make(editor, project, name="More SIGNUPS")
    ids = [r["id"] for r in editor.get(url(project, "insights")).json()["results"]]
    assert ids == [c["id"], b["id"], a["id"]]
    ids = [r["id"] for r in editor.get(url(project, "insights"), {"kind": "funnels"}).json()["results"]]
    assert ids == [b["id"]]
    ids = [r["id"] for r in editor.get(url(project, "insights"), {"search": "signups"}).json()["results"]]
    assert ids == [c["id"], a["id"]]


@pytest.mark.parametrize(
    ("body", "key", "text"),
    [
        ({"kind": "pie"}, "kind", "unknown kind"),
        ({"query": {"series": [{"event": "signup"}], "interval": "fortnight"}}, "query.interval", ""),
        ({"query": {"series": []}}, "query.series", ""),
        ({"query": ["not", "an", "object"]}, "query", "JSON object"),
        ({"query": {**TRENDS, "from": "2024-01-01"}}, "query", "date_range"),
        ({"date_range": {"last_days": 0}}, "date_range", "last_days"),
        ({"date_range": {"period": "next_year"}}, "date_range", "period"),
        ({"date_range": {"from": "2024-02-30"}}, "date_range", "from"),
        ({"date_range": {"from": "2024-03-02", "to": "2024-03-01"}}, "date_range", "after"),
        ({"name": ""}, "name", ""),
    ],
)
def test_insight_400s_name_the_field(editor, project, body, key, text):
    payload = {"name": "x", "kind": "trends", "query": TRENDS, **body}
    response = editor.post(url(project, "insights"), payload, format="json")
    assert response.status_code == 400, response.content
    assert key in response.json(), response.json()
    assert text in str(response.json()[key])
    assert not Insight.objects.filter(project=project).exists()


def test_patch_revalidates_and_changes_nothing_on_400(editor, project):
    body = make(editor, project)
    response = editor.patch(url(project, f"insights/{body['id']}"), {"kind": "funnels"}, format="json")
    assert response.status_code == 400 and "query.steps" in response.json()
    stored = Insight.objects.get(pk=body["id"])
    assert (stored.kind, stored.version) == ("trends", 1)


def test_version_conflict_409(editor, project):
    body = make(editor, project)
    path = url(project, f"insights/{body['id']}")
    first = editor.patch(path, {"name": "mine", "version": 1}, format="json")
    assert first.status_code == 200 and first.json()["version"] == 2
    late = editor.patch(path, {"name": "theirs", "version": 1}, format="json")
    assert late.status_code == 409
    assert "version 1" in late.json()["detail"] and "now 2" in late.json()["detail"]
    assert Insight.objects.get(pk=body["id"]).name == "mine"


def test_dashboard_layout_default_and_tiles(editor, project):
    a, b, c = (make(editor, project, name=n) for n in "abc")
    first = editor.post(url(project, "dashboards"), {"name": "Main", "is_default": True}, format="json")
    assert first.status_code == 201, first.content
    d1 = first.json()
    assert d1["is_default"] and d1["tiles"] == [] and d1["filters"] == [] and d1["date_range"] is None
    d2 = editor.post(url(project, "dashboards"), {"name": "Other", "is_default": True}, format="json").json()
    assert not Dashboard.objects.get(pk=d1["id"]).is_default and Dashboard.objects.get(pk=d2["id"]).is_default

    tile = editor.post(url(project, f"dashboards/{d1['id']}/tiles"), {"insight": a["id"], "width": 12}, format="json")
    assert tile.status_code == 201, tile.content
    assert tile.json()["insight"]["id"] == a["id"] and tile.json()["width"] == 12 and tile.json()["position"] == 0
    again = editor.post(url(project, f"dashboards/{d1['id']}/tiles"), {"insight": a["id"]}, format="json")
    assert again.status_code == 400 and "already" in str(again.json()["insight"])

    layout = [{"insight": c["id"], "width": 3, "height": 4}, {"insight": a["id"]}, {"insight": b["id"]}]
    patched = editor.patch(url(project, f"dashboards/{d1['id']}"), {"tiles": layout, "is_default": True}, format="json")
    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert [t["insight"]["id"] for t in body["tiles"]] == [c["id"], a["id"], b["id"]]
    assert [(t["position"], t["width"], t["height"]) for t in body["tiles"]] == [(0, 3, 4), (1, 12, 2), (2, 6, 2)]
    assert body["tiles"][1]["id"] == tile.json()["id"]  # a tile that stays keeps its id
    assert body["is_default"] and not Dashboard.objects.get(pk=d2["id"]).is_default
    assert editor.get(url(project, f"insights/{a['id']}")).json()["dashboards"] == [d1["id"]]
    listed = editor.get(url(project, "dashboards")).json()["results"]
    assert [d["id"] for d in listed] == [d1["id"], d2["id"]]

    assert editor.delete(url(project, f"dashboards/{d1['id']}")).status_code == 204
    assert Insight.objects.filter(pk=a["id"]).exists() and not DashboardTile.objects.exists()


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"tiles": [{"insight": "{a}", "width": 2}]}, "tiles"),
        ({"tiles": [{"insight": "{a}", "height": 5}]}, "tiles"),
        ({"tiles": [{"insight": "{a}"}, {"insight": "{a}"}]}, "tiles"),
        ({"tiles": [{"insight": 999999}]}, "tiles"),
        ({"tiles": [{"insight": "{foreign}"}]}, "tiles"),
        ({"filters": [{"type": "event", "key": "plan", "operator": "nearly", "value": "x"}]}, "filters"),
        ({"filters": "not json"}, "filters"),
        ({"date_range": {"last_days": 10_000}}, "date_range"),
        ({"version": 7}, None),  # 409
    ],
)
def test_dashboard_patch_refusals(editor, project, body, key):
    a = make(editor, project)
    foreign = Insight.objects.create(project=ProjectFactory(), name="theirs", kind="trends", query=TRENDS)
    d = editor.post(url(project, "dashboards"), {"name": "Main"}, format="json").json()
    ids = {"{a}": a["id"], "{foreign}": foreign.pk}
    if "tiles" in body:
        body = {"tiles": [{**t, "insight": ids.get(t["insight"], t["insight"])} for t in body["tiles"]]}
    response = editor.patch(url(project, f"dashboards/{d['id']}"), body, format="json")
    if key is None:
        assert response.status_code == 409
    else:
        assert response.status_code == 400, response.content
        assert key in response.json(), response.json()
    stored = Dashboard.objects.get(pk=d["id"])
    assert (stored.version, stored.filters, stored.tiles.count()) == (1, [], 0)


def test_tile_of_another_project_is_400(editor, project):
    foreign = Insight.objects.create(project=ProjectFactory(), name="theirs", kind="trends", query=TRENDS)
    d = editor.post(url(project, "dashboards"), {"name": "Main"}, format="json").json()
    response = editor.post(url(project, f"dashboards/{d['id']}/tiles"), {"insight": foreign.pk}, format="json")
    assert response.status_code == 400 and "insight" in response.json()
    assert editor.get(url(project, f"insights/{foreign.pk}")).status_code == 404


def test_dashboard_filters_and_range_are_stored(editor, project):
    filters = [{"type": "event", "key": "plan", "operator": "exact", "value": "pro"}]
    body = {"name": "Pro", "filters": filters, "date_range": {"period": "last_month"}}
    d = editor.post(url(project, "dashboards"), body, format="json").json()
    assert d["filters"] == filters and d["date_range"] == {"period": "last_month"}
    cleared = editor.patch(url(project, f"dashboards/{d['id']}"), {"date_range": None}, format="json").json()
    assert cleared["date_range"] is None and cleared["version"] == 2

"""A saved insight's results: the same answer as its report endpoint for the same input, and the
independent oracle's numbers; relative ranges resolved on the project's today; a dashboard's
filters and range applied exactly like passing them; CSV rows that are the JSON's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zoneinfo

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from projects.tests.factories import ProjectFactory, editor_key_for
from reporting.insights.kinds import KINDS
from reporting.insights.tables import insight_table
from reporting.tests import engagement_oracle, oracle
from reporting.tests.conftest import DAYS, FIRST_DAY

pytestmark = pytest.mark.django_db

LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)
FROM, TO = dt.date(2024, 2, 22), dt.date(2024, 3, 21)
FIXED = {"from": FROM.isoformat(), "to": TO.isoformat()}


@pytest.fixture(params=["ny", "kolkata"])
def tenant(request, dataset):
    return getattr(dataset, request.param)


def save(client, slug: str, kind: str, query: dict, date_range: dict, name: str = "saved") -> dict:
    body = {"name": name, "kind": kind, "query": query, "date_range": date_range}
    response = client.post(f"/api/v1/projects/{slug}/insights", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def results(client, slug: str, insight_id: int, **params) -> dict:
    response = client.get(f"/api/v1/projects/{slug}/insights/{insight_id}/results", params)
    assert response.status_code == 200, response.content
    return response.json()


def endpoint(tenant, kind: str, query: dict, first: dt.date, last: dt.date) -> dict:
    """The report endpoint's own answer to ``query`` for those days, without complete_until."""
    spec = KINDS[kind]
    url = reverse(spec.endpoint, kwargs={"slug": tenant.project.slug})
    data = {**query, "from": first.isoformat(), "to": last.isoformat()}
    if spec.method == "post":
        response = tenant.client().post(url, data, format="json")
    else:
        params = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in data.items()}
        response = tenant.client().get(url, params)
    assert response.status_code == 200, response.content
    body = response.json()
    body.pop("complete_until")
    return body


def _trends(t, first, last):
    return [
        {
            "label": "pageview",
            "data": oracle.trends(t.events, t.tz, "pageview", first, last, "week", "total")[0]["data"],
        },
        {"label": "signup", "data": oracle.trends(t.events, t.tz, "signup", first, last, "week", "users")[0]["data"]},
    ]


# kind -> (query, date range, oracle of the result: a function of the tenant and the days, and
# what of the result it gives)
CASES = {
    "trends": (
        {"series": [{"event": "pageview"}, {"event": "signup", "math": "users"}], "interval": "week"},
        FIXED,
        lambda r: [{"label": s["label"], "data": s["data"]} for s in r["series"]],
        _trends,
    ),
    "funnels": (
        {"steps": ["pageview", "signup", "purchase"], "window_hours": 24},
        FIXED,
        lambda r: [step["users"] for step in r["results"]],
        lambda t, first, last: oracle.funnel(t.events, t.tz, ["pageview", "signup", "purchase"], first, last, 24),
    ),
    "retention": (
        {"period": "week"},
        {"from": FIRST_DAY.isoformat(), "to": LAST_DAY.isoformat()},
        lambda r: r["results"],
        lambda t, first, last: oracle.cohort_table(
            t.events, t.tz, [first + dt.timedelta(days=7 * i) for i in range(5)], 5, "week", last
        ),
    ),
    "stickiness": (
        {"event": "pageview", "interval": "day"},
        FIXED,
        lambda r: r["results"],
        lambda t, first, last: engagement_oracle.stickiness(
            t.events, t.tz, "pageview", first, last, "day", t.person_of
        ),
    ),
    "lifecycle": (
        {"event": "signup", "interval": "week"},
        FIXED,
        lambda r: r["results"],
        lambda t, first, last: engagement_oracle.lifecycle(t.events, t.tz, "signup", first, last, "week", t.person_of),
    ),
    "active-users": (
        {"interval": "day"},
        FIXED,
        lambda r: r["results"],
        lambda t, first, last: oracle.active_users(t.events, t.tz, first, last, "day"),
    ),
    "top-events": (
        {"limit": 2},
        FIXED,
        lambda r: r["results"],
        lambda t, first, last: oracle.top_events(t.events, t.tz, first, last, 2),
    ),
    "sessions": (
        {},
        FIXED,
        lambda r: r["results"],
        lambda t, first, last: oracle.sessions(t.events, t.tz, first, last),
    ),
    # No oracle of their own here (test_paths / test_web have them): the endpoint's answer is the proof.
    "paths": ({"event_types": ["custom"], "steps": 3}, FIXED, None, None),
    "web": ({"limit": 5}, FIXED, None, None),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_saved_insight_equals_endpoint_and_oracle(tenant, kind):
    query, date_range, pick, expected = CASES[kind]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(tenant.project)}")
    insight = save(client, tenant.project.slug, kind, query, date_range)
    body = results(tenant.client(), tenant.project.slug, insight["id"])  # a read key reads it
    assert set(body) == {"insight", "kind", "date_from", "date_to", "result", "complete_until"}
    assert body["insight"] == insight and body["kind"] == kind
    first, last = dt.date.fromisoformat(date_range["from"]), dt.date.fromisoformat(date_range["to"])
    assert (body["date_from"], body["date_to"]) == (first.isoformat(), last.isoformat())
    assert body["result"] == endpoint(tenant, kind, query, first, last)
    if expected is not None:
        assert pick(body["result"]) == expected(tenant, first, last)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_csv_rows_are_the_json(tenant, kind):
    query, date_range, _, _ = CASES[kind]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(tenant.project)}")
    insight = save(client, tenant.project.slug, kind, query, date_range)
    answer = results(tenant.client(), tenant.project.slug, insight["id"])
    response = tenant.client().get(
        f"/api/v1/projects/{tenant.project.slug}/insights/{insight['id']}/results?format=csv"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header, table = insight_table(kind, answer["result"])
    assert rows[0] == header
    assert rows[1:] == [["" if v is None else str(v) for v in row] for row in table]
    assert len(rows) > 1


def test_csv_of_trends_independently(tenant):
    """The trends CSV rebuilt from the JSON here, not through insight_table: one row per point."""
    query = {"series": [{"event": "signup"}], "interval": "day", "compare": True, "breakdown": {"key": "plan"}}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(tenant.project)}")
    insight = save(client, tenant.project.slug, "trends", query, FIXED)
    answer = results(tenant.client(), tenant.project.slug, insight["id"])["result"]
    url = f"/api/v1/projects/{tenant.project.slug}/insights/{insight['id']}/results"
    rows = list(csv.DictReader(io.StringIO(tenant.client().get(url, {"format": "csv"}).content.decode())))
    expected = [
        (f"{s['series']}{suffix}", s["label"], s["breakdown_value"] or "", p["date"], str(p["value"]))
        for key, suffix in (("series", ""), ("compare", " (previous)"))
        for s in answer[key] or []
        for p in s["data"]
    ]
    assert [(r["series"], r["label"], r["breakdown_value"], r["date"], r["value"]) for r in rows] == expected
    assert {r["breakdown_value"] for r in rows} >= {"a", "b", "c"}
    assert sum(int(r["value"]) for r in rows if r["series"] == "A") == sum(
        p["value"] for s in answer["series"] for p in s["data"]
    )


def test_dashboard_filters_and_range_apply_like_passing_them(tenant):
    """A tile on a dashboard: its own filters AND the dashboard's, over the dashboard's range;
    the same as the endpoint asked with the merged filters, and as the oracle's count."""
    own = [{"type": "column", "key": "source", "operator": "exact", "value": "web"}]
    board = [{"type": "event", "key": "path", "operator": "exact", "value": "/pricing"}]
    query = {"series": [{"event": "pageview"}], "interval": "day", "filters": own}
    editor = APIClient()
    editor.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(tenant.project)}")
    slug = tenant.project.slug
    insight = save(editor, slug, "trends", query, {"last_days": 30})
    dashboard = editor.post(
        f"/api/v1/projects/{slug}/dashboards", {"name": "Pricing", "filters": board, "date_range": FIXED}, format="json"
    ).json()
    assert editor.post(f"/api/v1/projects/{slug}/dashboards/{dashboard['id']}/tiles", {"insight": insight["id"]},
                       format="json").status_code == 201  # fmt: skip

    body = results(tenant.client(), slug, insight["id"], dashboard=dashboard["id"])
    assert (body["date_from"], body["date_to"]) == (FROM.isoformat(), TO.isoformat())
    merged = endpoint(tenant, "trends", {**query, "filters": own + board}, FROM, TO)
    assert body["result"] == merged
    keep = [e for e in tenant.events if e.source == "web" and e.properties.get("path") == "/pricing"]
    expected = oracle.trends(keep, tenant.tz, "pageview", FROM, TO, "day", "total")[0]["data"]
    assert body["result"]["series"][0]["data"] == expected
    unfiltered = endpoint(tenant, "trends", query, FROM, TO)["series"][0]["data"]
    assert sum(p["value"] for p in expected) < sum(p["value"] for p in unfiltered)

    # Without the dashboard: the insight's own range (the last 30 days, so no 2024 events).
    alone = results(tenant.client(), slug, insight["id"])
    assert alone["date_to"] != TO.isoformat()


def test_dashboard_must_hold_the_insight(tenant):
    editor = APIClient()
    editor.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(tenant.project)}")
    slug = tenant.project.slug
    insight = save(editor, slug, "active-users", {}, FIXED)
    empty = editor.post(f"/api/v1/projects/{slug}/dashboards", {"name": "Empty"}, format="json").json()
    url = f"/api/v1/projects/{slug}/insights/{insight['id']}/results"
    assert tenant.client().get(url, {"dashboard": empty["id"]}).status_code == 404
    assert tenant.client().get(url, {"dashboard": 10**9}).status_code == 404
    bad = tenant.client().get(url, {"dashboard": "x"})
    assert bad.status_code == 400 and "dashboard" in bad.json()
    bad = tenant.client().get(url, {"format": "xml"})
    assert bad.status_code == 400 and "format" in bad.json()


@pytest.mark.parametrize("tz_name", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_last_days_resolve_on_the_project_today(tz_name):
    """{"last_days": 7} is the project's local today and the 6 days before, decided when it runs:
    the same answer as the explicit from/to of those days. UTC+14 and UTC-11: at any time of day
    one of the two local dates is not the UTC date."""
    project = ProjectFactory(timezone=tz_name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(project)}")
    today = dt.datetime.now(zoneinfo.ZoneInfo(tz_name)).date()
    relative = save(client, project.slug, "active-users", {"interval": "day"}, {"last_days": 7})
    first = today - dt.timedelta(days=6)
    fixed = save(client, project.slug, "active-users", {"interval": "day"}, {"from": str(first), "to": str(today)})
    got, want = results(client, project.slug, relative["id"]), results(client, project.slug, fixed["id"])
    assert relative["date_range"] == {"last_days": 7}  # stored relative
    assert (got["date_from"], got["date_to"]) == (first.isoformat(), today.isoformat())
    assert got["result"] == want["result"]
    assert [r["date"] for r in got["result"]["results"]] == [str(first + dt.timedelta(days=i)) for i in range(7)]
    month = save(client, project.slug, "active-users", {}, {"period": "last_month"})
    body = results(client, project.slug, month["id"])
    last_of_previous = today.replace(day=1) - dt.timedelta(days=1)
    assert (body["date_from"], body["date_to"]) == (str(last_of_previous.replace(day=1)), str(last_of_previous))

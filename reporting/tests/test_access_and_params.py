"""Who may read what, and that bad parameters are a 400 naming the parameter (never a 500)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from projects.models import ApiKey
from projects.services import api_key_revoke
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "active-users",
    "top-events",
    "trends?event=pageview",
    "retention?start_date=2024-02-26",
    "retention/cohorts",
    "stickiness?event=pageview",
    "lifecycle?event=pageview",
    "live",
    "users",
    "users/u1-0",
    "events",
    "sessions",
    "web",
    "web/live",
    "goals",
]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_needs_credentials(dataset, path):
    response = APIClient().get(dataset.ny.url(path))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_read_key_of_another_project_gets_404(dataset, path):
    assert dataset.kolkata.client().get(dataset.ny.url(path)).status_code == 404


def test_ingest_key_gets_403(dataset):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {dataset.ny.ingest_key}")
    response = client.get(dataset.ny.url("active-users"))
    assert response.status_code == 403
    assert "ingest" in response.json()["detail"]


def test_unknown_or_revoked_key_gets_401(dataset):
    project = ProjectFactory()
    from projects.services import api_key_create

    issued = api_key_create(project=project, scope="read")
    api_key_revoke(api_key=ApiKey.objects.get(pk=issued.api_key.pk))
    for raw in (issued.raw, "sk_not-a-key"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert client.get(f"/api/v1/projects/{project.slug}/active-users").status_code == 401


def test_unknown_slug_is_404_for_staff(dataset, admin_client):
    assert admin_client.get("/api/v1/projects/no-such-project/active-users").status_code == 404


def test_staff_session_reads_any_project_and_others_do_not(dataset, admin_client, client):
    assert admin_client.get(dataset.ny.url("active-users")).status_code == 200
    plain = get_user_model().objects.create_user("plain", password="pw-123456-long")
    client.force_login(plain)
    assert client.get(dataset.ny.url("active-users")).status_code == 404


def test_staff_session_post_needs_csrf(dataset, admin_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(dataset.ny.url("funnels"), {"steps": ["pageview", "signup"]}, format="json")
    assert response.status_code == 403


BAD = [
    ("active-users", {"from": "2024-13-01"}, "from"),
    ("active-users", {"to": "yesterday"}, "to"),
    ("active-users", {"from": "2024-03-02", "to": "2024-03-01"}, "from"),
    ("active-users", {"from": "2020-01-01", "to": "2024-03-01"}, "to"),
    ("active-users", {"interval": "year"}, "interval"),
    ("top-events", {"limit": "0"}, "limit"),
    ("top-events", {"limit": "ten"}, "limit"),
    ("trends", {}, "event"),
    ("trends", {"event": "no-such-event"}, "event"),
    ("trends", {"event": "pageview", "breakdown": "no-such-prop"}, "breakdown"),
    ("trends", {"event": "pageview", "math": "avg"}, "math"),
    ("trends", {"event": "pageview", "interval": "hour", "from": "2024-01-01", "to": "2024-03-01"}, "to"),
    ("trends", {"event": "pageview", "breakdown": "path", "from": "2023-01-01", "to": "2024-03-01"}, "to"),
    ("retention", {}, "start_date"),
    ("retention", {"start_date": "2024-02-30"}, "start_date"),
    ("retention", {"start_date": "2024-02-26", "windows": "-1"}, "windows"),
    ("retention", {"start_date": "2024-02-26", "period": "month"}, "period"),
    ("retention/cohorts", {"period": "year"}, "period"),
    ("users", {"limit": "100000"}, "limit"),
    ("users", {"cursor": "!!!"}, "cursor"),
    ("users", {"cursor": "YWJj"}, "cursor"),
    ("events", {"format": "xml"}, "format"),
    ("events", {"event": "nope"}, "event"),
    ("events", {"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
    ("events", {"from": "2024-01-01", "to": "2024-12-31"}, "to"),
    ("sessions", {"from": "x"}, "from"),
    # Dates at the calendar's edges once overflowed the range and window arithmetic (500).
    ("active-users", {"to": "9999-12-31"}, "to"),
    ("top-events", {"from": "0001-01-01", "to": "0001-01-01"}, "from"),
    ("trends", {"event": "pageview", "interval": "hour", "to": "9999-12-31"}, "to"),
    ("retention", {"start_date": "9999-12-31"}, "start_date"),
    ("retention", {"start_date": "1969-12-31"}, "start_date"),
    ("retention/cohorts", {"to": "3000-01-01"}, "to"),
    ("events", {"to": "9999-12-31", "format": "csv"}, "to"),
    ("sessions", {"to": "9999-12-31"}, "to"),
    ("ingestion", {"until": "0001-01-01T00:00:00Z"}, "until"),
]


@pytest.mark.parametrize(("path", "params", "field"), BAD)
def test_bad_parameters_are_400_naming_the_parameter(dataset, path, params, field):
    response = dataset.ny.client().get(dataset.ny.url(path), params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    assert body[field]


BAD_FUNNELS = [
    ({"steps": ["pageview"]}, "steps"),
    ({"steps": "pageview"}, "steps"),
    ({"steps": ["pageview", ""]}, "steps"),
    ({"steps": ["pageview", {"event": "signup", "filters": "plan"}]}, "steps"),
    ({"steps": ["pageview", "nope"]}, "steps"),
    ({"steps": ["pageview", "signup"], "window_hours": 0}, "window_hours"),
    ({"steps": ["pageview", "signup"], "from": "2024-03-05", "to": "2024-03-01"}, "from"),
    ({"steps": ["pageview", "signup"], "from": "2023-03-05", "to": "2024-03-01"}, "to"),
    ({"steps": ["pageview", "signup"], "to": "9999-12-31"}, "to"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_FUNNELS)
def test_bad_funnels_are_400(dataset, payload, field):
    response = dataset.ny.client().post(dataset.ny.url("funnels"), payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_malformed_json_body_is_400(dataset):
    response = dataset.ny.client().post(dataset.ny.url("funnels"), data="{not json", content_type="application/json")
    assert response.status_code == 400


def test_json_body_nested_too_deeply_is_400(dataset):
    response = dataset.ny.client().post(dataset.ny.url("funnels"), data="[" * 5000, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]


def test_dates_outside_the_calendar_say_which(dataset):
    body = dataset.ny.client().get(dataset.ny.url("active-users"), {"from": "1969-12-31", "to": "1970-01-02"}).json()
    assert body == {"from": ["must be on or after 1970-01-01."]}


def test_a_user_id_with_a_nul_is_400_not_a_database_error(dataset):
    response = dataset.ny.client().get(dataset.ny.url("users/a%00b"))
    assert response.status_code == 400 and "user_id" in response.json()


def test_default_range_is_the_last_30_local_days(dataset):
    body = dataset.ny.client().get(dataset.ny.url("active-users")).json()
    assert len(body["results"]) == 30
    today = dt.datetime.now(dataset.ny.tz).date()
    assert body["results"][-1]["date"] == today.isoformat()


def test_openapi_schema_and_docs_page(dataset, admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("active-users", "top-events", "trends", "funnels", "retention", "retention/cohorts", "stickiness",
                 "lifecycle", "paths", "live"):  # fmt: skip
        assert f"/api/v1/projects/{{slug}}/{path}" in paths
    params = {p["name"] for p in paths["/api/v1/projects/{slug}/trends"]["get"]["parameters"]}
    assert {"event", "from", "to", "interval", "math", "breakdown"} <= params
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"cdn" not in docs.content.lower()

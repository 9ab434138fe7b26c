"""The destinations API: CRUD by a project admin, the secret shown once, precise 400s."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from ingestion.models import Destination
from projects.models import AuditEntry, Project, ProjectMembership, ProjectRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def project() -> Project:
    return Project.objects.create(name="Dest", slug="dest")


@pytest.fixture
def admin(project) -> APIClient:
    user = get_user_model().objects.create_user("dest-api-admin", password="pw-123456-long")
    ProjectMembership.objects.create(project=project, user=user, role=ProjectRole.ADMIN)
    client = APIClient()
    client.force_login(user)
    return client


BASE = "/api/v1/projects/dest/destinations"


def test_create_read_change_delete(admin, project):
    created = admin.post(
        BASE,
        {"name": "Warehouse", "url": "https://hooks.example.com/in", "events": ["b", "a", "a"], "batch_size": 50},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert body["events"] == ["a", "b"] and body["batch_size"] == 50 and body["enabled"] is True
    assert body["properties"] == {}
    one = admin.get(f"{BASE}/{body['id']}").json()
    assert "secret" not in one and one["name"] == "Warehouse"
    assert ["secret" in d for d in admin.get(BASE).json()["results"]] == [False]
    changed = admin.patch(f"{BASE}/{body['id']}", {"enabled": False, "properties": {"plan": "pro"}}, format="json")
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert changed.json()["properties"] == {"plan": "pro"} and changed.json()["batch_size"] == 50
    assert admin.get(f"{BASE}/{body['id']}/batches").json() == {"results": []}
    assert admin.delete(f"{BASE}/{body['id']}").status_code == 204
    assert admin.get(f"{BASE}/{body['id']}").status_code == 404
    actions = set(AuditEntry.objects.filter(project=project).values_list("action", flat=True))
    assert actions == {"destination.created", "destination.deleted"}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "x", "url": "ftp://example.com/"}, "url", "http:// or https://"),
        ({"name": "x", "url": "javascript:alert(1)"}, "url", "http:// or https://"),
        ({"name": "x", "url": "https://"}, "url", "must name a host"),
        ({"name": "x", "url": "http://example.com:99999/"}, "url", "invalid port"),
        ({"name": "x"}, "url", "required"),
        ({"url": "https://example.com/"}, "name", "required"),
        ({"name": "x", "url": "https://example.com/", "batch_size": 0}, "batch_size", "greater than or equal to 1"),
        ({"name": "x", "url": "https://example.com/", "batch_size": 1001}, "batch_size", "less than or equal to 1000"),
        ({"name": "x", "url": "https://example.com/", "batch_size": "many"}, "batch_size", "valid integer"),
        ({"name": "x", "url": "https://example.com/", "events": "signup"}, "events", "list"),
        ({"name": "x", "url": "https://example.com/", "properties": {"plan": {"a": 1}}}, "properties", "plan"),
        ({"name": "x", "url": "https://example.com/", "properties": ["plan"]}, "properties", "dictionary"),
        ({"name": "x", "url": "https://example.com/", "enabled": "maybe"}, "enabled", "valid boolean"),
    ],
)
def test_bad_input_is_a_precise_400(admin, body, field, words):
    response = admin.post(BASE, body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert list(errors) == [field]
    assert words in str(errors[field])
    assert not Destination.objects.exists()


def test_bad_batch_filter_and_unknown_ids(admin):
    assert admin.get(f"{BASE}/12345").status_code == 404
    created = admin.post(BASE, {"name": "x", "url": "http://127.0.0.1:9/h"}, format="json").json()
    response = admin.get(f"{BASE}/{created['id']}/batches", {"status": "lost"})
    assert response.status_code == 400 and "status" in response.json()
    response = admin.post(f"{BASE}/{created['id']}/replay", {"batch_ids": ["not-a-uuid"]}, format="json")
    assert response.status_code == 400 and "batch_ids" in response.json()
    response = admin.post(f"{BASE}/{created['id']}/replay", {"batch_ids": []}, format="json")
    assert response.status_code == 400 and "batch_ids" in response.json()
    response = admin.patch(f"{BASE}/{created['id']}", {"url": "file:///etc/passwd"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["url"]


ODD_VALUES = [None, "", "\x00", "a\x00b", [], {}, [None], {"": 1}, {"k": float("nan")}, {"k": "\x00"}, {"\x00": 1},
              -1, 0, 10**30, 1.5, True, "x" * 5000, ["a", 1], [["nested"]], "http://[::1", "http://a b/"]  # fmt: skip


@pytest.mark.parametrize("field", ["name", "url", "events", "properties", "batch_size", "enabled"])
def test_odd_values_never_get_a_5xx(admin, field):
    created = admin.post(BASE, {"name": "x", "url": "https://example.com/"}, format="json").json()
    for value in ODD_VALUES:
        body = {"name": "x", "url": "https://example.com/", field: value}
        # json.dumps writes NaN, which the API's JSON parser refuses as a whole (a 400 too).
        for response in (
            admin.post(BASE, json.dumps(body), content_type="application/json"),
            admin.patch(f"{BASE}/{created['id']}", json.dumps({field: value}), content_type="application/json"),
        ):
            assert response.status_code in (200, 201, 400), (field, value, response.content[:300])
            if response.status_code == 400:
                answer = response.json()
                assert field in answer or "JSON parse error" in answer.get("detail", ""), (field, value, answer)

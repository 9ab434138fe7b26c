"""While PostgreSQL does not answer, reports are a 503 with a retry hint (as capture answers), not
a 500; and they answer again once it is back. The database is made unreachable for real: the
connection settings point at a port nothing listens on."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connections
from rest_framework.test import APIClient

from events.duck import duckdb_reset
from projects.services import api_key_create
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def reader() -> Iterator[tuple[APIClient, str]]:
    project = ProjectFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(project=project, scope='read').raw}")
    yield client, f"/api/v1/projects/{project.slug}/"
    duckdb_reset()


def _assert_retry_later(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert "retry" in response.json()["detail"]


def test_reports_answer_503_while_postgresql_is_down(reader):
    client, base = reader
    assert client.get(base + "active-users").status_code == 200
    connection = connections["default"]
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(_dead_port())
    try:
        _assert_retry_later(client.get(base + "active-users"))
        _assert_retry_later(client.get(base + "ingestion"))
    finally:
        connection.settings_dict["PORT"] = port
        connection.close()
    assert client.get(base + "active-users").status_code == 200


def test_a_report_read_by_duckdb_answers_503_when_its_postgresql_is_down(reader, monkeypatch):
    client, base = reader
    filtered = (
        base
        + "active-users?filters="
        + json.dumps([{"type": "column", "key": "event", "operator": "exact", "value": "x"}])
    )
    assert client.get(filtered).status_code == 200
    duckdb_reset()
    # Only DuckDB's attachment reads the new entry; Django's connection keeps the one it was made with.
    monkeypatch.setitem(settings.DATABASES, "default", {**settings.DATABASES["default"], "PORT": str(_dead_port())})
    _assert_retry_later(client.get(filtered))
    monkeypatch.undo()
    assert client.get(filtered).status_code == 200  # the failed attachment was dropped: attached anew

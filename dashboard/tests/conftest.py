"""Fixtures of the dashboard's browser tests: a headless Chromium, a demo project and the reporting
API as the dashboard's user sees it (for the numbers the pages must show)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from config.browser_testing import headless_chromium
from dashboard.tests.browser_support import PASSWORD
from dashboard.tests.demo_data import demo_events_delete, demo_events_insert
from dashboard.tests.test_browser import _reporting_api_available
from projects.tests.factories import ProjectFactory


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not _reporting_api_available():
        pytest.skip("reporting API not available")
    with headless_chromium(tmp_path / "chromium-profile", monkeypatch, window="1440,1000", console_log=True) as driver:
        yield driver


@pytest.fixture
def demo_project() -> Iterator[Any]:
    project = ProjectFactory(name="Demo shop", slug="demo-shop")
    demo_events_insert(project_id=project.pk)
    yield project
    demo_events_delete(project_id=project.pk)


@pytest.fixture
def api(demo_project: Any) -> Any:
    """The reporting API as the dashboard's user sees it, for the expected numbers."""
    user = User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    base = f"/api/v1/projects/{demo_project.slug}/"

    class Api:
        def get(self, path: str, **params: Any) -> Any:
            response = client.get(base + path, params)
            assert response.status_code == 200, response.content
            return response.json()

        def post(self, path: str, body: dict[str, Any]) -> Any:
            response = client.post(base + path, json.dumps(body), content_type="application/json")
            assert response.status_code in (200, 201), response.content
            return response.json()

        def refused(self, path: str, body: dict[str, Any]) -> Any:
            response = client.post(base + path, json.dumps(body), content_type="application/json")
            assert response.status_code == 400, response.content
            return response.json()

        def upload(self, path: str, name: str, file: Path) -> tuple[int, Any]:
            """A multipart POST as the upload form sends it; the status is the caller's to check."""
            with file.open("rb") as handle:
                response = client.post(base + path, {"name": name, "file": handle})
            return response.status_code, response.json()

    return Api()

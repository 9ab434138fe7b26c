"""The annotations API: a project's dated notes, listed by range and by date, written by editors,
with precise 400s for bad fields and 404 for another project's note. (Who may read and write each
endpoint is proven by test_permission_matrix.)"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from analytics.models import Annotation
from projects.models import ProjectMembership, ProjectRole
from projects.tests.factories import ProjectFactory, editor_key_for, read_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory()


def _url(project, path: str = "") -> str:
    return f"/api/v1/projects/{project.slug}/annotations{path}"


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def editor(project) -> APIClient:
    """A session of an editor (the dashboard's way in)."""
    user = get_user_model().objects.create_user("ann-editor")
    ProjectMembership.objects.create(project=project, user=user, role=ProjectRole.EDITOR)
    client = APIClient()
    client.force_login(user)
    return client


def test_create_list_change_delete(project, editor):
    reader = _bearer(read_key_for(project))
    for day, text in (("2024-03-10", "DST"), ("2024-03-01", "launch"), ("2024-04-02", "later")):
        response = editor.post(_url(project), {"date": day, "text": text}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["created_by"] == "ann-editor"

    listed = reader.get(_url(project), {"from": "2024-03-01", "to": "2024-03-31"}).json()["results"]
    assert [(a["date"], a["text"]) for a in listed] == [("2024-03-01", "launch"), ("2024-03-10", "DST")]
    assert len(reader.get(_url(project)).json()["results"]) == 3  # no bounds: all of them

    first = listed[0]["id"]
    changed = editor.patch(_url(project, f"/{first}"), {"text": "  launch day "}, format="json")
    assert changed.status_code == 200
    assert changed.json()["text"] == "launch day" and changed.json()["date"] == "2024-03-01"
    assert reader.get(_url(project, f"/{first}")).json()["text"] == "launch day"

    assert editor.delete(_url(project, f"/{first}")).status_code == 204
    assert reader.get(_url(project, f"/{first}")).status_code == 404


def test_personal_key_sets_its_user_as_author(project):
    response = _bearer(editor_key_for(project)).post(_url(project), {"date": "2024-01-01", "text": "x"}, format="json")
    assert response.status_code == 201
    assert response.json()["created_by"].startswith("editor-")
    assert Annotation.objects.get(pk=response.json()["id"]).created_by is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "2024-01-01", "text": ""}, "text"),
        ({"date": "2024-01-01", "text": "   "}, "text"),
        ({"date": "2024-01-01", "text": "x" * 401}, "text"),
        ({"date": "2024-01-01"}, "text"),
        ({"date": "2024-02-30", "text": "x"}, "date"),
        ({"date": "01/02/2024", "text": "x"}, "date"),
        ({"date": "1969-12-31", "text": "x"}, "date"),
        ({"date": 20240101, "text": "x"}, "date"),
        ({"text": "x"}, "date"),
        ({"date": "2024-01-01", "text": ["x"]}, "text"),
    ],
)
def test_bad_bodies_are_400s_naming_the_field(project, editor, body, field):
    response = editor.post(_url(project), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Annotation.objects.filter(project=project).exists()


def test_bad_patch_and_range_are_400s(project, editor):
    note = Annotation.objects.create(project=project, date="2024-01-01", text="kept")
    for body, field in (({"text": "x" * 401}, "text"), ({"date": "nope"}, "date")):
        response = editor.patch(_url(project, f"/{note.pk}"), body, format="json")
        assert response.status_code == 400 and field in response.json()
    note.refresh_from_db()
    assert note.text == "kept"
    for params, field in (
        ({"from": "2024-13-01"}, "from"),
        ({"to": "x"}, "to"),
        ({"from": "2024-02-02", "to": "2024-02-01"}, "from"),
    ):
        response = editor.get(_url(project), params)
        assert response.status_code == 400 and field in response.json(), params


def test_another_projects_annotation_is_404(project, editor):
    other = ProjectFactory()
    theirs = Annotation.objects.create(project=other, date="2024-01-01", text="theirs")
    for call in (editor.get, editor.delete):
        assert call(_url(project, f"/{theirs.pk}")).status_code == 404
    assert editor.patch(_url(project, f"/{theirs.pk}"), {"text": "mine"}, format="json").status_code == 404
    theirs.refresh_from_db()
    assert theirs.text == "theirs"
    assert editor.get(_url(project)).json()["results"] == []

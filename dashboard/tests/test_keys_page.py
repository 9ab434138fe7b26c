"""/accounts/keys/: a signed-in person lists, creates (the key shown once) and revokes their own
personal API keys, with CSRF-protected forms; bad input is a 400 naming the field."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from projects.models import AuditAction, AuditEntry, PersonalApiKey, ProjectMembership, ProjectRole
from projects.services import hash_key
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

PAGE = "/accounts/keys/"


def _signed_in(name: str, *projects, csrf: bool = False) -> Client:
    user = get_user_model().objects.create_user(name, password="pw-123456-long")
    for project in projects:
        ProjectMembership.objects.create(project=project, user=user, role=ProjectRole.VIEWER)
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_signed_out_is_sent_to_the_form():
    response = Client().get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_create_shows_the_key_once_and_it_reads_the_api():
    mine, also = ProjectFactory(name="Mine"), ProjectFactory(name="Also")
    ProjectFactory(name="Elsewhere")  # not hers: never offered
    client = _signed_in("ann", mine, also)
    page = client.get(PAGE)
    assert page.status_code == 200 and b"No keys yet" in page.content
    assert b"Mine" in page.content and b"Elsewhere" not in page.content  # only her projects are offered
    created = client.post(PAGE, {"name": "cron", "scope": "read", "projects": [mine.pk]})
    assert created.status_code == 200 and created["Cache-Control"].startswith("max-age=0")
    raw = re.search(rb'data-testid="raw-key">(uk_[^<]+)<', created.content).group(1).decode()
    key = PersonalApiKey.objects.get()
    assert key.key_hash == hash_key(raw) and list(key.projects.all()) == [mine]
    # Shown once: the list shows the prefix only.
    again = client.get(PAGE)
    assert raw.encode() not in again.content and key.prefix.encode() in again.content
    entry = AuditEntry.objects.get(action=AuditAction.PERSONAL_KEY_CREATED, details__prefix=key.prefix)
    assert entry.actor == "user:ann" and entry.details["projects"] == [mine.slug]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(f"/api/v1/projects/{mine.slug}/events").status_code == 200
    assert api.get(f"/api/v1/projects/{also.slug}/events").status_code == 404


@pytest.mark.parametrize(
    ("data", "field"),
    [({"name": "", "scope": "read"}, "name"), ({"name": "x", "scope": "admin"}, "scope"), ({"name": "x"}, "scope")],
)
def test_bad_input_is_400_naming_the_field(data, field):
    client = _signed_in("bea")
    response = client.post(PAGE, data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not PersonalApiKey.objects.exists()


def test_a_project_the_person_does_not_read_is_refused():
    client = _signed_in("cy", ProjectFactory())
    response = client.post(PAGE, {"name": "x", "scope": "read", "projects": [ProjectFactory().pk]})
    assert response.status_code == 400 and "projects" in response.context["form"].errors
    assert not PersonalApiKey.objects.exists()


def test_revoke_own_key_only_and_audited():
    project = ProjectFactory()
    ann, bob = _signed_in("dee", project), _signed_in("eve", project)
    ann.post(PAGE, {"name": "k", "scope": "write"})
    key = PersonalApiKey.objects.get()
    assert bob.post(f"{PAGE}{key.pk}/revoke/").status_code == 404
    assert ann.get(f"{PAGE}{key.pk}/revoke/").status_code == 405
    response = ann.post(f"{PAGE}{key.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == PAGE
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEntry.objects.filter(action=AuditAction.PERSONAL_KEY_REVOKED, details__prefix=key.prefix).count() == 1
    assert b"revoked" in ann.get(PAGE).content


def test_forms_need_the_csrf_token():
    client = _signed_in("fay", csrf=True)
    assert client.post(PAGE, {"name": "x", "scope": "read"}).status_code == 403
    page = client.get(PAGE)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    assert client.post(PAGE, {"name": "x", "scope": "read", "csrfmiddlewaretoken": token}).status_code == 200

"""The server side of a share link's public pages and of the project page's writing controls:
a live link answers 200 without an account, an unknown one 404, a revoked or expired one 410 with
a message; only the embed page may be framed; viewers get no control that writes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from config.csp import EMBED, HEADER, STRICT
from projects.models import ProjectMembership, ProjectRole
from projects.services import hash_key
from projects.tests.factories import ProjectFactory
from reporting.models import Dashboard, ShareLink

pytestmark = pytest.mark.django_db

TOKEN = "sh_" + "a" * 43
EDIT_CONTROLS = (
    'data-action="save-insight"',
    'data-action="rename-board"',
    'data-action="share-board"',
    'id="share-dialog"',
)


@pytest.fixture
def project():
    return ProjectFactory(name="Shop", slug="shop")


def _link(project, token=TOKEN, **fields):
    dashboard = Dashboard.objects.create(
        project=project, name="Weekly numbers", description="For the board", is_default=True
    )
    return ShareLink.objects.create(
        project=project, dashboard=dashboard, token_hash=hash_key(token), token_prefix=token[:10], **fields
    )


def test_a_live_link_shows_the_dashboard_without_an_account(client, project):
    _link(project)
    response = client.get(f"/shared/{TOKEN}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Shared with you" in text and "Shop" in text and "Weekly numbers" in text
    # No way into the project from a public page: no project navigation, no dashboard link.
    assert 'href="/dashboard/' not in text and "project-switch" not in text and "Log out" not in text
    assert f"/api/v1/shared/{TOKEN}" in text  # what its script reads
    assert response["X-Frame-Options"] == "DENY" and response[HEADER] == STRICT


def test_only_the_embed_page_may_be_framed(client, project):
    _link(project)
    response = client.get(f"/embed/{TOKEN}/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert response[HEADER] == EMBED and "frame-ancestors *" in EMBED
    assert "script-src 'self'" in EMBED and "unsafe-inline" not in EMBED
    assert "Shared with you" not in response.content.decode()  # minimal chrome


@pytest.mark.parametrize("path", ["/shared/{}/", "/embed/{}/"])
def test_an_unknown_token_is_404(client, project, path):
    _link(project)
    response = client.get(path.format("sh_" + "b" * 43))
    assert response.status_code == 404
    assert "No such shared link" in response.content.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"revoked_at": timezone.now}, "revoked"),
        ({"expires_at": lambda: timezone.now() - dt.timedelta(minutes=1)}, "expired"),
    ],
)
def test_a_revoked_or_expired_link_is_410_with_a_message(client, project, fields, message):
    _link(project, **{key: make() for key, make in fields.items()})
    for path in (f"/shared/{TOKEN}/", f"/embed/{TOKEN}/"):
        response = client.get(path)
        assert response.status_code == 410, path
        text = response.content.decode()
        assert "no longer shared" in text and message in text


def test_a_link_that_expires_later_is_live(client, project):
    _link(project, expires_at=timezone.now() + dt.timedelta(days=1))
    assert client.get(f"/shared/{TOKEN}/").status_code == 200


@pytest.mark.parametrize(
    ("role", "may_edit"),
    [(ProjectRole.VIEWER, False), (ProjectRole.EDITOR, True), (ProjectRole.ADMIN, True), ("staff", True)],
)
def test_the_project_page_offers_writes_only_to_editors(client, project, role, may_edit):
    user = User.objects.create_user("someone", password="pw", is_staff=role == "staff")
    if role != "staff":
        ProjectMembership.objects.create(project=project, user=user, role=role)
    client.force_login(user)
    text = client.get("/dashboard/shop/").content.decode()
    assert 'id="insights-board"' in text
    for control in EDIT_CONTROLS:
        assert (control in text) is may_edit, control

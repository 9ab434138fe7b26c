"""/dashboard/<slug>/settings/: a project's admins (and staff) change its settings, create (shown
once) and revoke its API keys, change members' roles, remove members, invite and withdraw
invitations; each change is audited. Editors and viewers get 403, non-members 404; the last admin
cannot be demoted or removed. Real PostgreSQL, real SMTP (aiosmtpd), Django's test client with
CSRF checks on."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from projects.models import (
    ApiKey,
    ApiKeyScope,
    AuditAction,
    AuditEntry,
    Invitation,
    Project,
    ProjectMembership,
    ProjectRole,
)
from projects.services import hash_key
from projects.tests.conftest import smtp_inbox  # noqa: F401  (the real SMTP server fixture)
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def _member(project: Project, name: str, role: str) -> Any:
    user = User.objects.create_user(name, email=f"{name}@example.com", password="pw-123456-long")
    ProjectMembership.objects.create(project=project, user=user, role=role)
    return user


def _client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _csrf(client: Client, page: str) -> str:
    response = client.get(page)
    assert response.status_code == 200, response.status_code
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content).group(1).decode()


def _post(client: Client, page: str, url: str, data: dict[str, Any] | None = None) -> Any:
    """A POST as the page's form sends it: with the page's CSRF token."""
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": _csrf(client, page)})


@pytest.fixture
def project() -> Project:
    return ProjectFactory(name="Shop", slug="shop")


@pytest.fixture
def admin(project: Project) -> Any:
    return _member(project, "ada", ProjectRole.ADMIN)


PAGE = "/dashboard/shop/settings/"


def _settings_data(project: Project, **changes: Any) -> dict[str, Any]:
    data = {
        "name": project.name,
        "timezone": project.timezone,
        "cors_allowed_origins": project.cors_allowed_origins,
        "ip_handling": project.ip_handling,
        "bot_handling": project.bot_handling,
        "raw_retention_days": project.raw_retention_days,
        "aggregate_retention_days": project.aggregate_retention_days,
        **changes,
    }
    for flag in ("cookieless", "restrict_sources"):
        if changes.get(flag, getattr(project, flag)):
            data[flag] = "on"
        else:
            data.pop(flag, None)
    return data


def test_admin_changes_settings_audited(project, admin):
    client = _client(admin)
    data = _settings_data(project, name="Shop EU", timezone="Europe/Paris", cors_allowed_origins="https://shop.example")
    response = _post(client, PAGE, "/dashboard/shop/settings/save/", data)
    assert response.status_code == 302 and response["Location"] == PAGE + "#settings"
    project.refresh_from_db()
    assert (project.name, project.timezone, project.allowed_origins) == (
        "Shop EU",
        "Europe/Paris",
        ["https://shop.example"],
    )
    entry = AuditEntry.objects.get(action=AuditAction.PROJECT_SETTINGS_CHANGED, project=project)
    assert entry.project == project and entry.actor == "user:ada"
    assert entry.details == {
        "name": ["Shop", "Shop EU"],
        "timezone": ["UTC", "Europe/Paris"],
        "cors_allowed_origins": ["*", "https://shop.example"],
    }
    # Saving the same values again changes nothing and writes no entry.
    again = _post(client, PAGE, "/dashboard/shop/settings/save/", _settings_data(project))
    assert again.status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.PROJECT_SETTINGS_CHANGED, project=project).count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"cors_allowed_origins": "shop.example/path"}, "cors_allowed_origins"),
        ({"raw_retention_days": "0"}, "raw_retention_days"),
        ({"ip_handling": "sell"}, "ip_handling"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_settings_are_400_naming_the_field(project, admin, changes, field):
    response = _post(_client(admin), PAGE, "/dashboard/shop/settings/save/", _settings_data(project, **changes))
    assert response.status_code == 400
    assert list(response.context["settings_form"].errors) == [field]
    assert f'data-error-for="{field}"'.encode() in response.content
    project.refresh_from_db()
    assert (
        project.timezone == "UTC"
        and not AuditEntry.objects.filter(action=AuditAction.PROJECT_SETTINGS_CHANGED, project=project).exists()
    )


def test_the_time_zone_is_checked_by_zoneinfo(project, admin):
    response = _post(
        _client(admin), PAGE, "/dashboard/shop/settings/save/", _settings_data(project, timezone="Europe/Pariss")
    )
    assert response.status_code == 400
    assert "is not an IANA time zone" in " ".join(response.context["settings_form"].errors["timezone"])


def test_key_shown_once_then_only_its_prefix_and_revoked(project, admin):
    client = _client(admin)
    created = _post(client, PAGE, "/dashboard/shop/settings/keys/", {"name": "BI", "scope": "read"})
    assert created.status_code == 200 and created["Cache-Control"].startswith("max-age=0")
    raw = re.search(rb'data-testid="raw-key">(sk_[^<]+)<', created.content).group(1).decode()
    key = ApiKey.objects.get(project=project)
    assert (key.key_hash, key.scope, key.name) == (hash_key(raw), ApiKeyScope.READ, "BI")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/projects/shop/events").status_code == 200
    page = client.get(PAGE)
    assert raw.encode() not in page.content and f"<code>{key.prefix}…</code>".encode() in page.content
    entry = AuditEntry.objects.get(action=AuditAction.API_KEY_CREATED, project=project)
    assert (entry.actor, entry.api_key, entry.details["scope"]) == ("user:ada", key, "read")

    revoked = _post(client, PAGE, f"/dashboard/shop/settings/keys/{key.pk}/revoke/")
    assert revoked.status_code == 302 and revoked["Location"] == PAGE + "#keys"
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEntry.objects.get(action=AuditAction.API_KEY_REVOKED, project=project).actor == "user:ada"
    assert b"revoked " in client.get(PAGE).content


def test_bad_key_kind_is_400_naming_the_field(project, admin):
    response = _post(_client(admin), PAGE, "/dashboard/shop/settings/keys/", {"name": "x", "scope": "admin"})
    assert response.status_code == 400 and list(response.context["key_form"].errors) == ["scope"]
    assert not ApiKey.objects.exists()


def test_another_projects_key_member_or_invitation_is_404(project, admin):
    other = ProjectFactory(slug="other")
    key = ApiKey.objects.create(project=other, scope="read", prefix="sk_x", key_hash="x" * 64)
    member = ProjectMembership.objects.get(user__username=_member(other, "olga", ProjectRole.VIEWER).username)
    client = _client(admin)
    assert _post(client, PAGE, f"/dashboard/shop/settings/keys/{key.pk}/revoke/").status_code == 404
    assert _post(client, PAGE, f"/dashboard/shop/settings/members/{member.pk}/remove/").status_code == 404
    assert (
        _post(client, PAGE, f"/dashboard/shop/settings/members/{member.pk}/role/", {"role": "admin"}).status_code == 404
    )
    key.refresh_from_db()
    assert key.revoked_at is None and ProjectMembership.objects.filter(pk=member.pk, role="viewer").exists()


def test_admin_changes_a_role_and_removes_a_member_audited(project, admin):
    bob = _member(project, "bob", ProjectRole.VIEWER)
    carl = _member(project, "carl", ProjectRole.EDITOR)
    client = _client(admin)
    bob_membership = ProjectMembership.objects.get(user=bob)
    response = _post(client, PAGE, f"/dashboard/shop/settings/members/{bob_membership.pk}/role/", {"role": "editor"})
    assert response.status_code == 302 and response["Location"] == PAGE + "#members"
    bob_membership.refresh_from_db()
    assert bob_membership.role == ProjectRole.EDITOR
    entry = AuditEntry.objects.get(action=AuditAction.MEMBER_ROLE_CHANGED, project=project)
    assert (entry.actor, entry.details) == ("user:ada", {"user": "bob", "from": "viewer", "to": "editor"})

    carl_membership = ProjectMembership.objects.get(user=carl)
    assert _post(client, PAGE, f"/dashboard/shop/settings/members/{carl_membership.pk}/remove/").status_code == 302
    assert not ProjectMembership.objects.filter(user=carl).exists()
    entry = AuditEntry.objects.get(action=AuditAction.MEMBER_REMOVED, project=project)
    assert (entry.project, entry.actor, entry.details) == (project, "user:ada", {"user": "carl", "role": "editor"})
    # Removed: carl no longer reads the project (404, as a stranger).
    assert _client(carl).get("/dashboard/shop/").status_code == 404


def test_bad_role_is_400_naming_the_field(project, admin):
    membership = ProjectMembership.objects.get(user=_member(project, "bob", ProjectRole.VIEWER))
    response = _post(_client(admin), PAGE, f"/dashboard/shop/settings/members/{membership.pk}/role/", {"role": "owner"})
    assert response.status_code == 400 and b"role: " in response.content
    membership.refresh_from_db()
    assert membership.role == ProjectRole.VIEWER


def test_the_last_admin_cannot_be_demoted_or_removed(project, admin):
    client = _client(admin)
    mine = ProjectMembership.objects.get(user=admin)
    demoted = _post(client, PAGE, f"/dashboard/shop/settings/members/{mine.pk}/role/", {"role": "editor"})
    assert demoted.status_code == 400
    error = demoted.context["error"]
    assert error == "ada is the last admin of Shop: make another member admin before you demote them."
    assert error.encode() in demoted.content
    removed = _post(client, PAGE, f"/dashboard/shop/settings/members/{mine.pk}/remove/")
    assert removed.status_code == 400 and "last admin" in removed.context["error"]
    mine.refresh_from_db()
    assert mine.role == ProjectRole.ADMIN
    assert not AuditEntry.objects.filter(
        action__in=[AuditAction.MEMBER_ROLE_CHANGED, AuditAction.MEMBER_REMOVED]
    ).exists()

    # With a second admin, the first may step down (and then no longer manage the project).
    other = ProjectMembership.objects.get(user=_member(project, "bea", ProjectRole.ADMIN))
    assert (
        _post(client, PAGE, f"/dashboard/shop/settings/members/{mine.pk}/role/", {"role": "editor"}).status_code == 302
    )
    assert client.get(PAGE).status_code == 403
    # Now bea is the last admin: she cannot remove herself.
    bea = _client(other.user)
    assert _post(bea, PAGE, f"/dashboard/shop/settings/members/{other.pk}/remove/").status_code == 400


def test_an_admin_may_leave_when_another_admin_stays(project, admin):
    _member(project, "bea", ProjectRole.ADMIN)
    mine = ProjectMembership.objects.get(user=admin)
    response = _post(_client(admin), PAGE, f"/dashboard/shop/settings/members/{mine.pk}/remove/")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"


def test_invite_by_mail_then_withdraw_audited(project, admin, smtp_inbox):  # noqa: F811
    client = _client(admin)
    response = _post(
        client, PAGE, "/dashboard/shop/settings/invitations/", {"email": "new@example.com", "role": "editor"}
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(project=project)
    assert (invitation.email, invitation.role, invitation.invited_by) == ("new@example.com", "editor", "user:ada")
    assert smtp_inbox.messages[-1]["To"] == "new@example.com"
    link = smtp_inbox.link(r"http\S+/accounts/invite/\S+/")
    sent = AuditEntry.objects.get(action=AuditAction.INVITATION_SENT, project=project)
    assert sent.details == {"email": "new@example.com", "role": "editor", "delivery": "email"}
    page = client.get(PAGE)
    assert b'data-invitation="new@example.com"' in page.content and link.encode() not in page.content

    withdrawn = _post(client, PAGE, f"/dashboard/shop/settings/invitations/{invitation.pk}/revoke/")
    assert withdrawn.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    entry = AuditEntry.objects.get(action=AuditAction.INVITATION_REVOKED, project=project)
    assert (entry.actor, entry.details) == ("user:ada", {"email": "new@example.com", "role": "editor"})
    assert b'data-invitation="new@example.com"' not in client.get(PAGE).content
    assert Client().get(link.replace("http://localhost:8000", "")).status_code == 410


@override_settings(EMAIL_CONFIGURED=False)
def test_invite_without_a_mail_server_shows_the_link_once(project, admin):
    client = _client(admin)
    response = _post(
        client, PAGE, "/dashboard/shop/settings/invitations/", {"email": "nomail@example.com", "role": "viewer"}
    )
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    url = re.search(rb'data-testid="invitation-url">([^<]+)<', response.content).group(1).decode()
    assert "/accounts/invite/" in url and b"No mail server configured" in response.content
    assert AuditEntry.objects.get(action=AuditAction.INVITATION_SENT, project=project).details["delivery"] == "link"
    assert url.encode() not in client.get(PAGE).content


@pytest.mark.parametrize(
    ("data", "field"),
    [({"email": "not-an-email", "role": "viewer"}, "email"), ({"email": "a@b.example", "role": "boss"}, "role")],
)
def test_bad_invitation_is_400_naming_the_field(project, admin, data, field):
    response = _post(_client(admin), PAGE, "/dashboard/shop/settings/invitations/", data)
    assert response.status_code == 400 and list(response.context["invitation_form"].errors) == [field]
    assert not Invitation.objects.exists()


WRITES = [
    ("/dashboard/shop/settings/save/", {"name": "Hacked"}),
    ("/dashboard/shop/settings/keys/", {"scope": "read"}),
    ("/dashboard/shop/settings/invitations/", {"email": "x@example.com", "role": "admin"}),
]


@pytest.mark.parametrize(("role", "status"), [(ProjectRole.EDITOR, 403), (ProjectRole.VIEWER, 403), (None, 404)])
def test_editors_and_viewers_get_403_and_strangers_404(project, admin, role, status):
    target = ProjectMembership.objects.get(user=admin)
    key = ApiKey.objects.create(project=project, scope="read", prefix="sk_x", key_hash="y" * 64)
    user = _member(project, "mallory", role) if role else User.objects.create_user("mallory", password="pw-123456-long")
    if role is None:
        _member(ProjectFactory(slug="elsewhere"), "someone", ProjectRole.ADMIN)
    client = Client()  # CSRF is not what refuses them
    client.force_login(user)
    assert client.get(PAGE).status_code == status
    posts = [
        *WRITES,
        (f"/dashboard/shop/settings/keys/{key.pk}/revoke/", {}),
        (f"/dashboard/shop/settings/members/{target.pk}/role/", {"role": "viewer"}),
        (f"/dashboard/shop/settings/members/{target.pk}/remove/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == status, url
    project.refresh_from_db()
    key.refresh_from_db()
    target.refresh_from_db()
    assert (project.name, key.revoked_at, target.role) == ("Shop", None, ProjectRole.ADMIN)
    assert not Invitation.objects.exists() and ApiKey.objects.count() == 1
    # The project nav offers Settings to admins only.
    page = client.get("/dashboard/shop/")
    assert page.status_code == (200 if role else 404)
    assert b"/dashboard/shop/settings/" not in page.content


def test_signed_out_is_sent_to_sign_in(project):
    response = Client().get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_staff_without_membership_manage_and_admins_see_the_nav_link(project, admin):
    staff = User.objects.create_user("root", password="pw-123456-long", is_staff=True)
    client = _client(staff)
    assert client.get(PAGE).status_code == 200
    assert _post(client, PAGE, "/dashboard/shop/settings/keys/", {"scope": "ingest"}).status_code == 200
    assert ApiKey.objects.get().scope == ApiKeyScope.INGEST
    assert b'href="/dashboard/shop/settings/"' in _client(admin).get("/dashboard/shop/").content


def test_csrf_is_required(project, admin):
    client = _client(admin)
    assert client.post("/dashboard/shop/settings/keys/", {"scope": "read"}).status_code == 403
    assert not ApiKey.objects.exists()

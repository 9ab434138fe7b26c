"""Invitations through a real SMTP server (aiosmtpd, projects/tests/conftest.py): made by the
command and by the project admin, mailed, opened, turned into an account and a membership with the
invited role; links that are expired, used, revoked or unknown refused with a page saying so."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.utils import timezone

from projects.invitations import invitation_create
from projects.models import AuditAction, AuditEntry, Invitation, ProjectMembership, ProjectRole
from projects.tests.conftest import Inbox
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

LINK = r"http://localhost:8000/accounts/invite/[A-Za-z0-9_-]{40,}/"
PASSWORD = "quiet-harbour-lantern-42"


def _path(url: str) -> str:
    return url.removeprefix("http://localhost:8000")


def _invite(*args: str, **options: object) -> str:
    out = io.StringIO()
    call_command("invite", *args, stdout=out, **options)
    return out.getvalue()


def _audit(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action))


def test_an_invitation_mailed_by_the_command_makes_an_account_once(smtp_inbox: Inbox):
    project = ProjectFactory(name="Shop", slug="shop")
    printed = _invite("new@example.com", project="shop", role="editor")
    assert len(smtp_inbox.messages) == 1
    mail = smtp_inbox.messages[0]
    assert mail["To"] == "new@example.com" and "Shop" in mail["Subject"]
    url = smtp_inbox.link(LINK)
    assert url in printed and "mailed" in printed
    # Only a hash of the token is stored.
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert not Invitation.objects.filter(token_hash__contains=token).exists()

    client = Client()
    page = client.get(_path(url))
    assert page.status_code == 200 and b'data-testid="invitation-sign_up"' in page.content
    weak = client.post(_path(url), {"username": "newbie", "password1": "password", "password2": "password"})
    assert weak.status_code == 200 and b"error-password" in weak.content and b"too common" in weak.content
    assert not get_user_model().objects.filter(username="newbie").exists()

    done = client.post(_path(url), {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/dashboard/shop/"
    assert client.get("/dashboard/shop/").status_code == 200  # signed in, and a member
    user = get_user_model().objects.get(username="newbie")
    assert user.email == "new@example.com" and user.check_password(PASSWORD)
    assert ProjectMembership.objects.get(project=project, user=user).role == ProjectRole.EDITOR
    assert [e.details["delivery"] for e in _audit(AuditAction.INVITATION_SENT)] == ["email"]
    accepted = _audit(AuditAction.INVITATION_ACCEPTED)
    assert len(accepted) == 1 and accepted[0].actor == "user:newbie" and accepted[0].details["new_account"]

    again = Client().get(_path(url))
    assert again.status_code == 410 and b"already been used" in again.content
    assert Client().post(_path(url), {"username": "x", "password1": PASSWORD, "password2": PASSWORD}).status_code == 410


def test_expired_revoked_and_unknown_links_say_so():
    project = ProjectFactory()
    expired = invitation_create(project=project, email="a@example.com", role="viewer", actor="test", days=1)
    Invitation.objects.filter(pk=expired.invitation.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = Client().get(_path(expired.url))
    assert response.status_code == 410 and b"expired" in response.content and b"new invitation" in response.content

    revoked = invitation_create(project=project, email="b@example.com", role="viewer", actor="test")
    Invitation.objects.filter(pk=revoked.invitation.pk).update(revoked_at=timezone.now())
    response = Client().get(_path(revoked.url))
    assert response.status_code == 410 and b"withdrawn" in response.content

    response = Client().get("/accounts/invite/not-a-token/")
    assert response.status_code == 404 and b"not known" in response.content


def test_an_existing_account_signs_in_then_accepts():
    project = ProjectFactory(slug="team")
    user = get_user_model().objects.create_user("old", email="Old@Example.com", password=PASSWORD)
    issued = invitation_create(project=project, email="old@example.com", role="admin", actor="test")
    anonymous = Client().get(_path(issued.url))
    assert b"invitation-sign_in_first" in anonymous.content and b"/accounts/login/?next=" in anonymous.content

    someone_else = Client()
    someone_else.force_login(get_user_model().objects.create_user("other", email="other@example.com"))
    assert someone_else.get(_path(issued.url)).status_code == 403

    client = Client()
    client.force_login(user)
    page = client.get(_path(issued.url))
    assert page.status_code == 200 and b"invitation-accept" in page.content
    assert not ProjectMembership.objects.filter(user=user).exists()  # opening is not accepting
    response = client.post(_path(issued.url))
    assert response.status_code == 302 and response["Location"] == "/dashboard/team/"
    assert ProjectMembership.objects.get(project=project, user=user).role == ProjectRole.ADMIN


def test_only_an_admin_of_the_project_may_invite():
    project = ProjectFactory()
    users = get_user_model().objects
    editor, admin = users.create_user("ed"), users.create_user("ad")
    ProjectMembership.objects.create(project=project, user=editor, role=ProjectRole.EDITOR)
    ProjectMembership.objects.create(project=project, user=admin, role=ProjectRole.ADMIN)
    with pytest.raises(PermissionDenied):
        invitation_create(project=project, email="j@example.com", role="viewer", actor="user:ed", inviter=editor)
    invitation_create(project=project, email="j@example.com", role="admin", actor="user:ad", inviter=admin)
    staff = users.create_user("st", is_staff=True)
    invitation_create(project=project, email="k@example.com", role="viewer", actor="user:st", inviter=staff)
    assert Invitation.objects.count() == 2


def test_a_taken_username_is_a_form_error():
    get_user_model().objects.create_user("taken", password=PASSWORD)
    issued = invitation_create(project=ProjectFactory(), email="c@example.com", role="viewer", actor="test")
    response = Client().post(_path(issued.url), {"username": "taken", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200 and b"error-username" in response.content
    assert Invitation.objects.get(pk=issued.invitation.pk).accepted_at is None


@override_settings(EMAIL_CONFIGURED=False)
def test_without_a_mail_server_the_command_prints_the_link():
    ProjectFactory(slug="quiet")
    printed = _invite("d@example.com", project="quiet", role="viewer", days=2)
    assert "EMAIL_HOST unset" in printed and re.search(LINK, printed)
    invitation = Invitation.objects.get(email="d@example.com")
    assert dt.timedelta(days=1, hours=23) < invitation.expires_at - timezone.now() <= dt.timedelta(days=2)
    assert _audit(AuditAction.INVITATION_SENT)[0].details["delivery"] == "link"


@pytest.mark.usefixtures("smtp_unreachable")
def test_an_unreachable_mail_server_fails_the_command_in_one_line_with_the_link():
    ProjectFactory(slug="down")
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("invite", "e@example.com", project="down", stdout=out)
    assert raised.value.returncode == 1
    message = str(raised.value)
    assert "\n" not in message and "could not send" in message and "ConnectionRefusedError" in message
    assert re.search(LINK, out.getvalue())
    assert Client().get(_path(re.search(LINK, out.getvalue()).group(0))).status_code == 200  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("email", "options", "said"),
    [
        ("f@example.com", {"project": "nope"}, "no project with slug 'nope'"),
        ("f@example.com", {"project": "real", "role": "owner"}, "role 'owner' is not one of viewer, editor, admin"),
        ("not-an-email", {"project": "real"}, "'not-an-email' is not an email address"),
        ("f@example.com", {"project": "real", "days": 0}, "days must be at least 1"),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_bad_usage_is_one_line_saying_what_to_fix(email: str, options: dict, said: str, dry_run: bool):
    ProjectFactory(slug="real")
    with pytest.raises(CommandError) as raised:
        _invite(email, dry_run=dry_run, **options)
    assert raised.value.returncode == 2 and said in str(raised.value)
    assert not Invitation.objects.exists()


def test_a_dry_run_invites_nobody():
    ProjectFactory(slug="dry")
    assert "would invite m@example.com to dry as admin" in _invite("m@example.com", project="dry", role="admin",
                                                                   dry_run=True)  # fmt: skip
    assert not Invitation.objects.exists()


def _change_form(client: Client, project_id: int) -> dict[str, object]:
    """The project's admin change form as a browser would post it back unchanged."""
    response = client.get(f"/admin/projects/project/{project_id}/change/")
    assert response.status_code == 200
    form = response.context["adminform"].form
    data: dict[str, object] = {}
    for name in form.fields:
        value = form[name].value()
        if value not in (None, False):
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{inline.formset.prefix}-{name}"] = management[name].value()
    return data


def _admin_invites(email: str, role: str) -> tuple[Client, object]:
    project = ProjectFactory(slug="admin-made")
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD))
    data = _change_form(admin, project.pk)
    data.update({"invitations-TOTAL_FORMS": "1", "invitations-0-email": email, "invitations-0-role": role})
    response = admin.post(f"/admin/projects/project/{project.pk}/change/", data, follow=True)
    return admin, response


def test_the_project_admin_invites_a_member(smtp_inbox: Inbox):
    _, response = _admin_invites("g@example.com", "viewer")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "Invitation mailed to g@example.com" in response.content.decode()  # type: ignore[attr-defined]
    assert smtp_inbox.messages[0]["To"] == "g@example.com"
    url = smtp_inbox.link(LINK)
    assert Client().get(_path(url)).status_code == 200
    assert _audit(AuditAction.INVITATION_SENT)[0].actor == "admin:root"


@pytest.mark.usefixtures("smtp_unreachable")
def test_the_project_admin_says_when_the_mail_server_is_unreachable():
    _, response = _admin_invites("h@example.com", "editor")
    assert response.status_code == 200  # type: ignore[attr-defined]
    text = response.content.decode()  # type: ignore[attr-defined]
    assert "could not send the invitation" in text and re.search(LINK, text)


def test_the_project_admin_refuses_a_bad_role():
    _, response = _admin_invites("i@example.com", "owner")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert b"Select a valid choice" in response.content  # type: ignore[attr-defined]
    assert not Invitation.objects.exists()


def test_the_invitations_admin_revokes(admin_client: Client):
    issued = invitation_create(project=ProjectFactory(), email="l@example.com", role="viewer", actor="test")
    response = admin_client.post(
        "/admin/projects/invitation/", {"action": "revoke", "_selected_action": [issued.invitation.pk]}, follow=True
    )
    assert response.status_code == 200 and b"Revoked" in response.content
    assert Client().get(_path(issued.url)).status_code == 410

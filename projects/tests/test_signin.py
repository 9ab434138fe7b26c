"""Signing in: the dashboard's form for members as well as staff, and the lockout after repeated
failures (django-axes), by account and by IP address, recorded in the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F
from django.test import Client

from projects.models import AuditAction, AuditEntry, ProjectMembership, ProjectRole
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "correct-horse-battery-staple"


def _account(name: str, **flags):
    return get_user_model().objects.create_user(name, password=PASSWORD, **flags)


def _sign_in(client: Client, username: str, password: str, ip: str = "203.0.113.7", path: str = LOGIN):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _lockouts(username: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.SIGNIN_LOCKED_OUT, actor=f"signin:{username}"))


def test_a_member_signs_in_and_sees_their_projects_only():
    mine, other = ProjectFactory(name="Mine", slug="mine"), ProjectFactory(name="Other", slug="other")
    member = _account("member")
    ProjectMembership.objects.create(project=mine, user=member, role=ProjectRole.VIEWER)
    client = Client()
    response = _sign_in(client, "member", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    picker = client.get("/dashboard/")
    assert picker.status_code == 200
    assert b"/dashboard/mine/" in picker.content and b"/dashboard/other/" not in picker.content
    assert client.get("/dashboard/mine/").status_code == 200
    assert client.get("/dashboard/other/").status_code == 404
    assert client.get(f"/api/v1/projects/{other.slug}/events").status_code == 404


def test_the_dashboard_sends_the_signed_out_to_the_form():
    response = Client().get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith(f"{LOGIN}?next=")
    assert Client().get(LOGIN).status_code == 200


def test_repeated_failures_lock_the_account_even_against_the_right_password():
    _account("alice", is_staff=True)
    client = Client()
    for n in range(4):
        response = _sign_in(client, "alice", f"guess-{n}", ip=f"198.51.100.{n}")
        assert response.status_code == 200 and b"signin-error" in response.content
    # The fifth failure (each from another address: the account is what is guessed at) locks.
    assert _sign_in(client, "alice", "guess-4", ip="198.51.100.4").status_code == 429
    locked = _sign_in(client, "alice", PASSWORD, ip="198.51.100.99")
    assert locked.status_code == 429 and b"locked-out" in locked.content
    assert "_auth_user_id" not in client.session
    # The admin's form is guarded by the same count.
    assert _sign_in(Client(), "alice", PASSWORD, ip="198.51.100.98", path="/admin/login/").status_code == 429
    entries = _lockouts("alice")
    assert entries and entries[-1].details["username"] == "alice"
    # Someone else, from an address that did not fail, is not affected.
    _account("bob")
    assert _sign_in(Client(), "bob", PASSWORD, ip="192.0.2.1").status_code == 302


def test_repeated_failures_from_one_address_lock_the_address():
    _account("carol")
    client = Client()
    for n in range(5):
        _sign_in(client, f"nobody-{n}", "guess", ip="203.0.113.66")
    assert _sign_in(client, "carol", PASSWORD, ip="203.0.113.66").status_code == 429
    assert _sign_in(Client(), "carol", PASSWORD, ip="203.0.113.67").status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.SIGNIN_LOCKED_OUT, details__ip="203.0.113.66").exists()


def _age_attempts(by: dt.timedelta) -> None:
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - by)


def test_the_lockout_ends_after_the_configured_time():
    # The cool-off runs from the last failure: the attempts are aged rather than waited for, as a
    # sleep of a short cool-off raced sign-ins that take a second each on a loaded two-core box.
    _account("dave")
    cooloff = settings.AXES_COOLOFF_TIME
    for n in range(5):
        _sign_in(Client(), "dave", f"guess-{n}", ip="192.0.2.50")
    assert _sign_in(Client(), "dave", PASSWORD, ip="192.0.2.50").status_code == 429
    _age_attempts(cooloff - dt.timedelta(minutes=1))
    assert _sign_in(Client(), "dave", PASSWORD, ip="192.0.2.50").status_code == 429
    _age_attempts(cooloff + dt.timedelta(seconds=1))
    assert _sign_in(Client(), "dave", PASSWORD, ip="192.0.2.50").status_code == 302

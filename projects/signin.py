"""Sign-in lockouts in the audit log: django-axes refuses an account or an IP address after
repeated failed sign-ins (config/settings.py), and each refusal it reports is recorded here, so
an operator sees who was guessed at and from where next to every other audited action."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from projects.audit import audit_record
from projects.models import AuditAction


def signin_lockout_record(*, username: str | None, ip_address: str | None, path: str) -> None:
    audit_record(
        action=AuditAction.SIGNIN_LOCKED_OUT,
        actor=f"signin:{username or '?'}",
        details={"username": username or "", "ip": ip_address or "", "path": path},
    )


def _locked_out(sender: Any, request: HttpRequest, username: str | None = None, ip_address: str | None = None,
                **kwargs: Any) -> None:  # fmt: skip
    signin_lockout_record(username=username, ip_address=ip_address, path=request.path)


def connect() -> None:
    """Listen to django-axes (called once, from the app's ready())."""
    from axes.signals import user_locked_out

    user_locked_out.connect(_locked_out, dispatch_uid="projects.signin.lockout")

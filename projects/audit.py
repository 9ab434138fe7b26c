"""Writing the audit log: one function, so every entry has the same shape."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from projects.models import ApiKey, AuditEntry, Project


def audit_actor(user: Any) -> str:
    """How the audit log names who acted: ``user:<username>`` for a signed-in account (a session or
    a personal key), ``api`` for a request without one (a project key)."""
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.get_username()}"
    return "api"


def audit_record(
    *,
    action: str,
    project: Project | None = None,
    api_key: ApiKey | None = None,
    actor: str = "system",
    details: dict[str, Any] | None = None,
    count: int = 1,
    at: dt.datetime | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        at=at or timezone.now(),
        action=action,
        project=project,
        api_key=api_key,
        actor=actor,
        details=details or {},
        count=count,
    )


def audit_upsert_aggregated(entries: list[AuditEntry]) -> int:
    """Insert aggregated entries, or update ``count``/``details`` of those already there (by dedupe_key)."""
    if not entries:
        return 0
    AuditEntry.objects.bulk_create(
        entries, update_conflicts=True, unique_fields=["dedupe_key"], update_fields=["count", "details"]
    )
    return len(entries)

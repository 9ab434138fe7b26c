"""Writes for a project's members and settings, as its admins make them (the dashboard's settings
page): change a member's role, remove a member, change the project's settings. Each is audited.

A project keeps at least one admin member: demoting or removing the last one is refused, so
the project's keys, settings and members never fall to staff alone by accident. Staff hold the
admin role without a membership and do not count towards it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from projects.audit import audit_record
from projects.invitations import role_or_error
from projects.models import AuditAction, Project, ProjectMembership, ProjectRole

# What a project admin may change on the settings page. The ingestion limits and the quota are
# left to staff (the Django admin): they protect the server that every project shares.
PROJECT_SETTINGS_FIELDS = (
    "name",
    "timezone",
    "cors_allowed_origins",
    "ip_handling",
    "cookieless",
    "bot_handling",
    "restrict_sources",
    "raw_retention_days",
    "aggregate_retention_days",
)


class LastAdminError(ValidationError):
    """Demoting or removing the project's last admin member."""


def _locked(membership: ProjectMembership) -> ProjectMembership:
    """``membership`` read again under its project's row lock: changes to one project's members
    run one at a time, so two admins demoting each other at the same moment cannot both pass the
    last-admin check (nor deadlock, as locking the member rows in two orders could)."""
    Project.objects.select_for_update().filter(pk=membership.project_id).first()
    current = ProjectMembership.objects.select_related("user", "project").filter(pk=membership.pk).first()
    if current is None:
        raise ValidationError("This person is no longer a member of the project.")
    return current


def _refuse_last_admin(*, membership: ProjectMembership, doing: str) -> None:
    """Raises LastAdminError when ``membership`` (read under ``_locked``) is the project's only admin member."""
    if membership.role != ProjectRole.ADMIN:
        return
    admins = list(
        ProjectMembership.objects.filter(project_id=membership.project_id, role=ProjectRole.ADMIN).values_list(
            "pk", flat=True
        )
    )
    if admins == [membership.pk]:
        raise LastAdminError(
            f"{membership.user.get_username()} is the last admin of {membership.project.name}: "
            f"make another member admin before you {doing} them."
        )


@transaction.atomic
def membership_set_role(*, membership: ProjectMembership, role: str, actor: str) -> ProjectMembership:
    """Gives the member ``role``; ValidationError for an unknown role, LastAdminError for
    demoting the last admin. Setting the role it already has changes (and audits) nothing."""
    new_role = role_or_error(role)
    membership = _locked(membership)
    if membership.role == new_role:
        return membership
    if new_role != ProjectRole.ADMIN:
        _refuse_last_admin(membership=membership, doing="demote")
    old_role = membership.role
    membership.role = new_role
    membership.save(update_fields=["role"])
    audit_record(
        action=AuditAction.MEMBER_ROLE_CHANGED,
        project=membership.project,
        actor=actor,
        details={"user": membership.user.get_username(), "from": old_role, "to": str(new_role)},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: ProjectMembership, actor: str) -> None:
    """Ends the membership (the account stays; it no longer reads the project, at once, keys
    included); LastAdminError for the last admin."""
    membership = _locked(membership)
    _refuse_last_admin(membership=membership, doing="remove")
    details = {"user": membership.user.get_username(), "role": membership.role}
    project = membership.project
    membership.delete()
    audit_record(action=AuditAction.MEMBER_REMOVED, project=project, actor=actor, details=details)


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


@transaction.atomic
def project_settings_update(*, project: Project, changes: Mapping[str, Any], actor: str) -> dict[str, list[Any]]:
    """Applies ``changes`` (fields of PROJECT_SETTINGS_FIELDS) after the model's validation
    (ValidationError naming the field otherwise); audits what changed, ``{field: [old, new]}``,
    which it returns. Nothing changed: nothing saved or audited.

    API keys cache their project for up to API_KEY_CACHE_SECONDS, so ingestion sees new origins,
    IP handling and sources within that time. A new time zone applies to reports at once; rollups
    already built keep the old zone's days until rebuilt (``manage.py rebuild_aggregates``).
    """
    unknown = sorted(set(changes) - set(PROJECT_SETTINGS_FIELDS))
    if unknown:
        raise ValidationError({name: "This setting is not changed here." for name in unknown})
    locked = Project.objects.select_for_update().get(pk=project.pk)
    changed = {
        name: [_jsonable(getattr(locked, name)), _jsonable(value)]
        for name, value in changes.items()
        if getattr(locked, name) != value
    }
    if not changed:
        return {}
    for name in changed:
        setattr(locked, name, changes[name])
    locked.full_clean(exclude=[f.name for f in Project._meta.fields if f.name not in changed])
    locked.save(update_fields=list(changed))
    for name in changed:
        setattr(project, name, getattr(locked, name))
    audit_record(action=AuditAction.PROJECT_SETTINGS_CHANGED, project=project, actor=actor, details=changed)
    return changed

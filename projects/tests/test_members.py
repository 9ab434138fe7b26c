"""projects.members: the last admin stays, also when two admins demote each other at the same
moment (two real PostgreSQL connections); settings changes are validated and audited."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection

from projects.members import LastAdminError, membership_remove, membership_set_role, project_settings_update
from projects.models import AuditAction, AuditEntry, ProjectMembership, ProjectRole
from projects.tests.factories import ProjectFactory


def _admin(project: Any, name: str) -> ProjectMembership:
    user = get_user_model().objects.create_user(name)
    return ProjectMembership.objects.create(project=project, user=user, role=ProjectRole.ADMIN)


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin():
    project = ProjectFactory()
    first, second = _admin(project, "ann"), _admin(project, "bob")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def demote(membership: ProjectMembership, actor: str) -> None:
        try:
            barrier.wait(timeout=10)
            membership_set_role(membership=membership, role=ProjectRole.VIEWER, actor=actor)
            outcomes[actor] = "demoted"
        except LastAdminError:
            outcomes[actor] = "refused"
        except Exception as exc:  # a deadlock or anything else: the test says which
            outcomes[actor] = repr(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=demote, args=(second, "user:ann")),
        threading.Thread(target=demote, args=(first, "user:bob")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["demoted", "refused"], outcomes
    assert ProjectMembership.objects.filter(project=project, role=ProjectRole.ADMIN).count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.MEMBER_ROLE_CHANGED, project=project).count() == 1


@pytest.mark.django_db
def test_the_last_admin_stays_and_others_go():
    project = ProjectFactory(name="Shop")
    only = _admin(project, "ann")
    with pytest.raises(LastAdminError, match="ann is the last admin of Shop"):
        membership_remove(membership=only, actor="tests")
    with pytest.raises(ValidationError, match="role 'owner' is not one of viewer, editor, admin"):
        membership_set_role(membership=only, role="owner", actor="tests")
    # Another admin's removal is fine; then ann is the last one again.
    other = _admin(project, "bob")
    membership_remove(membership=other, actor="tests")
    assert list(ProjectMembership.objects.values_list("user__username", flat=True)) == ["ann"]
    with pytest.raises(LastAdminError):
        membership_set_role(membership=only, role=ProjectRole.EDITOR, actor="tests")
    # The same role again changes nothing and is not audited.
    membership_set_role(membership=only, role=ProjectRole.ADMIN, actor="tests")
    assert [e.details for e in AuditEntry.objects.filter(action=AuditAction.MEMBER_REMOVED, project=project)] == [
        {"user": "bob", "role": "admin"}
    ]
    assert not AuditEntry.objects.filter(action=AuditAction.MEMBER_ROLE_CHANGED, project=project).exists()


@pytest.mark.django_db
def test_settings_are_validated_and_only_the_allowed_ones_change():
    project = ProjectFactory(timezone="UTC")
    with pytest.raises(ValidationError) as refused:
        project_settings_update(project=project, changes={"rate_limit_per_minute": 10**9}, actor="tests")
    assert "rate_limit_per_minute" in refused.value.message_dict
    with pytest.raises(ValidationError) as bad_zone:
        project_settings_update(project=project, changes={"timezone": "Atlantis/Capital"}, actor="tests")
    assert "timezone" in bad_zone.value.message_dict
    project.refresh_from_db()
    assert project.timezone == "UTC" and not AuditEntry.objects.filter(project=project).exists()
    changes = {"timezone": "Asia/Tokyo", "name": project.name}
    changed = project_settings_update(project=project, changes=changes, actor="tests")
    assert changed == {"timezone": ["UTC", "Asia/Tokyo"]}
    project.refresh_from_db()
    assert project.timezone == "Asia/Tokyo"

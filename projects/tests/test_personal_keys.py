"""Personal API keys: a key acts as its user within the projects it names, and whatever cuts the
user off (membership removed, account deactivated) or the key (revocation) cuts it off too."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from core.redis import get_redis
from projects.access import ProjectAPIView
from projects.models import AuditAction, AuditEntry, PersonalApiKey, ProjectMembership, ProjectRole
from projects.personal_keys import (
    PERSONAL_KEYS_LAST_USED,
    personal_key_create,
    personal_key_revoke,
    personal_key_usage_sync,
)
from projects.selectors import api_key_lookup, key_cache
from projects.services import hash_key
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


class ProbeView(ProjectAPIView):
    def get(self, request: Request, slug: str) -> Response:
        return Response({"project": self.project.slug, "user": request.user.get_username()})


def _get(slug: str, key: str) -> Response:
    request = APIRequestFactory().get(f"/api/v1/projects/{slug}/probe", HTTP_AUTHORIZATION=f"Bearer {key}")
    return ProbeView.as_view()(request, slug=slug)


def _member(name: str, *projects, role: str = ProjectRole.VIEWER, **flags):
    user = get_user_model().objects.create_user(name, password="pw-123456-long", **flags)
    for project in projects:
        ProjectMembership.objects.create(project=project, user=user, role=role)
    return user


def test_the_key_is_shown_once_stored_hashed_and_audited():
    user = _member("ann")
    issued = personal_key_create(user=user, name="laptop", actor="user:ann")
    assert issued.raw.startswith("uk_")
    stored = PersonalApiKey.objects.get()
    assert stored.key_hash == hash_key(issued.raw) and issued.raw not in str(vars(stored).values())
    assert stored.prefix == issued.raw[:10]
    personal_key_revoke(key=stored, actor="user:ann")
    personal_key_revoke(key=stored, actor="user:ann")  # idempotent: one entry
    # (Other modules' committed data may leave project keys' entries behind: only these count.)
    entries = AuditEntry.objects.filter(details__prefix=stored.prefix).order_by("id")
    actions = list(entries.values_list("action", flat=True))
    assert actions == [AuditAction.PERSONAL_KEY_CREATED, AuditAction.PERSONAL_KEY_REVOKED]
    # A personal key is not a project key: ingestion's lookup does not know it.
    assert api_key_lookup(raw_key=issued.raw) is None


def test_a_key_reads_its_users_projects_as_the_user():
    mine, also, other = ProjectFactory(), ProjectFactory(), ProjectFactory()
    user = _member("bea", mine, also)
    raw = personal_key_create(user=user, name="all", actor="t").raw
    response = _get(mine.slug, raw)
    assert response.status_code == 200 and response.data == {"project": mine.slug, "user": "bea"}
    assert _get(also.slug, raw).status_code == 200
    # Not a member: 404, as for a slug that does not exist.
    assert _get(other.slug, raw).status_code == 404
    assert _get("no-such-project", raw).status_code == 404


def test_a_key_limited_to_projects_reads_no_other_even_if_the_user_does():
    mine, also = ProjectFactory(), ProjectFactory()
    user = _member("cy", mine, also)
    raw = personal_key_create(user=user, name="one", projects=[mine], scope="write", actor="t").raw
    assert _get(mine.slug, raw).status_code == 200
    assert _get(also.slug, raw).status_code == 404


def test_deleting_the_projects_a_key_names_leaves_it_reading_nothing():
    named, kept = ProjectFactory(), ProjectFactory()
    user = _member("cyd", named, kept)
    raw = personal_key_create(user=user, name="one", projects=[named], actor="t").raw
    named.delete()
    key_cache.clear()  # as after API_KEY_CACHE_SECONDS
    # Not "no projects named, so all of them": the key said which, and they are gone.
    assert _get(kept.slug, raw).status_code == 404


def test_a_staff_users_key_reads_every_project():
    raw = personal_key_create(user=_member("dee", is_staff=True), name="ops", actor="t").raw
    assert _get(ProjectFactory().slug, raw).status_code == 200


def test_removing_the_membership_or_deactivating_the_user_cuts_the_key_off_at_once():
    project = ProjectFactory()
    user = _member("eve", project)
    raw = personal_key_create(user=user, name="k", actor="t").raw
    assert _get(project.slug, raw).status_code == 200  # now in the key cache
    ProjectMembership.objects.filter(user=user).delete()
    assert _get(project.slug, raw).status_code == 404
    ProjectMembership.objects.create(project=project, user=user, role=ProjectRole.VIEWER)
    assert _get(project.slug, raw).status_code == 200
    user.is_active = False
    user.save()
    response = _get(project.slug, raw)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_and_unknown_keys_are_401():
    project = ProjectFactory()
    user = _member("fay", project)
    issued = personal_key_create(user=user, name="k", actor="t")
    assert _get(project.slug, issued.raw).status_code == 200
    personal_key_revoke(key=issued.key, actor="t")
    # Within API_KEY_CACHE_SECONDS a web process may still know the key as it was (10 s by default).
    key_cache.clear()
    assert _get(project.slug, issued.raw).status_code == 401
    assert _get(project.slug, "uk_not-a-key").status_code == 401


def test_use_reaches_last_used_at_through_the_periodic_sync():
    project = ProjectFactory()
    issued = personal_key_create(user=_member("gus", project), name="k", actor="t")
    assert _get(project.slug, issued.raw).status_code == 200
    assert get_redis().hexists(PERSONAL_KEYS_LAST_USED, str(issued.key.pk))
    assert personal_key_usage_sync() == 1
    issued.key.refresh_from_db()
    assert issued.key.last_used_at is not None
    assert personal_key_usage_sync() == 0  # forward only: the same minute moves nothing


class WriteProbeView(ProjectAPIView):
    writes = ("delete",)

    def delete(self, request: Request, slug: str) -> Response:
        return Response(status=204)


def _delete(slug: str, key: str) -> Response:
    request = APIRequestFactory().delete(f"/api/v1/projects/{slug}/probe", HTTP_AUTHORIZATION=f"Bearer {key}")
    return WriteProbeView.as_view()(request, slug=slug)


def test_a_key_writes_with_the_write_scope_and_its_users_editor_role_as_of_now():
    project = ProjectFactory()
    user = _member("dee", project, role=ProjectRole.EDITOR)
    read = personal_key_create(user=user, name="r", actor="t").raw
    write = personal_key_create(user=user, name="w", scope="write", actor="t").raw
    refused = _delete(project.slug, read)
    assert refused.status_code == 403 and "write scope" in str(refused.data["detail"])
    assert _delete(project.slug, write).status_code == 204
    # The role is asked on every request, not cached with the key: a demotion stops writing at once.
    ProjectMembership.objects.filter(user=user).update(role=ProjectRole.VIEWER)
    refused = _delete(project.slug, write)
    assert refused.status_code == 403 and "yours is viewer" in str(refused.data["detail"])
    assert _get(project.slug, write).status_code == 200  # and it still reads

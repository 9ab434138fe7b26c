"""The access rule of ``projects.access``, on its own and through the base view every API endpoint uses.

The reporting endpoints repeat the HTTP cases end to end (``reporting/tests/test_access_and_params.py``);
here the rule is pinned without reporting, including what Django's session backend would otherwise
hide: an inactive account is refused by the rule itself.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from projects.access import (
    ProjectAPIView,
    project_readable_by,
    project_role,
    project_user_may,
    project_user_may_read,
    projects_readable_by,
)
from projects.models import ApiKey, ApiKeyScope, ProjectMembership, ProjectRole
from projects.services import api_key_create, api_key_revoke
from projects.tests.factories import ProjectFactory, ingest_key_for, read_key_for

pytestmark = pytest.mark.django_db


class ProbeView(ProjectAPIView):
    """The smallest endpoint: answers the project the base view resolved."""

    def get(self, request: Request, slug: str) -> Response:
        return Response({"project": self.project.slug})


def _user(kind: str):
    if kind == "anonymous":
        return AnonymousUser()
    users = get_user_model().objects
    flags = {
        "plain": {},
        "staff": {"is_staff": True},
        "superuser": {"is_superuser": True},
        "inactive staff": {"is_staff": True, "is_active": False},
        "inactive superuser": {"is_superuser": True, "is_active": False},
    }[kind]
    return users.create_user(kind.replace(" ", "-"), password="pw-123456-long", **flags)


READERS = {
    "anonymous": False,
    "plain": False,
    "staff": True,
    "superuser": True,
    "inactive staff": False,
    "inactive superuser": False,
}


@pytest.mark.parametrize(("kind", "reads"), READERS.items())
def test_one_rule_for_one_project_the_list_and_the_slug(kind, reads):
    zebra, apple = ProjectFactory(name="Zebra", slug="zebra"), ProjectFactory(name="Apple", slug="apple")
    user = _user(kind)
    assert project_user_may_read(user=user, project=zebra) is reads
    # The picker's list and the page's lookup are the same rule, never a second copy of it.
    assert list(projects_readable_by(user=user)) == ([apple, zebra] if reads else [])
    assert project_readable_by(user=user, slug="zebra") == (zebra if reads else None)
    assert project_readable_by(user=user, slug="no-such-project") is None
    assert project_user_may_read(user=None, project=zebra) is False


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_a_member_reads_their_projects_and_no_other(role):
    zebra, apple = ProjectFactory(name="Zebra", slug="zebra"), ProjectFactory(name="Apple", slug="apple")
    mango = ProjectFactory(name="Mango", slug="mango")
    user = _user("plain")
    ProjectMembership.objects.create(project=zebra, user=user, role=role)
    ProjectMembership.objects.create(project=apple, user=user, role=ProjectRole.VIEWER)
    assert list(projects_readable_by(user=user)) == [apple, zebra]
    assert project_readable_by(user=user, slug="zebra") == zebra
    assert project_readable_by(user=user, slug="mango") is None
    assert project_user_may_read(user=user, project=mango) is False
    assert project_role(user=user, project=zebra) == role
    assert project_role(user=user, project=mango) is None
    # Each role has the rights of the ones before it, and no more.
    ranks = ["viewer", "editor", "admin"]
    for needed in ranks:
        assert project_user_may(user=user, project=zebra, role=needed) is (ranks.index(role) >= ranks.index(needed))
        assert project_user_may(user=user, project=mango, role=needed) is False


def test_staff_have_every_right_without_a_membership_and_inactive_members_none():
    zebra = ProjectFactory(name="Zebra", slug="zebra")
    assert project_role(user=_user("staff"), project=zebra) == "admin"
    gone = _user("plain")
    ProjectMembership.objects.create(project=zebra, user=gone, role=ProjectRole.ADMIN)
    gone.is_active = False
    gone.save()
    assert project_role(user=gone, project=zebra) is None
    assert list(projects_readable_by(user=gone)) == []


def _get(slug: str, *, key: str | None = None, user=None) -> Response:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key is not None else {}
    request = APIRequestFactory().get(f"/api/v1/projects/{slug}/probe", **headers)
    if user is not None:
        force_authenticate(request, user=user)  # past the session backend, straight to the rule
    return ProbeView.as_view()(request, slug=slug)


def test_the_projects_read_key_reads_it():
    project = ProjectFactory()
    response = _get(project.slug, key=read_key_for(project))
    assert response.status_code == 200
    assert response.data == {"project": project.slug}


def test_another_projects_key_is_404_and_an_ingest_key_403():
    project, other = ProjectFactory(), ProjectFactory()
    assert _get(project.slug, key=read_key_for(other)).status_code == 404
    # Even for a slug that does not exist: a key learns nothing about which slugs do.
    assert _get("no-such-project", key=read_key_for(other)).status_code == 404
    refused = _get(project.slug, key=ingest_key_for(project))
    assert refused.status_code == 403
    assert "ingest" in str(refused.data["detail"])


@pytest.mark.parametrize("header_key", ["sk_not-a-key", "", "revoked"])
def test_unknown_empty_or_revoked_key_is_401(header_key):
    project = ProjectFactory()
    if header_key == "revoked":
        issued = api_key_create(project=project, scope=ApiKeyScope.READ)
        api_key_revoke(api_key=ApiKey.objects.get(pk=issued.api_key.pk))
        header_key = issued.raw
    response = _get(project.slug, key=header_key)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401_naming_bearer():
    response = _get(ProjectFactory().slug)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="eventbase"'


@pytest.mark.parametrize(("kind", "reads"), [(k, r) for k, r in READERS.items() if k != "anonymous"])
def test_a_session_user_reads_by_the_rule_else_404(kind, reads):
    project = ProjectFactory()
    response = _get(project.slug, user=_user(kind))
    assert response.status_code == (200 if reads else 404)


def test_unknown_slug_is_404_for_staff():
    assert _get("no-such-project", user=_user("staff")).status_code == 404


@pytest.mark.parametrize("name", ["permission_classes", "authentication_classes", "get_permissions"])
def test_a_subclass_cannot_change_who_gets_in(name):
    with pytest.raises(TypeError, match=name):
        type("Loophole", (ProjectAPIView,), {name: []})


class WriteProbeView(ProjectAPIView):
    """A read asked by POST (its query in the body) and a write asked by DELETE."""

    writes = ("delete",)

    def post(self, request: Request, slug: str) -> Response:
        return Response({"read": self.project.slug})

    def delete(self, request: Request, slug: str) -> Response:
        return Response({"wrote": self.project.slug})


def _call(method: str, slug: str, *, key: str | None = None, user=None) -> Response:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key is not None else {}
    request = getattr(APIRequestFactory(), method)(f"/api/v1/projects/{slug}/probe", **headers)
    if user is not None:
        force_authenticate(request, user=user)
    return WriteProbeView.as_view()(request, slug=slug)


@pytest.mark.parametrize(("role", "writes"), [("viewer", False), ("editor", True), ("admin", True)])
def test_the_view_says_which_handlers_write_and_writing_needs_an_editor(role, writes):
    project = ProjectFactory()
    user = _user("plain")
    ProjectMembership.objects.create(project=project, user=user, role=role)
    # POST is not a write unless the view says so: a report asked by POST stays a read.
    assert _call("post", project.slug, user=user).status_code == 200
    response = _call("delete", project.slug, user=user)
    assert response.status_code == (200 if writes else 403)
    if not writes:
        assert "editor" in str(response.data["detail"]) and "yours is viewer" in str(response.data["detail"])


def test_staff_write_and_the_read_key_only_reads():
    project = ProjectFactory()
    assert _call("delete", project.slug, user=_user("staff")).status_code == 200
    key = read_key_for(project)
    assert _call("post", project.slug, key=key).status_code == 200
    refused = _call("delete", project.slug, key=key)
    assert refused.status_code == 403
    assert "can only read" in str(refused.data["detail"])
    # Reading rules come first: another project's key is still 404, not a hint that the slug exists.
    assert _call("delete", project.slug, key=read_key_for(ProjectFactory())).status_code == 404


@pytest.mark.parametrize("writes", [("remove",), ("put",), "delete"])
def test_writes_names_the_views_own_handlers_as_a_tuple(writes):
    # A misspelt or missing handler would leave the intended write open to every reader.
    with pytest.raises(TypeError, match="writes"):
        type("Loophole", (ProjectAPIView,), {"writes": writes, "delete": lambda self, request, slug: None})

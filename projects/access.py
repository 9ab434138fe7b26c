"""Who may read and who may write a project: the one rule, for the reporting API and the dashboard.

A request reads the project named by its URL slug, with one of three credentials:

- the project's **read key** (``Authorization: Bearer sk_...``). A valid key of another project
  gets 404, so a key cannot learn which slugs exist; an ingest key of this project gets 403: it is
  public, shipped in browsers, and must not read data;
- a **personal key** (``Authorization: Bearer uk_...``, ``PersonalApiKey``): it acts as its user,
  within the projects the key names (or all of them, if it says so). Each request asks again whether
  the user is active (else 401) and reads the project by the session rule below (else 404), so
  a removed membership or a deactivated account cuts the key off at once; a revoked key is
  refused within ``API_KEY_CACHE_SECONDS``, as a revoked project key is;
- a **session** of an active account: staff and superusers read every project (they keep every
  right), anyone else the projects they are a member of (``ProjectMembership``, a role each:
  viewer < editor < admin); a project they are not a member of answers 404, as a slug that does
  not exist.

Reading is not writing. A handler a view names in ``writes`` (the cohort and goal endpoints'
POST/PATCH/DELETE; a report asked by POST, its query in the body, stays a read) also needs:

- for a session, the ``editor`` role or more (editor, admin, staff), else 403;
- for a personal key, the ``write`` scope **and** its user holding editor or more now, else 403;
- a project read key never writes (403): it is shipped to BI tools and scripts that only read.

Keys, settings and members are the ``admin`` role's rights: a view sets ``read_role`` /
``write_role`` to ``admin`` for them (a project read key is never more than a viewer); the
dashboard's settings page asks ``project_role`` for ``admin`` the same way.

The dashboard lists and opens projects with the same functions, so its picker never offers a
project whose every panel the API would then refuse. ``ProjectAPIView`` is the base of every
endpoint under ``/api/v1/projects/<slug>/``: it resolves ``self.project`` once, before the handler
runs, and refuses subclasses that would change how.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, parsers
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.http import STORE_RETRY_AFTER_SECONDS, bearer_token, store_unavailable
from projects.models import ApiKeyScope, PersonalKeyScope, Project, ProjectMembership, ProjectRole
from projects.personal_keys import personal_key_mark_used
from projects.selectors import KeyLookup, PersonalKeyLookup, api_key_lookup, personal_key_lookup
from projects.services import PERSONAL_KEY_PREFIX, api_key_mark_used

logger = logging.getLogger(__name__)

AnyUser = AbstractBaseUser | AnonymousUser


# --- The rule ----------------------------------------------------------------------------------

# Each role has the rights of the ones before it.
_RANK = {ProjectRole.VIEWER: 1, ProjectRole.EDITOR: 2, ProjectRole.ADMIN: 3}


def _account_id(user: AnyUser | None) -> int | None:
    """The id of an active signed-in account, else None.

    is_active is checked although Django's session backend already drops inactive accounts: the
    rule must not depend on which authentication backend is configured.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return int(user.pk)


def _signed_in(user: AnyUser | None) -> bool:
    return _account_id(user) is not None


def _is_staff(user: AnyUser | None) -> bool:
    return _signed_in(user) and bool(getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))


def project_role(*, user: AnyUser | None, project: Project) -> str | None:
    """``user``'s role in ``project``: ``admin`` for staff (they keep every right), the
    membership's role for a member, None for anyone else."""
    account = _account_id(user)
    if account is None:
        return None
    if _is_staff(user):
        return ProjectRole.ADMIN
    return ProjectMembership.objects.filter(project=project, user_id=account).values_list("role", flat=True).first()


def project_user_may(*, user: AnyUser | None, project: Project, role: str = ProjectRole.VIEWER) -> bool:
    """Whether ``user`` has at least ``role``'s rights in ``project``."""
    held = project_role(user=user, project=project)
    return held is not None and _RANK[ProjectRole(held)] >= _RANK[ProjectRole(role)]


def project_user_may_read(*, user: AnyUser | None, project: Project) -> bool:
    """Whether a signed-in person may read ``project``: staff, or any member."""
    return project_user_may(user=user, project=project)


def projects_readable_by(*, user: AnyUser | None) -> QuerySet[Project]:
    """The projects ``user`` may read, by name: the set ``project_user_may_read`` says yes to."""
    if _is_staff(user):
        return Project.objects.order_by("name")
    account = _account_id(user)
    if account is None:
        return Project.objects.none()
    return Project.objects.filter(memberships__user_id=account).order_by("name")


def project_readable_by(*, user: AnyUser | None, slug: str) -> Project | None:
    """The project of ``slug`` when ``user`` may read it; None when it does not exist or they may not."""
    return projects_readable_by(user=user).filter(slug=slug).first()


def project_for_session(*, user: AnyUser | None, slug: str) -> Project:
    """The project a session user reads, or the API's refusal: 401 signed out, 404 otherwise."""
    if user is None or not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    project = project_readable_by(user=user, slug=slug)
    if project is None:
        raise exceptions.NotFound()
    return project


def project_for_key(*, grant: KeyLookup, slug: str) -> Project:
    """The project a key reads, or the API's refusal: 404 for another project's key, 403 for an ingest key.

    The key already names its project: no lookup by slug, and so no oracle for which slugs exist.
    """
    if grant.project.slug != slug:
        raise exceptions.NotFound()
    if grant.scope != ApiKeyScope.READ:
        raise exceptions.PermissionDenied("This key can only ingest; use the project's read key.")
    return grant.project


def project_for_personal_key(*, grant: PersonalKeyLookup, user: AnyUser | None, slug: str) -> Project:
    """The project a personal key reads: one its user reads now and the key covers, else 404."""
    project = project_readable_by(user=user, slug=slug)
    if project is None or not (grant.all_projects or project.pk in grant.project_ids):
        raise exceptions.NotFound()
    return project


def project_may_read_as(*, grant: object, user: AnyUser | None, project: Project, role: str) -> None:
    """Returns when the request's credentials hold ``role`` in ``project`` (already known readable),
    else 403: for what only admins read (settings with secrets, members). A project read key holds
    the viewer role only."""
    if role == ProjectRole.VIEWER:
        return
    if isinstance(grant, KeyLookup):
        raise exceptions.PermissionDenied(f"This needs the {role} role: a session or a personal key of a {role}.")
    if not project_user_may(user=user, project=project, role=role):
        held = project_role(user=user, project=project)
        yours = f"yours is {held}" if held else "you have none"
        raise exceptions.PermissionDenied(f"This needs the {role} role in this project; {yours}.")


def project_may_write(*, grant: object, user: AnyUser | None, project: Project, role: str = ProjectRole.EDITOR) -> None:
    """Returns when the request's credentials may write to ``project`` (already known readable), else 403.

    Called for the handlers a view names in ``writes`` only: the HTTP method alone cannot tell,
    since some reads are asked by POST. ``role``: the least role that writes (admin for keys,
    settings and members).
    """
    if isinstance(grant, KeyLookup):
        # A read key goes to BI tools and scripts: leaking one must not let anyone edit cohorts.
        raise exceptions.PermissionDenied(
            "This key can only read; writing needs an editor's session or a personal key with the write scope."
        )
    if isinstance(grant, PersonalKeyLookup) and grant.scope != PersonalKeyScope.WRITE:
        raise exceptions.PermissionDenied(
            "This personal key can only read; writing needs a key with the write scope (and the editor role)."
        )
    if not project_user_may(user=user, project=project, role=role):
        held = project_role(user=user, project=project)
        yours = f"yours is {held}" if held else "you have none"
        needed = "the editor or admin role" if role == ProjectRole.EDITOR else f"the {role} role"
        raise exceptions.PermissionDenied(f"Writing needs {needed} in this project; {yours}.")


# --- DRF: authentication, permission, the base view --------------------------------------------


class BearerKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>``; the key's grant is ``request.auth``.

    The user is None for a project key, the key's own user for a personal key.
    """

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser | None, KeyLookup | PersonalKeyLookup] | None:
        raw = bearer_token(get_authorization_header(request).decode("latin-1"))
        if raw is None:
            return None
        if raw.startswith(PERSONAL_KEY_PREFIX):
            return self._personal(raw)
        lookup = api_key_lookup(raw_key=raw)
        if lookup is None or lookup.revoked:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        api_key_mark_used(key_id=lookup.key_id)
        return None, lookup

    def _personal(self, raw: str) -> tuple[AbstractBaseUser, PersonalKeyLookup]:
        grant = personal_key_lookup(raw_key=raw)
        if grant is None or grant.revoked:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        # Not cached: a deactivated account must stop its keys on the next request.
        user = get_user_model().objects.filter(pk=grant.user_id, is_active=True).first()
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        personal_key_mark_used(key_id=grant.key_id)
        return user, grant

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="eventbase"'


class BearerKeyScheme(OpenApiAuthenticationExtension):
    """How /api/schema/ documents the read key (drf-spectacular finds it by ``target_class``)."""

    target_class = BearerKeyAuthentication
    name = "readKey"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        description = "The project's read key (sk_...) or a personal key (uk_...)."
        return {"type": "http", "scheme": "bearer", "description": description}


class ProjectAccess(BasePermission):
    """Resolves ``view.project`` from the slug and the credentials, or raises 401/403/404; a
    handler the view names in ``writes`` also needs the right to write (``project_may_write``)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        slug = view.kwargs["slug"]
        if isinstance(request.auth, KeyLookup):
            view.project = project_for_key(grant=request.auth, slug=slug)
        elif isinstance(request.auth, PersonalKeyLookup):
            view.project = project_for_personal_key(grant=request.auth, user=request.user, slug=slug)
        else:
            view.project = project_for_session(user=request.user, slug=slug)
        if (request.method or "").lower() in getattr(view, "writes", ()):
            role = getattr(view, "write_role", ProjectRole.EDITOR)
            project_may_write(grant=request.auth, user=request.user, project=view.project, role=role)
        else:
            role = getattr(view, "read_role", ProjectRole.VIEWER)
            project_may_read_as(grant=request.auth, user=request.user, project=view.project, role=role)
        return True


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested too deeply for the standard library a 400 too."""

    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None


class JSONOnlyNegotiation(BaseContentNegotiation):
    """Always JSON: ``?format=`` belongs to the export endpoint, not to DRF's renderer override."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


# What decides who gets in: a subclass that set or overrode one of these could skip the rule.
_ACCESS_ATTRIBUTES = (
    "authentication_classes",
    "permission_classes",
    "get_authenticators",
    "get_permissions",
    "check_permissions",
)


class ProjectAPIView(APIView):
    """Base of every endpoint under ``/api/v1/projects/<slug>/``: credentials, then ``self.project``.

    The handler runs only once ``ProjectAccess`` has set ``self.project``, so every query it
    makes can be scoped to it; ``validated`` hands the project to the input serializer too.
    ``writes`` names the handlers that change the project (``("post", "delete")``); every other
    handler is a read, whatever its HTTP method (a report asked by POST reads). ``read_role`` and
    ``write_role`` are the least roles for each (viewer and editor; admin for keys, settings,
    members and destinations).
    """

    authentication_classes = [BearerKeyAuthentication, SessionAuthentication]
    permission_classes = [ProjectAccess]
    writes: tuple[str, ...] = ()
    read_role: str = ProjectRole.VIEWER
    write_role: str = ProjectRole.EDITOR
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser, parsers.FormParser, parsers.MultiPartParser]
    content_negotiation_class = JSONOnlyNegotiation
    project: Project

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        changed = [name for name in _ACCESS_ATTRIBUTES if name in vars(cls)]
        if changed:
            raise TypeError(f"{cls.__name__} may not change {', '.join(changed)}: access is ProjectAPIView's.")
        # A misspelt or unimplemented name would leave the writing handler open to every reader.
        writes = cls.writes if isinstance(cls.writes, tuple) else (cls.writes,)
        unknown = [name for name in writes if name not in cls.http_method_names or not hasattr(cls, str(name))]
        if writes is not cls.writes or unknown:
            raise TypeError(f"{cls.__name__}.writes must be a tuple of its own handlers' names, not {cls.writes!r}.")

    def handle_exception(self, exc: Exception) -> Response:
        if store_unavailable(exc):
            logger.warning("store unavailable", extra={"path": self.request.path, "error": str(exc)[:200]})
            return Response(
                {"detail": "The database is not answering; retry in a few seconds."},
                status=503,
                headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
            )
        return super().handle_exception(exc)

    def validated(self, serializer_class: Any, data: Any, *, partial: bool = False, **context: Any) -> dict[str, Any]:
        """``data`` validated by ``serializer_class`` with the project (and ``context``) in its context."""
        serializer = serializer_class(data=data, partial=partial, context={"project": self.project, **context})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

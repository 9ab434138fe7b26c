"""A project's settings page, ``/dashboard/<slug>/settings/``, for its admins (and staff): the
project's settings, its API keys (create, shown once; revoke), its members (role, removal) and
invitations (invite, revoke).

Who may is ``projects.access``'s one rule: a project the person does not read answers 404, as
every dashboard page; a member below ``admin`` gets 403. The views only check input and call the
projects services, which hash keys, guard the last admin, mail invitations and audit every change.
Each change is a POST (CSRF-checked) that redirects back to the page, except two answers shown
once: a new key and an invitation's link when it was not mailed. Those pages are not cached.
"""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dashboard.settings_forms import ApiKeyForm, InvitationForm, ProjectSettingsForm, RoleForm
from projects.access import project_readable_by, project_role, projects_readable_by
from projects.audit import audit_actor
from projects.invitations import invitation_create, invitation_deliver, invitation_revoke
from projects.members import membership_remove, membership_set_role, project_settings_update
from projects.models import ApiKey, Invitation, Project, ProjectMembership, ProjectRole
from projects.selectors import project_api_keys, project_invitations_pending, project_members
from projects.services import api_key_create, api_key_revoke

TEMPLATE = "dashboard/settings.html"


@functools.cache
def _timezones() -> list[str]:
    """The IANA names zoneinfo knows, suggested by the time zone field (read once, when first asked)."""
    return sorted(zoneinfo.available_timezones())


def _admin_project(request: HttpRequest, slug: str) -> Project:
    """The project of ``slug`` when the signed-in person is its admin (or staff); 404 when they
    do not read it, 403 when they read it with a lesser role."""
    project = project_readable_by(user=request.user, slug=slug)
    if project is None:
        raise Http404("No such project.")
    role = project_role(user=request.user, project=project)
    if role != ProjectRole.ADMIN:
        raise PermissionDenied(f"The project's settings need the admin role; yours is {role}.")
    return project


def _page(request: HttpRequest, project: Project, *, status: int = 200, **context: Any) -> HttpResponse:
    """The whole page; ``context`` replaces a form with its bound (invalid) copy, or adds what is
    shown once (``issued_key``, ``invited``) or an ``error``."""
    defaults = {
        "settings_form": ProjectSettingsForm(instance=project),
        "key_form": ApiKeyForm(),
        "invitation_form": InvitationForm(),
    }
    return render(
        request,
        TEMPLATE,
        {
            **defaults,
            **context,
            "project": project,
            "projects": projects_readable_by(user=request.user),
            "may_admin": True,
            "project_role": ProjectRole.ADMIN,
            "keys": project_api_keys(project=project),
            "members": project_members(project=project),
            "invitations": project_invitations_pending(project=project),
            "roles": ProjectRole.choices,
            "timezones": _timezones(),
        },
        status=status,
    )


def _back(project: Project, section: str) -> HttpResponse:
    response = redirect("dashboard:settings", slug=project.slug)
    response["Location"] += f"#{section}"
    return response


@never_cache
@login_required
@require_GET
def settings_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, _admin_project(request, slug))


@login_required
@require_POST
def settings_save(request: HttpRequest, slug: str) -> HttpResponse:
    project = _admin_project(request, slug)
    # Bound to a copy: a ModelForm writes the input onto its instance while validating, and the
    # service must see the project as stored to say what changed.
    form = ProjectSettingsForm(request.POST, instance=Project.objects.get(pk=project.pk))
    if not form.is_valid():
        return _page(request, project, status=400, settings_form=form)
    try:
        changed = project_settings_update(project=project, changes=form.cleaned_data, actor=audit_actor(request.user))
    except ValidationError as exc:
        form.add_error(None, exc)
        return _page(request, project, status=400, settings_form=form)
    if not changed:
        messages.info(request, "Nothing changed.")
    else:
        note = ""
        if "timezone" in changed:
            note = " Reports use the new time zone now; days already rolled up keep the old zone's until rebuilt."
        messages.success(request, f"Saved: {', '.join(changed)}.{note}")
    return _back(project, "settings")


@never_cache
@login_required
@require_POST
def key_create(request: HttpRequest, slug: str) -> HttpResponse:
    project = _admin_project(request, slug)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, project, status=400, key_form=form)
    issued = api_key_create(
        project=project,
        scope=form.cleaned_data["scope"],
        name=form.cleaned_data["name"],
        actor=audit_actor(request.user),
    )
    # Shown in this answer only: never stored, never in a redirect or the session.
    return _page(request, project, issued_key=issued)


@login_required
@require_POST
def key_revoke(request: HttpRequest, slug: str, key_id: int) -> HttpResponse:
    project = _admin_project(request, slug)
    api_key = get_object_or_404(ApiKey, pk=key_id, project=project)
    api_key_revoke(api_key=api_key, actor=audit_actor(request.user))
    messages.success(request, f"Revoked {api_key.prefix}…; it stops working within a few seconds.")
    return _back(project, "keys")


@login_required
@require_POST
def member_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    project = _admin_project(request, slug)
    membership = get_object_or_404(ProjectMembership, pk=membership_id, project=project)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _page(request, project, status=400, error=f"role: {' '.join(map(str, form.errors['role']))}")
    try:
        changed = membership_set_role(
            membership=membership, role=form.cleaned_data["role"], actor=audit_actor(request.user)
        )
    except ValidationError as exc:
        return _page(request, project, status=400, error=" ".join(exc.messages))
    messages.success(request, f"{changed.user.get_username()} is now {changed.role}.")
    return _back(project, "members")


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    project = _admin_project(request, slug)
    membership = get_object_or_404(ProjectMembership, pk=membership_id, project=project)
    try:
        membership_remove(membership=membership, actor=audit_actor(request.user))
    except ValidationError as exc:
        return _page(request, project, status=400, error=" ".join(exc.messages))
    messages.success(request, f"Removed {membership.user.get_username()} from {project.name}.")
    if membership.user_id == request.user.pk and project_readable_by(user=request.user, slug=slug) is None:
        return redirect("dashboard:picker")  # they removed themselves
    return _back(project, "members")


@never_cache
@login_required
@require_POST
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    project = _admin_project(request, slug)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _page(request, project, status=400, invitation_form=form)
    email, role = form.cleaned_data["email"], form.cleaned_data["role"]
    actor = audit_actor(request.user)
    issued = invitation_create(project=project, email=email, role=role, actor=actor, inviter=request.user)  # type: ignore[arg-type]
    delivered = invitation_deliver(issued=issued, actor=actor)
    if delivered.mailed:
        messages.success(request, f"Invitation mailed to {email} ({role}).")
        return _back(project, "members")
    # Not mailed: the link is for the admin to pass on, shown in this answer only.
    return _page(request, project, invited=delivered)


@login_required
@require_POST
def invitation_withdraw(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    project = _admin_project(request, slug)
    invitation = get_object_or_404(Invitation, pk=invitation_id, project=project)
    invitation_revoke(invitation=invitation, actor=audit_actor(request.user))
    messages.success(request, f"Withdrew the invitation of {invitation.email}; its link no longer works.")
    return _back(project, "members")

"""Invitations: the only way to get an account (there is no open sign-up).

An admin of a project (or staff) invites an email address with a role; the mail carries a link
``/accounts/invite/<token>/``. Opening it, the invitee chooses a username and password, or, signed
in already with that email, accepts; either way they become a member with the invited role. The
token is unguessable (32 random bytes), stored only as a SHA-256, expires after INVITATION_DAYS and
works once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from projects.access import project_user_may
from projects.audit import audit_actor, audit_record
from projects.models import AuditAction, Invitation, Project, ProjectMembership, ProjectRole

_RANK = {ProjectRole.VIEWER: 1, ProjectRole.EDITOR: 2, ProjectRole.ADMIN: 3}


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    url: str  # holds the raw token: shown to the inviter or mailed, never stored


class InvitationUnusable(Exception):
    """The link cannot be used; ``status`` is 404 (unknown) or 410 (expired, used or revoked)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class InvitationNotSent(Exception):
    """The mail server refused the invitation or could not be reached."""


def _hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def invitation_url(raw_token: str) -> str:
    return settings.PUBLIC_URL + reverse("invitation", kwargs={"token": raw_token})


def role_or_error(role: str) -> ProjectRole:
    """``role`` as a ProjectRole, or a ValidationError naming the roles there are."""
    try:
        return ProjectRole(role)
    except ValueError:
        choices = ", ".join(ProjectRole.values)
        raise ValidationError(f"role {role!r} is not one of {choices}.") from None


def invitation_validate(*, email: str, role: str, days: int | None) -> tuple[str, ProjectRole, int]:
    """The invitation's email, role and lifetime in days, or a ValidationError saying what to fix."""
    validated_role = role_or_error(role)
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(f"{email!r} is not an email address.") from None
    lifetime = settings.INVITATION_DAYS if days is None else days
    if lifetime < 1:
        raise ValidationError(f"days must be at least 1, got {lifetime}.")
    return email, validated_role, lifetime


def invitation_create(
    *, project: Project, email: str, role: str, actor: str, days: int | None = None, inviter: User | None = None
) -> IssuedInvitation:
    """A new invitation and its link; raises ValidationError for a bad email, role or duration.

    ``inviter``, the account asking (None for the operator's command), must be an admin of the
    project (staff are): PermissionDenied otherwise.
    """
    if inviter is not None and not project_user_may(user=inviter, project=project, role=ProjectRole.ADMIN):
        raise PermissionDenied(f"only an admin of {project.slug} may invite to it.")
    email, validated_role, lifetime = invitation_validate(email=email, role=role, days=days)
    raw = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        project=project,
        email=email,
        role=validated_role,
        token_hash=_hash(raw),
        invited_by=actor,
        expires_at=timezone.now() + dt.timedelta(days=lifetime),
    )
    return IssuedInvitation(invitation=invitation, url=invitation_url(raw))


def invitation_send(*, issued: IssuedInvitation, actor: str) -> None:
    """Mails the link; raises InvitationNotSent with one line saying why when the server fails."""
    invitation = issued.invitation
    body = (
        f"You are invited to the project {invitation.project.name} on eventbase as {invitation.role}.\n\n"
        f"Open this link to accept and choose a username and password:\n\n{issued.url}\n\n"
        f"It works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC. "
        "If it has expired, ask the person who invited you for a new one.\n"
    )
    try:
        send_mail(f"Invitation to {invitation.project.name} on eventbase", body, None, [invitation.email])
    except (smtplib.SMTPException, OSError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InvitationNotSent(
            f"could not send the invitation to {invitation.email} through {settings.EMAIL_HOST}:"
            f"{settings.EMAIL_PORT} ({type(exc).__name__}: {detail})"
        ) from exc
    invitation_record_sent(invitation=invitation, actor=actor, delivery="email")


def invitation_record_sent(*, invitation: Invitation, actor: str, delivery: str) -> None:
    """Audits an invitation handed out: by ``email``, or as a ``link`` given to the inviter."""
    audit_record(
        action=AuditAction.INVITATION_SENT,
        project=invitation.project,
        actor=actor,
        details={"email": invitation.email, "role": invitation.role, "delivery": delivery},
    )


def invitation_for_token(raw_token: str) -> Invitation:
    """The usable invitation of ``raw_token``, or InvitationUnusable saying why not."""
    invitation = Invitation.objects.select_related("project").filter(token_hash=_hash(raw_token)).first()
    if invitation is None:
        raise InvitationUnusable(404, "This invitation link is not known: check that it was copied whole.")
    if invitation.revoked_at is not None:
        raise InvitationUnusable(410, "This invitation was withdrawn.")
    if invitation.accepted_at is not None:
        raise InvitationUnusable(410, "This invitation has already been used.")
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable(410, "This invitation has expired.")
    return invitation


def account_for_email(email: str) -> User | None:
    return get_user_model().objects.filter(email__iexact=email, is_active=True).first()


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User, new_account: bool = False) -> ProjectMembership:
    """Makes ``user`` a member with the invited role (an existing higher role is kept); once only.

    The row is locked and checked again, so two acceptances at the same moment cannot both count.
    """
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at is not None or locked.revoked_at is not None or locked.expires_at <= timezone.now():
        raise InvitationUnusable(410, "This invitation has already been used, withdrawn or has expired.")
    membership, created = ProjectMembership.objects.get_or_create(
        project_id=locked.project_id, user=user, defaults={"role": locked.role}
    )
    if not created and _RANK[ProjectRole(locked.role)] > _RANK[ProjectRole(membership.role)]:
        membership.role = locked.role
        membership.save(update_fields=["role"])
    locked.accepted_at = timezone.now()
    locked.accepted_by = user
    locked.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        action=AuditAction.INVITATION_ACCEPTED,
        project=locked.project,
        actor=audit_actor(user),
        details={"email": locked.email, "role": membership.role, "new_account": new_account},
    )
    return membership


@transaction.atomic
def invitation_sign_up(*, invitation: Invitation, username: str, password: str) -> User:
    """A new account for the invitee (the password already checked by the form's validators)."""
    user = get_user_model().objects.create_user(username, email=invitation.email, password=password)
    invitation_accept(invitation=invitation, user=user, new_account=True)
    return user


@dataclass(frozen=True)
class DeliveredInvitation:
    """An invitation handed out: mailed, or, when it could not be (``problem`` says why), its
    link for the inviter to pass on."""

    issued: IssuedInvitation
    mailed: bool
    problem: str = ""


def invitation_deliver(*, issued: IssuedInvitation, actor: str) -> DeliveredInvitation:
    """Mails the invitation when a mail server is configured; otherwise, or when the server fails,
    the invitation stands and its link is for the inviter to pass on (audited as such)."""
    if not settings.EMAIL_CONFIGURED:
        invitation_record_sent(invitation=issued.invitation, actor=actor, delivery="link")
        return DeliveredInvitation(issued=issued, mailed=False, problem="No mail server configured (EMAIL_HOST unset)")
    try:
        invitation_send(issued=issued, actor=actor)
    except InvitationNotSent as exc:
        invitation_record_sent(invitation=issued.invitation, actor=actor, delivery="link")
        return DeliveredInvitation(issued=issued, mailed=False, problem=str(exc))
    return DeliveredInvitation(issued=issued, mailed=True)


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: str = "system") -> None:
    """Withdraws a pending invitation (its link then answers 410); a used or withdrawn one is left."""
    if invitation.revoked_at is None and invitation.accepted_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditAction.INVITATION_REVOKED,
            project=invitation.project,
            actor=actor,
            details={"email": invitation.email, "role": invitation.role},
        )

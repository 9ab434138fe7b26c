"""Share links: read-only access to one dashboard or one insight without an account.

The token (``sh_`` + 43 random URL-safe characters) is shown once, when the link is made; only
its SHA-256 is kept, hashed as project keys are (``projects.services.hash_key``). Making and
revoking a link are audited. ``shared_link`` is the one place a token is turned into what it
may read; ``shared_insight`` then allows only the insights that link shows.
"""

from __future__ import annotations

import datetime as dt
import html
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions

from projects.audit import audit_record
from projects.models import AuditAction, Project
from projects.services import hash_key
from reporting.models import Dashboard, DashboardTile, Insight, ShareLink

SHARE_TOKEN_PREFIX = "sh_"


class ShareLinkGone(exceptions.APIException):
    status_code = 410
    default_code = "share_link_gone"


@dataclass(frozen=True)
class IssuedShareLink:
    link: ShareLink
    token: str

    @property
    def url(self) -> str:
        return f"{settings.PUBLIC_URL}/shared/{self.token}/"

    @property
    def embed_url(self) -> str:
        return f"{settings.PUBLIC_URL}/embed/{self.token}/"

    @property
    def embed_html(self) -> str:
        return f'<iframe src="{html.escape(self.embed_url)}" width="100%" height="600" frameborder="0"></iframe>'


def share_target(link: ShareLink) -> dict[str, object]:
    if link.dashboard_id is not None:
        assert link.dashboard is not None
        return {"type": "dashboard", "id": link.dashboard_id, "name": link.dashboard.name}
    assert link.insight is not None
    return {"type": "insight", "id": link.insight_id, "name": link.insight.name}


def share_link_create(
    *,
    project: Project,
    dashboard: Dashboard | None = None,
    insight: Insight | None = None,
    user_id: int | None,
    actor: str,
    expires_at: dt.datetime | None = None,
) -> IssuedShareLink:
    token = SHARE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        project=project,
        dashboard=dashboard,
        insight=insight,
        token_hash=hash_key(token),
        token_prefix=token[:10],
        created_by_id=user_id,
        expires_at=expires_at,
    )
    audit_record(
        action=AuditAction.SHARE_LINK_CREATED,
        project=project,
        actor=actor,
        details={
            "share_link": link.pk,
            **share_target(link),
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return IssuedShareLink(link=link, token=token)


def share_link_revoke(*, link: ShareLink, actor: str) -> ShareLink:
    """Revoked at once (no cache of links to wait for); revoking twice keeps the first time."""
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditAction.SHARE_LINK_REVOKED,
            project=link.project,
            actor=actor,
            details={"share_link": link.pk, **share_target(link)},
        )
    return link


def share_link_active(link: ShareLink, *, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return link.revoked_at is None and (link.expires_at is None or link.expires_at > now)


def share_links_of(*, project: Project) -> QuerySet[ShareLink]:
    return (
        ShareLink.objects.filter(project=project)
        .select_related("dashboard", "insight", "created_by")
        .order_by("-created_at", "-id")
    )


# --- The public side: a token to what it reads -------------------------------------------------


def shared_link(token: str) -> ShareLink:
    """The live link of ``token`` with its project and target, else 404 (unknown) or 410
    (revoked or expired: the link existed, so say so rather than pretend it never did)."""
    if not token.startswith(SHARE_TOKEN_PREFIX) or len(token) > 200:
        raise exceptions.NotFound("No such share link.")
    link = (
        ShareLink.objects.select_related("project", "dashboard", "insight").filter(token_hash=hash_key(token)).first()
    )
    if link is None:
        raise exceptions.NotFound("No such share link.")
    if link.revoked_at is not None:
        raise ShareLinkGone("This share link was revoked; ask for a new one.")
    if link.expires_at is not None and link.expires_at <= timezone.now():
        raise ShareLinkGone("This share link has expired; ask for a new one.")
    return link


def shared_dashboard_tiles(link: ShareLink) -> QuerySet[DashboardTile]:
    return DashboardTile.objects.filter(dashboard=link.dashboard).select_related("insight").order_by("position")


def shared_insight(link: ShareLink, insight_id: int) -> tuple[Insight, Dashboard | None]:
    """The insight ``insight_id`` if the link shows it (with the dashboard whose context applies),
    else 404: a token reads nothing else of its project."""
    if link.insight_id is not None:
        if link.insight_id != insight_id:
            raise exceptions.NotFound("This link does not show that insight.")
        assert link.insight is not None
        return link.insight, None
    found = (
        DashboardTile.objects.select_related("insight").filter(dashboard=link.dashboard, insight_id=insight_id).first()
    )
    if found is None:
        raise exceptions.NotFound("This link does not show that insight.")
    return found.insight, link.dashboard

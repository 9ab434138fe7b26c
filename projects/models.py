"""Projects, their API keys, event sources and per-project policy."""

from __future__ import annotations

import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


def _new_salt() -> str:
    return secrets.token_hex(16)


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris).") from None


def validate_cors_origins(value: str) -> None:
    for origin in parse_origins(value):
        if origin == "*":
            continue
        if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
            raise ValidationError(f"{origin!r} is not an origin: use scheme://host[:port] with no path, or * for any.")


def parse_origins(value: str) -> list[str]:
    return [item.strip().rstrip("/") for item in value.replace(",", "\n").splitlines() if item.strip()]


class IpHandling(models.TextChoices):
    KEEP = "keep", "Store the full IP address"
    TRUNCATE = "truncate", "Store a truncated IP (last IPv4 octet / last 80 IPv6 bits zeroed)"
    DROP = "drop", "Do not store the IP address"


class BotHandling(models.TextChoices):
    DROP = "drop", "Do not store events of crawlers and spam referrers (counted in the ledger as bot)"
    KEEP = "keep", "Store them, flagged with device_type 'bot' (web reports leave them out)"


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="Decides where days begin and end in reports.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    rate_limit_per_minute = models.PositiveIntegerField(
        default=60_000,
        validators=[MinValueValidator(1)],
        help_text="Ingest requests per minute for the whole project.",
    )
    rate_limit_per_ip_per_minute = models.PositiveIntegerField(
        default=6_000,
        validators=[MinValueValidator(1)],
        help_text="Ingest requests per minute from one IP address.",
    )
    monthly_event_quota = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Accepted events per calendar month (UTC); empty for no limit."
    )
    raw_retention_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1)], help_text="Days raw events are kept."
    )
    aggregate_retention_days = models.PositiveIntegerField(
        default=730, validators=[MinValueValidator(1)], help_text="Days rollups are kept."
    )
    cors_allowed_origins = models.TextField(
        default="*",
        blank=True,
        validators=[validate_cors_origins],
        help_text="Origins allowed to send events from a browser, one per line, or * for any. "
        "Ingest keys are public, so * is the usual choice.",
    )
    ip_handling = models.CharField(max_length=16, choices=IpHandling.choices, default=IpHandling.KEEP)
    bot_handling = models.CharField(max_length=16, choices=BotHandling.choices, default=BotHandling.DROP)
    cookieless = models.BooleanField(
        default=False,
        help_text="Anonymous visitors get an id hashed from IP, user agent, site and a salt rotated every "
        "UTC day (old salts are destroyed): no cookie, and a visitor is unique per day, not across days. "
        "Add data-cookieless to the /t.js script tag.",
    )
    restrict_sources = models.BooleanField(
        default=False, help_text="Reject events whose source is not one of the project's event sources."
    )
    anonymous_salt = models.CharField(
        max_length=64,
        default=_new_salt,
        editable=False,
        help_text="Secret mixed into anonymous user ids (hash of IP + user agent).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def allowed_origins(self) -> list[str]:
        return parse_origins(self.cors_allowed_origins)


class ApiKeyScope(models.TextChoices):
    INGEST = "ingest", "Ingest (public, safe in a browser)"
    READ = "read", "Read (secret)"


class ApiKey(models.Model):
    """A project credential. Only a SHA-256 of the key is stored; the key itself is shown once."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    scope = models.CharField(max_length=16, choices=ApiKeyScope.choices)
    prefix = models.CharField(max_length=16, help_text="First characters of the key, for recognising it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.get_scope_display()}, {self.project})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class EventSource(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sources")
    name = models.SlugField(max_length=64, help_text="As sent in the event's `source` field, e.g. web, ios.")
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="uniq_source_per_project")]

    def __str__(self) -> str:
        return self.name


class ProjectRole(models.TextChoices):
    """What a member may do in a project; each role has the rights of the ones before it."""

    VIEWER = "viewer", "Viewer: reads reports"
    EDITOR = "editor", "Editor: also saves insights, dashboards, cohorts and alerts"
    ADMIN = "admin", "Admin: also keys, settings and members"


class ProjectMembership(models.Model):
    """A person's role in one project (staff accounts have every right without one)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships")
    role = models.CharField(max_length=16, choices=ProjectRole.choices, default=ProjectRole.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="uniq_membership_per_project")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class Invitation(models.Model):
    """An email address asked to join a project with a role (projects/invitations.py).

    Only a SHA-256 of the token is stored, as for API keys: the link in the mail is the only copy.
    Single use: ``accepted_at`` is set, under a row lock, by the one acceptance that counts.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=ProjectRole.choices, default=ProjectRole.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.CharField(max_length=200, blank=True, help_text='e.g. "admin:alice", "command"')
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.project} ({self.role})"


class PersonalKeyScope(models.TextChoices):
    READ = "read", "Read reports"
    # Writing also needs the key's user to hold the editor role in the project (projects.access):
    # the scope narrows what a key may do, it never adds to what its user may.
    WRITE = "write", "Read and write (what the user's role allows: editor or admin)"


class PersonalApiKey(models.Model):
    """A person's key for the reporting API: it acts as its user, within the projects it names.

    Only a SHA-256 of the key is stored; the key itself is shown once. The key grants nothing of
    its own: each request also needs the user to be active and to read the project at that moment.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_api_keys")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=16, choices=PersonalKeyScope.choices, default=PersonalKeyScope.READ)
    prefix = models.CharField(max_length=16, help_text="First characters of the key, for recognising it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    projects = models.ManyToManyField(
        Project, blank=True, related_name="+", help_text="The projects the key may read (unless all_projects)."
    )
    # Said, not inferred from an empty ``projects``: deleting the projects a key names must leave
    # it reading nothing, not everything its user reads.
    all_projects = models.BooleanField(default=False, help_text="Every project the user reads, now and later.")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "personal API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name}, {self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditAction(models.TextChoices):
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    API_KEY_USED = "api_key.used", "API key used (first use of the day)"
    RATE_LIMITED = "ingest.rate_limited", "Requests refused by a rate limit (per minute)"
    QUOTA_EXCEEDED = "ingest.quota_exceeded", "Requests refused by the quota (per minute)"
    RETENTION_RUN = "retention.run", "Retention enforced"
    USER_DELETED = "user.deleted", "User data erased"
    BACKFILL = "backfill.run", "Events backfilled"
    AGGREGATES_REBUILT = "aggregates.rebuilt", "Aggregates rebuilt"
    SIGNIN_LOCKED_OUT = "signin.locked_out", "Sign-in locked out after repeated failures"
    INVITATION_SENT = "invitation.sent", "Invitation sent"
    INVITATION_ACCEPTED = "invitation.accepted", "Invitation accepted"
    PERSONAL_KEY_CREATED = "personal_key.created", "Personal API key created"
    PERSONAL_KEY_REVOKED = "personal_key.revoked", "Personal API key revoked"
    INVITATION_REVOKED = "invitation.revoked", "Invitation revoked"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member's role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    PROJECT_SETTINGS_CHANGED = "project.settings_changed", "Project settings changed"
    SHARE_LINK_CREATED = "share_link.created", "Share link created"
    SHARE_LINK_REVOKED = "share_link.revoked", "Share link revoked"
    DESTINATION_CREATED = "destination.created", "Destination created"
    DESTINATION_DELETED = "destination.deleted", "Destination deleted"
    DESTINATION_REPLAYED = "destination.replayed", "Destination's dead batches replayed"


class AuditEntry(models.Model):
    """Who did what to which project, append-only (the admin shows it read-only).

    Frequent events are aggregated rather than written one row each: rate-limit refusals are one
    entry per project and minute (``count`` refusals), key use is one entry per key and day.
    Such entries carry a ``dedupe_key`` so the job that writes them can upsert idempotently.
    """

    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.CharField(max_length=200, blank=True, help_text='e.g. "admin:alice", "command", "system"')
    count = models.PositiveBigIntegerField(default=1)
    details = models.JSONField(default=dict, blank=True)
    # NULL for one-off entries: unique only among aggregated ones (PostgreSQL's UNIQUE ignores NULLs).
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["project", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} @ {self.at:%Y-%m-%d %H:%M}"

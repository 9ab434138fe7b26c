"""Saved insights, dashboards of them, and share links.

An insight is a named question: one report ``kind`` (reporting/insights/kinds.py) with that
report's input (``query``, exactly what its endpoint takes, without ``from``/``to``) and a date
range that may be relative (``{"last_days": 30}`` stays the last 30 days: reporting/insights/dates.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from projects.models import Project

INSIGHT_KINDS = [
    ("trends", "Trends"),
    ("funnels", "Funnel"),
    ("retention", "Retention"),
    ("stickiness", "Stickiness"),
    ("lifecycle", "Lifecycle"),
    ("paths", "Paths"),
    ("active-users", "Active users"),
    ("top-events", "Top events"),
    ("sessions", "Sessions"),
    ("web", "Web overview"),
]


def last_30_days() -> dict:
    return {"last_days": 30}


class Insight(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="insights")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=32, choices=INSIGHT_KINDS)
    query = models.JSONField(default=dict, help_text="The report's input, as its endpoint takes it, without from/to.")
    date_range = models.JSONField(default=last_30_days, help_text='{"last_days": N}, {"period": …} or {"from", "to"}.')
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped by every change: a client that sends the version it read gets a 409 instead of
    # silently overwriting someone else's edit.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["project", "-updated_at"], name="insight_by_project")]

    def __str__(self) -> str:
        return self.name


class Dashboard(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="dashboards")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    # The project page shows the project's default dashboard (at most one per project).
    is_default = models.BooleanField(default=False)
    filters = models.JSONField(default=list, help_text="AND-ed with every tile's own filters.")
    date_range = models.JSONField(null=True, blank=True, help_text="Overrides every tile's range when set.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(is_default=True), name="dashboard_one_default_per_project"
            )
        ]

    def __str__(self) -> str:
        return self.name


class DashboardTile(models.Model):
    """An insight placed on a dashboard: its place in the order and its size on a 12-column grid."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="tiles")
    insight = models.ForeignKey(Insight, on_delete=models.CASCADE, related_name="tiles")
    position = models.PositiveIntegerField()
    width = models.PositiveSmallIntegerField(default=6, help_text="Grid columns, 3..12.")
    height = models.PositiveSmallIntegerField(default=2, help_text="Grid rows, 1..4.")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dashboard", "insight"], name="dashboard_tile_once"),
        ]

    def __str__(self) -> str:
        return f"{self.insight_id} on {self.dashboard_id} at {self.position}"


class ShareLink(models.Model):
    """Read-only access to one dashboard or one insight without an account.

    Only the token's SHA-256 is kept (as for keys): the link is shown once, when it is made.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="share_links")
    dashboard = models.ForeignKey(Dashboard, null=True, blank=True, on_delete=models.CASCADE, related_name="shares")
    insight = models.ForeignKey(Insight, null=True, blank=True, on_delete=models.CASCADE, related_name="shares")
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=12, help_text="The token's first characters, to tell links apart.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dashboard__isnull=False, insight__isnull=True)
                | models.Q(dashboard__isnull=True, insight__isnull=False),
                name="share_link_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.token_prefix}… ({'dashboard' if self.dashboard_id else 'insight'})"

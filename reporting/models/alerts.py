"""Alerts on an insight's value, email subscriptions to dashboards and insights, and the one
delivery log both notify through (reporting/alerts/).

The uniqueness that the issue promises is kept by the database, not by the jobs' care:
``AlertEvent`` (alert, interval_start) — an alert never fires twice for one interval, even when two
evaluation runs overlap; ``SubscriptionRun`` (subscription, slot) — a report is never sent twice
for one scheduled slot; ``Delivery.idempotency_key`` — a notification is queued once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from projects.models import Project
from reporting.models.insights import Dashboard, Insight


class AlertCondition(models.TextChoices):
    ABOVE = "above", "Above the threshold"
    BELOW = "below", "Below the threshold"
    CHANGE_PCT = "change_pct", "Changed by more than threshold % against the previous interval"


class Alert(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alerts")
    insight = models.ForeignKey(Insight, on_delete=models.CASCADE, related_name="alerts")
    name = models.CharField(max_length=200)
    condition = models.CharField(max_length=16, choices=AlertCondition.choices)
    threshold = models.FloatField(help_text="The value, or the percentage for change_pct.")
    emails = models.JSONField(default=list, help_text="Addresses to notify.")
    webhook_url = models.URLField(max_length=500, blank=True, default="")
    # Kept in clear: it signs every payload. The API shows it once, in the answer that made it.
    webhook_secret = models.CharField(max_length=64, blank=True, default="")
    enabled = models.BooleanField(default=True)
    # Whether the last evaluated interval breached: a firing alert resolves on its first clear interval.
    firing = models.BooleanField(default=False)
    # The start of the last interval evaluated: the job evaluates each completed interval once, in order.
    evaluated_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class AlertEventState(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class AlertEvent(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    interval_start = models.DateTimeField(help_text="The evaluated interval's start (UTC instant).")
    state = models.CharField(max_length=16, choices=AlertEventState.choices)
    value = models.FloatField()
    previous_value = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-interval_start"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "interval_start"], name="alert_event_once_per_interval"),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.state} at {self.interval_start:%Y-%m-%d %H:%M}"


class SubscriptionFrequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class Subscription(models.Model):
    """A dashboard or an insight emailed at a local time of the project's time zone."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="subscriptions")
    dashboard = models.ForeignKey(
        Dashboard, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    insight = models.ForeignKey(Insight, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions")
    name = models.CharField(max_length=200)
    emails = models.JSONField(default=list)
    frequency = models.CharField(max_length=16, choices=SubscriptionFrequency.choices)
    weekday = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 = Monday; weekly only.")
    day_of_month = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="1..31; monthly only (the last day in shorter months)."
    )
    time = models.TimeField(help_text="Local time of the project's time zone.")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dashboard__isnull=False, insight__isnull=True)
                | models.Q(dashboard__isnull=True, insight__isnull=False),
                name="subscription_one_target",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SubscriptionRun(models.Model):
    """One scheduled slot of a subscription, made once: its deliveries hang from it."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="runs")
    slot = models.DateField(help_text="The local day of the scheduled send (one slot per day at most).")
    scheduled_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscription", "slot"], name="subscription_run_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.subscription_id} for {self.slot}"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Dead (gave up)"


class Delivery(models.Model):
    """One notification to one target, and what happened to it (alerts and subscriptions alike)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="deliveries")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    alert_event = models.ForeignKey(
        AlertEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription_run = models.ForeignKey(
        SubscriptionRun, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=16, choices=DeliveryChannel.choices)
    target = models.CharField(max_length=500, help_text="An address or a URL.")
    payload = models.JSONField(help_text="Webhook: the JSON body. Email: subject, text and html.")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    failures = models.JSONField(default=list, help_text='Every failed attempt: [{"attempt", "at", "error"}].')
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=300, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "failed"]),
                name="delivery_due",
            ),
            models.Index(fields=["project", "-created_at"], name="delivery_by_project"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target}: {self.status}"

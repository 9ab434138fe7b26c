"""Making and changing alerts and subscriptions (the API's writes), and the lists it reads."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from core import days as daysmod
from projects.models import Project
from reporting.alerts.subscriptions import slot_next
from reporting.models import Alert, Delivery, Subscription

ALERT_FIELDS = ("name", "insight", "condition", "threshold", "emails", "webhook_url", "enabled")
SUBSCRIPTION_FIELDS = (
    "name", "dashboard", "insight", "emails", "frequency", "weekday", "day_of_month", "time", "enabled",
)  # fmt: skip


def webhook_secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def alert_create(*, project: Project, fields: dict[str, Any], user_id: int | None) -> tuple[Alert, str | None]:
    """The new alert, and its webhook secret when it has a webhook (to show once)."""
    values = {name: fields[name] for name in ALERT_FIELDS if name in fields}
    secret = webhook_secret_new() if values.get("webhook_url") else ""
    alert = Alert.objects.create(project=project, created_by_id=user_id, webhook_secret=secret, **values)
    return alert, secret or None


def alert_update(*, alert: Alert, changes: dict[str, Any]) -> tuple[Alert, str | None]:
    """The changed alert, and a new secret when one was made (asked for, or a first webhook).

    A new insight or condition starts the alert afresh: its state and interval cursor belonged to
    the old question."""
    for name in ALERT_FIELDS:
        if name in changes:
            setattr(alert, name, changes[name])
    if "insight" in changes or "condition" in changes:
        alert.firing = False
        alert.evaluated_until = None
    secret = None
    if alert.webhook_url and (changes.get("rotate_secret") or not alert.webhook_secret):
        secret = alert.webhook_secret = webhook_secret_new()
    alert.save()
    return alert, secret


def subscription_create(*, project: Project, fields: dict[str, Any], user_id: int | None) -> Subscription:
    values = {name: fields[name] for name in SUBSCRIPTION_FIELDS if name in fields}
    return Subscription.objects.create(project=project, created_by_id=user_id, **values)


def subscription_update(*, subscription: Subscription, changes: dict[str, Any]) -> Subscription:
    for name in SUBSCRIPTION_FIELDS:
        if name in changes:
            setattr(subscription, name, changes[name])
    subscription.save()
    return subscription


def subscription_next_send(subscription: Subscription, *, now: dt.datetime | None = None) -> dt.datetime:
    """When the next report is due: the first slot after ``now``."""
    return slot_next(
        frequency=subscription.frequency,
        at=subscription.time,
        tz=daysmod.zone(subscription.project.timezone),
        now=now or timezone.now(),
        weekday=subscription.weekday,
        day_of_month=subscription.day_of_month,
    )[1]


def deliveries_of(
    *, project: Project, alert: int | None = None, subscription: int | None = None, status: str | None = None
) -> QuerySet[Delivery]:
    found = Delivery.objects.filter(project=project)
    if alert is not None:
        found = found.filter(alert_id=alert)
    if subscription is not None:
        found = found.filter(subscription_id=subscription)
    if status is not None:
        found = found.filter(status=status)
    return found.order_by("-created_at", "-id")

"""Queueing notifications: one ``Delivery`` per target, made once (its idempotency key).

Nothing is sent here: the rows are written in the caller's transaction (with the alert event or
the subscription run they belong to), so a notification exists exactly when its cause does, and
the delivery job (reporting/alerts/deliver.py) sends it, retries it and records each attempt.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from reporting.alerts.email import alert_email
from reporting.models import AlertEvent, Delivery, DeliveryChannel


def delivery_queue(*, key: str, channel: str, target: str, payload: dict[str, Any], **links: Any) -> Delivery:
    """The delivery of ``key``, created (due now) unless it already exists."""
    delivery, _ = Delivery.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "channel": channel,
            "target": target,
            "payload": payload,
            "next_attempt_at": timezone.now(),
            **links,
        },
    )
    return delivery


# The project page is the one dashboard page every deployment has; the id says which insight or
# dashboard the mail is about (the saved-insights UI reads it). One place to change when it moves.
def insight_url(project_slug: str, insight_id: int) -> str:
    return f"{settings.PUBLIC_URL}/dashboard/{project_slug}/?insight={insight_id}"


def dashboard_url(project_slug: str, dashboard_id: int) -> str:
    return f"{settings.PUBLIC_URL}/dashboard/{project_slug}/?dashboard={dashboard_id}"


def alert_payload(event: AlertEvent) -> dict[str, Any]:
    """The webhook body (README "Alerts and reports"): what fired, on which interval, with which value."""
    alert = event.alert
    insight = alert.insight
    return {
        "alert": {"id": alert.pk, "name": alert.name, "condition": alert.condition},
        "insight": {"id": insight.pk, "name": insight.name, "kind": insight.kind},
        "project": alert.project.slug,
        "state": event.state,
        "value": event.value,
        "previous_value": event.previous_value,
        "threshold": alert.threshold,
        "interval_start": event.interval_start.isoformat(),
        "event_id": event.pk,
        "url": insight_url(alert.project.slug, insight.pk),
    }


def alert_event_notify(event: AlertEvent) -> list[Delivery]:
    """Queue the event's notifications: an email per address, the webhook if the alert has one."""
    alert = event.alert
    payload = alert_payload(event)
    links = {"project_id": alert.project_id, "alert": alert, "alert_event": event}
    made = []
    if alert.emails:
        mail = alert_email(payload)
        for address in alert.emails:
            made.append(
                delivery_queue(
                    key=f"alert-event:{event.pk}:email:{address.lower()}",
                    channel=DeliveryChannel.EMAIL,
                    target=address,
                    payload=mail,
                    **links,
                )
            )
    if alert.webhook_url:
        made.append(
            delivery_queue(
                key=f"alert-event:{event.pk}:webhook:{alert.webhook_url}",
                channel=DeliveryChannel.WEBHOOK,
                target=alert.webhook_url,
                payload=payload,
                **links,
            )
        )
    return made

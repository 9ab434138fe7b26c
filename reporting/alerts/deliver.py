"""Sending queued notifications, with retries and a record of every attempt.

Each run takes the due deliveries with ``SELECT … FOR UPDATE SKIP LOCKED``, so two runs never send
the same one at the same time, and sends them while holding those rows. A failure (SMTP or HTTP
host unreachable, a timeout, a non-2xx answer) is written on the row with the next attempt's time,
after 1 min, 5 min, 30 min, 2 h and 6 h; the sixth failed attempt makes it ``dead``.

Delivery is at least once: if the process dies between the receiver's answer and the commit, the
next run sends again. Webhook receivers drop the duplicate by its ``X-Eventbase-Delivery`` header
(the same for every attempt of one notification).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from core.webhooks import post_signed
from reporting.models import Delivery, DeliveryChannel, DeliveryStatus

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = (60, 300, 1800, 7200, 21600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
WEBHOOK_TIMEOUT_SECONDS = 5
BATCH = 50


class DeliveryFailed(Exception):
    """The target did not take the notification; the message is what is recorded."""


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): the same for every attempt."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def _secret(delivery: Delivery) -> str:
    return delivery.alert.webhook_secret if delivery.alert is not None else ""


def _send_webhook(delivery: Delivery) -> None:
    failure = post_signed(  # (the URL was checked to be http(s) when saved)
        delivery.target,
        webhook_body(delivery.payload),
        secret=_secret(delivery),
        delivery_id=str(delivery.pk),
        user_agent="eventbase-alerts",
        timeout=WEBHOOK_TIMEOUT_SECONDS,
    )
    if failure is None:
        return
    if failure.status is not None:
        raise DeliveryFailed(f"HTTP {failure.status} from {delivery.target}")
    raise DeliveryFailed(f"could not reach {delivery.target}: {failure.detail}")


def _send_email(delivery: Delivery) -> None:
    if not settings.EMAIL_CONFIGURED:
        # Without EMAIL_HOST mail goes to the log: calling that "delivered" would lose it quietly.
        raise DeliveryFailed("mail is not configured: set EMAIL_HOST (README, Configuration)")
    mail = delivery.payload
    message = EmailMultiAlternatives(
        subject=mail["subject"], body=mail["text"], from_email=settings.DEFAULT_FROM_EMAIL, to=[delivery.target]
    )
    message.attach_alternative(mail["html"], "text/html")
    try:
        message.send(fail_silently=False)
    except OSError as exc:  # smtplib's errors are OSErrors, as are refused connections and timeouts
        raise DeliveryFailed(f"SMTP: {exc}") from None


def delivery_send(delivery: Delivery) -> None:
    """One attempt; DeliveryFailed says why it did not go."""
    if delivery.channel == DeliveryChannel.WEBHOOK:
        _send_webhook(delivery)
    else:
        _send_email(delivery)


def _after_failure(delivery: Delivery, error: str, now: dt.datetime) -> None:
    delivery.last_error = error[:2000]
    delivery.failures = [
        *delivery.failures,
        {"attempt": delivery.attempts, "at": now.isoformat(), "error": error[:500]},
    ]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.DEAD
        delivery.next_attempt_at = None
        logger.warning("notification dead", extra={"delivery": delivery.pk, "error": error})
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = now + dt.timedelta(seconds=BACKOFF_SECONDS[delivery.attempts - 1])


def deliveries_send_due(*, now: dt.datetime | None = None, limit: int = BATCH) -> int:
    """Send the due deliveries (a batch); returns how many were delivered."""
    now = now or timezone.now()
    delivered = 0
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("alert")
            .filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED], next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")[:limit]
        )
        for delivery in due:
            delivery.attempts += 1
            try:
                delivery_send(delivery)
            except DeliveryFailed as exc:
                _after_failure(delivery, str(exc), now)
            else:
                delivery.status = DeliveryStatus.DELIVERED
                delivery.delivered_at = timezone.now()
                delivery.next_attempt_at = None  # last_error stays: what the earlier attempts met
                delivered += 1
            delivery.save(
                update_fields=["attempts", "status", "last_error", "failures", "next_attempt_at", "delivered_at"]
            )
    return delivered

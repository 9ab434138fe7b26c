"""Notifications through real peers: a local HTTP receiver (a thread) that refuses connections, then
answers 500, then recovers; a real SMTP server (aiosmtpd), and an SMTP port nobody listens on.

What is proven: each notification arrives exactly once after recovery (the receiver, deduplicating
by X-Eventbase-Delivery, sees no double), every body's HMAC verifies with the alert's secret,
attempts and back-off are recorded, the sixth failure is final (dead), an unreachable mail server
is a failed delivery to retry (never an exception), and two senders at once send each one once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator

import pytest
from django.test import override_settings

from core.tests.concurrency import in_threads
from ingestion.tests import webhook_receiver
from projects.models import Project
from projects.tests.conftest import free_port, smtp_inbox, smtp_unreachable  # noqa: F401 (fixtures)
from reporting.alerts.deliver import BACKOFF_SECONDS, MAX_ATTEMPTS, deliveries_send_due
from reporting.alerts.notify import alert_event_notify
from reporting.models import Alert, AlertEvent, Delivery, DeliveryStatus, Insight

pytestmark = pytest.mark.django_db(transaction=True)  # the concurrent senders need committed rows

SECRET = "whsec_test-secret"
# The runs' clock: well after the deliveries were queued (they are due from the real now, which
# is later than this module's import by however long the tests before it took).
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)


class Receiver(webhook_receiver.Receiver):
    """The shared webhook receiver, read as a receiver that drops duplicates by delivery id."""

    def signed(self) -> list[tuple[str, bytes, str]]:
        """(delivery id, body, signature) of every request it got."""
        return [(r.headers["X-Eventbase-Delivery"], r.body, r.headers["X-Eventbase-Signature"]) for r in self.requests]

    def accepted(self) -> dict[str, dict]:
        """What a receiver that drops duplicates by delivery id keeps: the 2xx-answered bodies."""
        kept: dict[str, dict] = {}
        for (delivery_id, body, _), request in zip(self.signed(), self.requests, strict=True):
            if 200 <= request.answered < 300:
                assert delivery_id not in kept, f"delivery {delivery_id} arrived twice"
                kept[delivery_id] = json.loads(body)
        return kept


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(free_port())  # nothing listens yet: connections are refused
    yield made
    made.stop()


@pytest.fixture
def alert() -> Iterator[Alert]:
    project = Project.objects.create(name="Hooks", slug="hooks")
    insight = Insight.objects.create(project=project, name="Signups", kind="trends", query={"series": []})
    yield Alert.objects.create(
        project=project, insight=insight, name="Too many", condition="above", threshold=100,
        webhook_url="http://127.0.0.1:9/", webhook_secret=SECRET,
    )  # fmt: skip


def _fire(alert: Alert, day: int, value: float = 150.0) -> AlertEvent:
    event = AlertEvent.objects.create(
        alert=alert, interval_start=T0 - dt.timedelta(days=day), state="firing", value=value, previous_value=90.0
    )
    alert_event_notify(event)
    return event


def _verify(body: bytes, signature: str) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def test_webhooks_fail_then_recover_and_arrive_once(alert, receiver):
    Alert.objects.filter(pk=alert.pk).update(webhook_url=f"http://127.0.0.1:{receiver.port}/hook")
    alert.refresh_from_db()
    events = [_fire(alert, day) for day in (1, 2, 3)]
    ids = sorted(str(d.pk) for d in Delivery.objects.filter(alert=alert))
    assert len(ids) == 3

    # 1. Connection refused: each failure recorded, the next attempt a minute later.
    assert deliveries_send_due(now=T0) == 0
    for d in Delivery.objects.filter(alert=alert):
        assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 1)
        assert "could not reach" in d.last_error
        assert d.next_attempt_at == T0 + dt.timedelta(seconds=BACKOFF_SECONDS[0])
    # Not due yet: nothing is tried.
    assert deliveries_send_due(now=T0 + dt.timedelta(seconds=30)) == 0
    assert set(Delivery.objects.filter(alert=alert).values_list("attempts", flat=True)) == {1}

    # 2. The receiver is up but answers 500.
    receiver.start()
    receiver.status = 500
    t1 = T0 + dt.timedelta(seconds=61)
    assert deliveries_send_due(now=t1) == 0
    assert len(receiver.requests) == 3
    for d in Delivery.objects.filter(alert=alert):
        assert (d.status, d.attempts, d.last_error) == (DeliveryStatus.FAILED, 2, f"HTTP 500 from {d.target}")
        assert d.next_attempt_at == t1 + dt.timedelta(seconds=BACKOFF_SECONDS[1])

    # 3. Recovered: each arrives, once; later runs send nothing again.
    receiver.status = 200
    t2 = t1 + dt.timedelta(seconds=BACKOFF_SECONDS[1])
    assert deliveries_send_due(now=t2) == 3
    assert deliveries_send_due(now=t2 + dt.timedelta(days=1)) == 0
    assert len(receiver.requests) == 6
    kept = receiver.accepted()
    assert sorted(kept) == ids
    assert sorted(body["interval_start"] for body in kept.values()) == sorted(
        e.interval_start.isoformat() for e in events
    )
    # Every attempt of one notification is the same bytes, signed with the alert's secret.
    for _, body, signature in receiver.signed():
        assert _verify(body, signature)
        assert not _verify(body + b" ", signature)
    by_id: dict[str, set[bytes]] = {}
    for delivery_id, body, _ in receiver.signed():
        by_id.setdefault(delivery_id, set()).add(body)
    assert all(len(bodies) == 1 for bodies in by_id.values())
    body = next(iter(kept.values()))
    assert body["state"] == "firing" and body["value"] == 150.0 and body["threshold"] == 100.0
    assert body["alert"]["id"] == alert.pk and body["project"] == "hooks"
    assert body["url"].endswith(f"/dashboard/hooks/?insight={alert.insight_id}")
    for d in Delivery.objects.filter(alert=alert):
        assert (d.status, d.attempts) == (DeliveryStatus.DELIVERED, 3)
        assert d.delivered_at is not None and d.next_attempt_at is None
        assert d.last_error.startswith("HTTP 500")  # what the attempts before met stays on record
        assert [(f["attempt"], f["at"]) for f in d.failures] == [(1, T0.isoformat()), (2, t1.isoformat())]
        assert "could not reach" in d.failures[0]["error"] and d.failures[1]["error"].startswith("HTTP 500")


def test_a_notification_is_queued_once(alert):
    event = _fire(alert, 1)
    alert_event_notify(event)
    alert_event_notify(event)
    assert Delivery.objects.filter(alert_event=event).count() == 1


def test_dead_after_the_last_attempt(alert, receiver):
    receiver.start()
    receiver.status = 503
    Alert.objects.filter(pk=alert.pk).update(webhook_url=f"http://127.0.0.1:{receiver.port}/")
    alert.refresh_from_db()
    _fire(alert, 1)
    now = T0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert deliveries_send_due(now=now) == 0
        delivery = Delivery.objects.get(alert=alert)
        assert delivery.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert delivery.status == DeliveryStatus.FAILED
            assert delivery.next_attempt_at == now + dt.timedelta(seconds=BACKOFF_SECONDS[attempt - 1])
            now = delivery.next_attempt_at
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.DEAD, None)
    assert delivery.last_error == f"HTTP 503 from {delivery.target}"
    assert deliveries_send_due(now=now + dt.timedelta(days=30)) == 0
    assert len(receiver.requests) == MAX_ATTEMPTS == 6
    # The back-off: 1 min, 5 min, 30 min, 2 h, 6 h.
    assert BACKOFF_SECONDS == (60, 300, 1800, 7200, 21600)


def test_two_senders_at_once_send_each_notification_once(alert, receiver):
    receiver.start()
    receiver.delay = 0.2  # slow enough for the second sender to meet the first one's locks
    Alert.objects.filter(pk=alert.pk).update(webhook_url=f"http://127.0.0.1:{receiver.port}/")
    alert.refresh_from_db()
    for day in range(1, 7):
        _fire(alert, day)
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def work() -> None:
        barrier.wait()
        sent.append(deliveries_send_due(now=T0, limit=3))
        sent.append(deliveries_send_due(now=T0, limit=3))

    in_threads(work, 2)
    assert sum(sent) == 6
    assert len(receiver.accepted()) == 6 == len(receiver.requests)


def test_alert_email_through_smtp(alert, smtp_inbox):  # noqa: F811
    Alert.objects.filter(pk=alert.pk).update(webhook_url="", emails=["ops@example.com", "cto@example.com"])
    alert.refresh_from_db()
    _fire(alert, 1, value=1234.0)
    assert deliveries_send_due(now=T0) == 2
    assert sorted(m["X-Envelope-To"] for m in smtp_inbox.messages) == ["cto@example.com", "ops@example.com"]
    message = smtp_inbox.messages[0]
    assert message["Subject"] == "[eventbase] Too many is firing"
    text = smtp_inbox.body(0)
    assert "Value: 1,234" in text and "Previous interval: 90" in text and "Condition: above 100" in text
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "<b>Too many</b> is firing" in html.get_content()
    assert set(Delivery.objects.filter(alert=alert).values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


def test_unreachable_smtp_is_a_failed_delivery_to_retry(alert, smtp_unreachable):  # noqa: F811
    Alert.objects.filter(pk=alert.pk).update(webhook_url="", emails=["ops@example.com"])
    alert.refresh_from_db()
    _fire(alert, 1)
    assert deliveries_send_due(now=T0) == 0
    delivery = Delivery.objects.get(alert=alert)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.last_error.startswith("SMTP: ") and "refused" in delivery.last_error.lower()
    assert delivery.next_attempt_at == T0 + dt.timedelta(seconds=60)


@override_settings(EMAIL_CONFIGURED=False)
def test_mail_not_configured_is_a_failure_not_a_quiet_log(alert):
    Alert.objects.filter(pk=alert.pk).update(webhook_url="", emails=["ops@example.com"])
    alert.refresh_from_db()
    _fire(alert, 1)
    assert deliveries_send_due(now=T0) == 0
    delivery = Delivery.objects.get(alert=alert)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert "EMAIL_HOST" in delivery.last_error

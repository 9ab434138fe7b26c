"""Subscriptions: when each is due, and the report it sends.

A slot is a local day of the project's time zone: the send is due at the subscription's local
time on that day. Slots are days, not instants, so a DST change can neither add a slot (the
repeated hour of an autumn night is one day) nor lose one (a time in the skipped spring hour is
sent at the same clock reading plus the hour the clocks jumped, e.g. 02:30 becomes 03:30).
A run is recorded once per (subscription, slot) by a unique constraint: overlapping or repeated
job runs make one report, never two.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import zoneinfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import days as daysmod
from reporting.alerts.email import Section, report_email, result_table
from reporting.alerts.notify import dashboard_url, delivery_queue, insight_url
from reporting.insights.run import insight_results
from reporting.models import Dashboard, DeliveryChannel, Insight, Subscription, SubscriptionFrequency, SubscriptionRun

logger = logging.getLogger(__name__)


def slot_instant(day: dt.date, at: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """When the slot of local day ``day`` is due, in UTC. zoneinfo reads a skipped wall time with
    the offset before the jump (so 02:30 on a spring-forward night is 03:30 after it) and the
    first of a repeated wall time (fold 0)."""
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)


def _is_slot_day(day: dt.date, frequency: str, weekday: int | None, day_of_month: int | None) -> bool:
    if frequency == SubscriptionFrequency.DAILY:
        return True
    if frequency == SubscriptionFrequency.WEEKLY:
        return day.weekday() == (weekday or 0)
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(day_of_month or 1, last)  # the 31st is the last day of a shorter month


def slot_latest(
    *, frequency: str, at: dt.time, tz: zoneinfo.ZoneInfo, now: dt.datetime, weekday: int | None = None,
    day_of_month: int | None = None,
) -> tuple[dt.date, dt.datetime]:  # fmt: skip
    """The latest slot due by ``now``: its local day and its instant."""
    day = daysmod.local_date(now, tz) + dt.timedelta(days=1)  # a slot's instant may precede its local day's
    while True:
        if _is_slot_day(day, frequency, weekday, day_of_month) and slot_instant(day, at, tz) <= now:
            return day, slot_instant(day, at, tz)
        day -= dt.timedelta(days=1)


def slot_next(
    *, frequency: str, at: dt.time, tz: zoneinfo.ZoneInfo, now: dt.datetime, weekday: int | None = None,
    day_of_month: int | None = None,
) -> tuple[dt.date, dt.datetime]:  # fmt: skip
    """The first slot after ``now``: its local day and its instant."""
    day = daysmod.local_date(now, tz) - dt.timedelta(days=1)
    while True:
        if _is_slot_day(day, frequency, weekday, day_of_month) and slot_instant(day, at, tz) > now:
            return day, slot_instant(day, at, tz)
        day += dt.timedelta(days=1)


def subscription_slot_due(subscription: Subscription, *, now: dt.datetime) -> tuple[dt.date, dt.datetime] | None:
    """The slot to send now, if any: the latest one due, when it came after the subscription was made.
    Missed older slots (the job was down) are not sent late: one report with today's numbers is."""
    tz = daysmod.zone(subscription.project.timezone)
    day, instant = slot_latest(
        frequency=subscription.frequency,
        at=subscription.time,
        tz=tz,
        now=now,
        weekday=subscription.weekday,
        day_of_month=subscription.day_of_month,
    )
    if instant < subscription.created_at:
        return None
    return day, instant


def _insight_section(insight: Insight, dashboard: Dashboard | None = None) -> Section:
    try:
        answer = insight_results(insight, dashboard=dashboard)
    except Exception as exc:  # one broken insight must not cost the others their report
        logger.exception("subscription insight failed", extra={"insight": insight.pk})
        return Section(insight.name, insight.kind, "", "", [], [], error=str(exc)[:300])
    header, rows = result_table(insight.kind, answer["result"])
    return Section(insight.name, insight.kind, str(answer["date_from"]), str(answer["date_to"]), header, rows)


def subscription_report(subscription: Subscription) -> dict[str, str]:
    """The mail of a subscription, with the numbers as of now."""
    slug = subscription.project.slug
    if subscription.dashboard_id is not None:
        dashboard = subscription.dashboard
        assert dashboard is not None
        tiles = dashboard.tiles.select_related("insight__project").order_by("position", "id")
        sections = [_insight_section(tile.insight, dashboard) for tile in tiles]
        return report_email(title=dashboard.name, url=dashboard_url(slug, dashboard.pk), sections=sections)
    insight = subscription.insight
    assert insight is not None
    return report_email(title=insight.name, url=insight_url(slug, insight.pk), sections=[_insight_section(insight)])


def subscription_run(subscription: Subscription, *, now: dt.datetime) -> SubscriptionRun | None:
    """Record the due slot's run and queue its mails; None when nothing is due or it was done."""
    due = subscription_slot_due(subscription, now=now)
    if due is None or SubscriptionRun.objects.filter(subscription=subscription, slot=due[0]).exists():
        return None
    mail = subscription_report(subscription)  # computed outside the transaction: it may take a while
    try:
        with transaction.atomic():
            run = SubscriptionRun.objects.create(subscription=subscription, slot=due[0], scheduled_at=due[1])
            for address in subscription.emails:
                delivery_queue(
                    key=f"subscription-run:{run.pk}:email:{address.lower()}",
                    channel=DeliveryChannel.EMAIL,
                    target=address,
                    payload=mail,
                    project_id=subscription.project_id,
                    subscription=subscription,
                    subscription_run=run,
                )
    except IntegrityError:  # a concurrent run recorded this slot first: it sends the report
        return None
    return run


def subscriptions_run_due(*, now: dt.datetime | None = None) -> int:
    """Queue the reports of every enabled subscription whose slot is due; returns the runs made."""
    now = now or timezone.now()
    made = 0
    for subscription in Subscription.objects.filter(enabled=True).select_related("project").order_by("pk"):
        try:
            made += subscription_run(subscription, now=now) is not None
        except Exception:
            logger.exception("subscription run failed", extra={"subscription": subscription.pk})
    return made

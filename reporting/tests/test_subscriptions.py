"""Subscriptions: slots in a time zone that changes to and from summer time (one report per
scheduled local day, never two, none lost), and the report itself through a real SMTP server,
its numbers checked against plain-Python counts of the events."""

from __future__ import annotations

import datetime as dt

import pytest

from core import days as daysmod
from projects.models import Project
from projects.tests.conftest import smtp_inbox  # noqa: F401 (a fixture)
from reporting.alerts.crud import subscription_next_send
from reporting.alerts.deliver import deliveries_send_due
from reporting.alerts.subscriptions import slot_instant, slot_latest, subscription_run
from reporting.models import Dashboard, DashboardTile, Delivery, Insight, Subscription, SubscriptionRun
from reporting.tests.alerts_data import DAYS, oracle_counts, oracle_users, project_with_events

pytestmark = pytest.mark.django_db

BERLIN = daysmod.zone("Europe/Berlin")  # summer time from 2026-03-29 02:00, back on 2026-10-25 03:00


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_a_local_time_keeps_its_wall_clock_across_dst():
    at = dt.time(9, 0)
    assert slot_instant(dt.date(2026, 3, 28), at, BERLIN) == _utc(2026, 3, 28, 8, 0)  # CET, +1
    assert slot_instant(dt.date(2026, 3, 30), at, BERLIN) == _utc(2026, 3, 30, 7, 0)  # CEST, +2
    assert slot_instant(dt.date(2026, 10, 26), at, BERLIN) == _utc(2026, 10, 26, 8, 0)
    # 02:30 does not exist on 2026-03-29: sent at 03:30 summer time; on 2026-10-25 it happens
    # twice: sent at the first.
    assert slot_instant(dt.date(2026, 3, 29), dt.time(2, 30), BERLIN) == _utc(2026, 3, 29, 1, 30)
    assert slot_instant(dt.date(2026, 10, 25), dt.time(2, 30), BERLIN) == _utc(2026, 10, 25, 0, 30)


def test_weekly_and_monthly_slots():
    monday = slot_latest(frequency="weekly", weekday=0, at=dt.time(8, 0), tz=BERLIN, now=_utc(2026, 4, 1, 12))
    assert monday == (dt.date(2026, 3, 30), _utc(2026, 3, 30, 6, 0))
    # The 31st of a 28-day February is its last day.
    feb = slot_latest(frequency="monthly", day_of_month=31, at=dt.time(7, 0), tz=BERLIN, now=_utc(2026, 3, 15))
    assert feb == (dt.date(2026, 2, 28), _utc(2026, 2, 28, 6, 0))
    # Just before the slot's instant, the previous one is the latest.
    before = slot_latest(frequency="daily", at=dt.time(9, 0), tz=BERLIN, now=_utc(2026, 3, 30, 6, 59))
    assert before[0] == dt.date(2026, 3, 29)


@pytest.mark.parametrize(
    ("at", "start", "days"),
    [
        (dt.time(2, 30), _utc(2026, 3, 27, 20), [dt.date(2026, 3, 28), dt.date(2026, 3, 29), dt.date(2026, 3, 30)]),
        (dt.time(2, 30), _utc(2026, 10, 23, 20), [dt.date(2026, 10, 24), dt.date(2026, 10, 25), dt.date(2026, 10, 26)]),
        # From 22:00 local on the 23rd to 23:00 on the 26th: the 23rd's 23:30 to the 25th's.
        (
            dt.time(23, 30),
            _utc(2026, 10, 23, 20),
            [dt.date(2026, 10, 23), dt.date(2026, 10, 24), dt.date(2026, 10, 25)],
        ),
    ],
)
def test_a_run_every_ten_minutes_sends_each_local_day_once(at, start, days):
    """Through the DST nights: one run per local day, at its local time, however often the job runs."""
    project = Project.objects.create(name="Berlin", slug="berlin", timezone="Europe/Berlin")
    insight = Insight.objects.create(project=project, name="Users", kind="active-users", query={})
    subscription = Subscription.objects.create(
        project=project, insight=insight, name="Daily", emails=["a@example.com"], frequency="daily", time=at
    )
    Subscription.objects.filter(pk=subscription.pk).update(created_at=start)
    subscription.refresh_from_db()
    now = start
    while now < start + dt.timedelta(hours=3 * 24 + 2):
        subscription_run(subscription, now=now)
        subscription_run(subscription, now=now)  # and a repeated tick changes nothing
        now += dt.timedelta(minutes=10)
    runs = list(SubscriptionRun.objects.filter(subscription=subscription).order_by("slot"))
    assert [r.slot for r in runs] == days
    for run in runs:
        assert run.scheduled_at == slot_instant(run.slot, at, BERLIN)
        assert run.scheduled_at.astimezone(BERLIN).date() == run.slot
    assert Delivery.objects.filter(subscription=subscription).count() == len(days)


def test_next_send_is_the_first_slot_after_now():
    project = Project.objects.create(name="Berlin", slug="berlin", timezone="Europe/Berlin")
    insight = Insight.objects.create(project=project, name="Users", kind="active-users", query={})
    subscription = Subscription.objects.create(
        project=project, insight=insight, name="W", emails=["a@example.com"], frequency="weekly", weekday=0,
        time=dt.time(9, 0),
    )  # fmt: skip
    assert subscription_next_send(subscription, now=_utc(2026, 3, 23, 8, 0)) == _utc(2026, 3, 30, 7, 0)
    assert subscription_next_send(subscription, now=_utc(2026, 3, 23, 7, 59)) == _utc(2026, 3, 23, 8, 0)


@pytest.fixture(scope="module")
def project(django_db_setup, django_db_blocker):
    with project_with_events(django_db_blocker, "alerts-report") as made:
        yield made


def test_a_dashboard_report_through_smtp_has_the_numbers(project, smtp_inbox):  # noqa: F811
    span = {"from": DAYS[0].isoformat(), "to": DAYS[-1].isoformat()}
    trends = Insight.objects.create(
        project=project, name="Signups and views", kind="trends", date_range=span,
        query={"series": [{"event": "signup"}, {"event": "$pageview"}], "interval": "day"},
    )  # fmt: skip
    users = Insight.objects.create(project=project, name="Active users", kind="active-users", date_range=span)
    dashboard = Dashboard.objects.create(project=project, name="Growth")
    DashboardTile.objects.create(dashboard=dashboard, insight=trends, position=0)
    DashboardTile.objects.create(dashboard=dashboard, insight=users, position=1)
    subscription = Subscription.objects.create(
        project=project, dashboard=dashboard, name="Weekly growth", emails=["team@example.com"],
        frequency="weekly", weekday=0, time=dt.time(8, 0),
    )  # fmt: skip
    run = subscription_run(subscription, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=8))
    assert run is not None
    assert deliveries_send_due(now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)) == 1

    [message] = smtp_inbox.messages
    assert message["Subject"] == "[eventbase] Growth"
    assert message["X-Envelope-To"] == "team@example.com"
    text = smtp_inbox.body()
    signups, views = oracle_counts(project.test_events, "signup"), oracle_counts(project.test_events, "$pageview")
    active = oracle_users(project.test_events)
    assert "date | signup | $pageview" in text
    for day in DAYS:
        assert f"{day.isoformat()} | {signups[day]} | {views[day]}" in text.splitlines()
        assert f"{day.isoformat()} | {active[day]}" in text.splitlines()
    assert f"http://localhost:8000/dashboard/{project.slug}/?dashboard={dashboard.pk}" in text
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<h2>Signups and views</h2>" in html and "<h2>Active users</h2>" in html
    # The bar chart: the largest signup day (30) is the full width, the others in proportion.
    assert html.count('bgcolor="#4f46e5"') == 2 * len(DAYS)
    assert '<td width="90">2024-03-13</td><td width="400"><table width="100%"' in html
    assert '<td width="90">2024-03-05</td><td width="400"><table width="13%"' in html  # 4 of 30


def test_the_jobs_are_scheduled_and_run():
    """The scheduler enqueues them by dotted path (config/jobs_registry.py); with nothing due they do nothing."""
    from config.jobs_registry import PERIODIC_JOBS
    from reporting import jobs

    scheduled = {job.func for job in PERIODIC_JOBS}
    assert {jobs.evaluate_insight_alerts, jobs.run_subscriptions, jobs.send_notifications} <= scheduled
    for func in (jobs.evaluate_insight_alerts, jobs.run_subscriptions, jobs.send_notifications):
        assert func.__module__ == "reporting.jobs" and func.__qualname__ == func.__name__
    Subscription.objects.all().update(enabled=False)
    assert jobs.run_subscriptions() == 0
    assert jobs.send_notifications() == 0

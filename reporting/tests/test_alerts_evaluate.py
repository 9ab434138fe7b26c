"""Alert evaluation against a plain-Python computation over the events: each completed local day
judged once, in order; firing per breached interval, resolving on the first clear one; the
change percentage computed from the counts by hand; twice (or concurrently) evaluated intervals
recorded once; an interval whose data is not complete yet is not judged.

The events: reporting/tests/alerts_data.py (local days across a DST change, near midnight).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from analytics.models import FillState
from analytics.rollups import ROLLUPS_FILL_STATE
from core import days as daysmod
from core.tests.concurrency import in_threads
from projects.models import Project
from reporting.alerts.evaluate import alert_evaluate, alerts_evaluate_due, change_pct, insight_values
from reporting.models import Alert, AlertEvent, Delivery, Insight
from reporting.tests.alerts_data import DAYS, SIGNUPS, TZ, oracle_counts, project_with_events

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def project(django_db_setup, django_db_blocker):
    with project_with_events(django_db_blocker, "alerts-eval") as made:
        yield made


def _after(day: dt.date, minutes: int = 5) -> dt.datetime:
    """A few minutes into the local day after ``day``: ``day`` is complete then."""
    return daysmod.local_midnight(day + dt.timedelta(days=1), TZ) + dt.timedelta(minutes=minutes)


def _insight(project: Project, **query) -> Insight:
    query = query or {"series": [{"event": "signup"}], "interval": "day"}
    return Insight.objects.create(project=project, name="Signups", kind="trends", query=query)


def _alert(project: Project, insight: Insight, condition: str, threshold: float) -> Alert:
    return Alert.objects.create(
        project=project,
        insight=insight,
        name=f"{condition} {threshold}",
        condition=condition,
        threshold=threshold,
        webhook_url="http://127.0.0.1:9/hook",
        webhook_secret="s",
    )


def _expected(values: list[float], previous: list[float | None], breached) -> list[tuple[dt.date, str]]:
    """The events the rules promise, from plain verdicts: firing per breach, resolved once after."""
    out, firing = [], False
    for i, (value, prev) in enumerate(zip(values, previous, strict=True)):
        hit = breached(value, prev)
        if hit:
            out.append((DAYS[i + 1], "firing"))
        elif firing:
            out.append((DAYS[i + 1], "resolved"))
        firing = hit
    return out


def _recorded(alert: Alert) -> list[tuple[dt.date, str]]:
    return [(daysmod.local_date(e.interval_start, TZ), e.state) for e in alert.events.order_by("interval_start")]


def test_the_watched_values_are_the_local_day_counts(project):
    counts = oracle_counts(project.test_events, "signup")
    assert [counts.get(d, 0) for d in DAYS] == SIGNUPS  # the dataset is what it says
    insight = _insight(project)
    first, end = daysmod.local_midnight(DAYS[0], TZ), daysmod.local_midnight(DAYS[-1] + dt.timedelta(days=1), TZ)
    values = insight_values(insight, first=first, last_end=end, interval="day")
    assert {daysmod.local_date(k, TZ): v for k, v in values.items()} == {d: float(counts.get(d, 0)) for d in DAYS}


def test_a_formula_is_watched_when_the_query_has_one(project):
    insight = _insight(project, series=[{"event": "signup"}, {"event": "$pageview"}], formula="A + B", interval="day")
    signups, views = oracle_counts(project.test_events, "signup"), oracle_counts(project.test_events, "$pageview")
    first, end = daysmod.local_midnight(DAYS[0], TZ), daysmod.local_midnight(DAYS[3], TZ)
    values = insight_values(insight, first=first, last_end=end, interval="day")
    assert list(values.values()) == [float(signups[d] + views[d]) for d in DAYS[:3]]


@pytest.mark.parametrize("threshold", [0.0, 50.0, 100.0, 250.0])
def test_change_pct_day_by_day_matches_a_plain_computation(project, threshold):
    alert = _alert(project, _insight(project), "change_pct", threshold)
    counts = oracle_counts(project.test_events, "signup")
    values = [float(counts.get(d, 0)) for d in DAYS[1:]]
    previous: list[float | None] = [float(counts.get(d, 0)) for d in DAYS[:-1]]

    def breached(value: float, prev: float | None) -> bool:
        # By hand: from 0 to anything is an infinite change, 0 to 0 none.
        if prev == 0:
            return value != 0
        return abs((value - prev) / prev * 100) > threshold

    for day in DAYS[1:]:  # the job runs just after each local midnight
        alert_evaluate(alert.pk, now=_after(day))
    assert _recorded(alert) == _expected(values, previous, breached)
    for event in alert.events.all():
        day = daysmod.local_date(event.interval_start, TZ)
        assert event.value == counts.get(day, 0)
        assert event.previous_value == counts.get(day - dt.timedelta(days=1), 0)
    # And the recorded percentages are those numbers' change.
    assert change_pct(15, 30) == -50.0 and change_pct(7, 0) == float("inf") and change_pct(0, 0) == 0.0


def test_catching_up_judges_each_missed_day_once_in_order(project):
    """A job that was down judges every day it missed, with the same verdicts as day by day."""
    day_by_day = _alert(project, _insight(project), "above", 9)
    caught_up = _alert(project, _insight(project), "above", 9)
    for day in DAYS[1:]:
        alert_evaluate(day_by_day.pk, now=_after(day))
    alert_evaluate(caught_up.pk, now=_after(DAYS[1]))
    alert_evaluate(caught_up.pk, now=_after(DAYS[-1]))
    assert _recorded(caught_up) == _recorded(day_by_day)
    # 10, 10 fire; 2 resolves; 30, 15, 15 fire; 3 resolves.
    assert _recorded(day_by_day) == [
        (DAYS[1], "firing"), (DAYS[2], "firing"), (DAYS[3], "resolved"),
        (DAYS[8], "firing"), (DAYS[9], "firing"), (DAYS[10], "firing"), (DAYS[11], "resolved"),
    ]  # fmt: skip


def test_an_interval_evaluated_twice_fires_once(project):
    alert = _alert(project, _insight(project), "above", 5)
    first = alert_evaluate(alert.pk, now=_after(DAYS[1]))
    again = alert_evaluate(alert.pk, now=_after(DAYS[1], minutes=30))
    assert [e.state for e in first] == ["firing"] and again == []
    # Even with the cursor lost (a run that read the alert before the first one committed), the
    # database refuses a second event for the interval, and no second notification is queued.
    Alert.objects.filter(pk=alert.pk).update(evaluated_until=None, firing=False)
    assert alert_evaluate(alert.pk, now=_after(DAYS[1])) == []
    assert alert.events.count() == 1
    assert Delivery.objects.filter(alert=alert).count() == 1


def test_below_fires_and_resolves(project):
    alert = _alert(project, _insight(project), "below", 1)
    for day in DAYS[3:8]:  # 2, 0, 0, 7, 7
        alert_evaluate(alert.pk, now=_after(day))
    assert _recorded(alert) == [(DAYS[4], "firing"), (DAYS[5], "firing"), (DAYS[6], "resolved")]
    resolved = alert.events.get(state="resolved")
    assert (resolved.value, resolved.previous_value) == (7.0, 0.0)
    alert.refresh_from_db()
    assert alert.firing is False


def test_an_incomplete_day_is_not_judged(project):
    """Past local midnight but with events not yet aggregated: the day waits."""
    alert = _alert(project, _insight(project), "above", 5)
    alert_evaluate(alert.pk, now=_after(DAYS[1]))
    state = FillState.objects.get(name=ROLLUPS_FILL_STATE)
    watermark = state.end_time
    try:
        state.end_time = daysmod.local_midnight(DAYS[3], TZ) - dt.timedelta(minutes=1)
        state.save(update_fields=["end_time"])
        alert_evaluate(alert.pk, now=_after(DAYS[3]))
        assert _recorded(alert) == [(DAYS[1], "firing")]  # day 2 ends after the watermark: it waits
        alert.refresh_from_db()
        assert alert.evaluated_until == daysmod.local_midnight(DAYS[1], TZ)
    finally:
        FillState.objects.filter(pk=state.pk).update(end_time=watermark)
    # With the watermark back (every event aggregated), days 2 and 3 are judged, in order.
    alert_evaluate(alert.pk, now=_after(DAYS[3]))
    assert _recorded(alert) == [(DAYS[1], "firing"), (DAYS[2], "firing"), (DAYS[3], "resolved")]


def test_the_job_skips_a_broken_alert_and_judges_the_rest(project):
    broken = _alert(project, _insight(project, series=[{"event": "never-seen"}], interval="day"), "above", 1)
    fine = _alert(project, _insight(project), "above", 5)
    Alert.objects.exclude(pk__in=[broken.pk, fine.pk]).update(enabled=False)
    assert alerts_evaluate_due(now=_after(DAYS[1])) == 1
    assert not broken.events.exists() and fine.events.count() == 1


def test_hourly_and_weekly_alerts_judge_their_own_intervals(project):
    """An hour is an hour of UTC instants; a week runs Monday to Sunday in local days."""
    hourly = _alert(project, _insight(project, series=[{"event": "signup"}], interval="hour"), "above", 2)
    # The hour from 04:00 UTC on 2024-03-14 holds the 23:xx local signups of 2024-03-13 (EDT, -4).
    hour = dt.datetime(2024, 3, 14, 3, tzinfo=dt.UTC)
    alert_evaluate(hourly.pk, now=hour + dt.timedelta(hours=1, minutes=1))
    in_hour = sum(
        1
        for e in project.test_events
        if e.event_name == "signup" and hour <= e.timestamp < hour + dt.timedelta(hours=1)
    )
    before = sum(
        1 for e in project.test_events
        if e.event_name == "signup" and hour - dt.timedelta(hours=1) <= e.timestamp < hour
    )  # fmt: skip
    assert in_hour > 2
    [event] = hourly.events.all()
    assert (event.interval_start, event.value, event.previous_value) == (hour, in_hour, before)

    weekly = _alert(project, _insight(project, series=[{"event": "signup"}], interval="week"), "above", 1)
    counts = oracle_counts(project.test_events, "signup")
    monday = dt.date(2024, 3, 11)  # the week after the DST change: Monday 11th to Sunday 17th
    alert_evaluate(weekly.pk, now=_after(monday + dt.timedelta(days=6)))
    [event] = weekly.events.all()
    assert event.interval_start == daysmod.local_midnight(monday, TZ)
    assert event.value == sum(counts[monday + dt.timedelta(days=i)] for i in range(7))
    assert event.previous_value == sum(counts[monday - dt.timedelta(days=7 - i)] for i in range(7))


# Last in the module: a transactional test empties the tables when it ends.
@pytest.mark.django_db(transaction=True)
def test_concurrent_evaluations_record_an_interval_once(project):
    """Two workers judging the same alert at the same time: one event, one notification."""
    insight = _insight(project)
    alert = _alert(project, insight, "above", 5)
    barrier = threading.Barrier(4)
    results: list[int] = []

    def work() -> None:
        barrier.wait()
        results.append(len(alert_evaluate(alert.pk, now=_after(DAYS[2]))))

    in_threads(work, 4)
    try:
        assert sorted(results) == [0, 0, 0, 1]
        assert AlertEvent.objects.filter(alert=alert).count() == 1
        assert Delivery.objects.filter(alert=alert).count() == 1
    finally:
        Delivery.objects.filter(alert=alert).delete()
        alert.delete()
        insight.delete()

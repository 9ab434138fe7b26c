"""Evaluating alerts: each completed interval of the insight, once, in order.

An interval is complete when it has ended in the project's time zone *and* every event of it is
stored and aggregated (``complete_until_get``): judging a day whose last events are still in the
stream would fire on a number that is about to change.

What is recorded: a ``firing`` event for every interval whose value breaches the condition (so a
daily alert above its threshold three days running fires three times: once per interval), and a
``resolved`` event for the first clear interval after a firing one. An interval already recorded
is never recorded again: the unique (alert, interval_start) constraint refuses the second insert,
whichever run makes it, and the run that loses notifies nobody.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import days as daysmod
from reporting.alerts.intervals import INTERVALS, completed_intervals, interval_before
from reporting.alerts.notify import alert_event_notify
from reporting.insights.kinds import KINDS
from reporting.insights.run import insight_params
from reporting.models import Alert, AlertCondition, AlertEvent, AlertEventState, Insight
from reporting.queries.common import complete_until_get

logger = logging.getLogger(__name__)

# The kinds with one number per interval, and where that number is.
ALERT_KINDS = ("trends", "active-users", "sessions")
# A job that was down for a long time judges at most this many of the missed intervals (the newest).
CATCH_UP_LIMIT = 48


class AlertInsightError(ValueError):
    """The insight cannot carry an alert; the message says why."""


def alert_interval(insight: Insight) -> str:
    """The insight's interval: what its query asks (sessions are daily)."""
    if insight.kind not in ALERT_KINDS:
        kinds = ", ".join(ALERT_KINDS)
        raise AlertInsightError(
            f"alerts watch a time series: the insight's kind must be one of {kinds}, not {insight.kind!r}."
        )
    if insight.kind == "sessions":
        return "day"
    interval = str((insight.query or {}).get("interval") or "day")
    if interval not in INTERVALS:
        raise AlertInsightError(f"the insight's interval must be one of {', '.join(INTERVALS)}, not {interval!r}.")
    return interval


def _points(kind: str, result: dict[str, Any]) -> list[tuple[str, float]]:
    """(bucket label, value) of the watched series: the formula's when there is one, else the first series'."""
    if kind == "trends":
        chosen = (result.get("formula") or result.get("series") or [None])[0]
        return [(str(p["date"]), float(p["value"])) for p in (chosen or {}).get("data", [])]
    key = "users" if kind == "active-users" else "sessions"
    return [(str(row["date"]), float(row[key])) for row in result.get("results", [])]


def _label_start(label: str, tz: Any) -> dt.datetime:
    """The UTC instant a bucket label names: a local day (YYYY-MM-DD) or an hour's ISO datetime."""
    if len(label) == 10:
        return daysmod.local_midnight(dt.date.fromisoformat(label), tz)
    return dt.datetime.fromisoformat(label).astimezone(dt.UTC)


def insight_values(
    insight: Insight, *, first: dt.datetime, last_end: dt.datetime, interval: str
) -> dict[dt.datetime, float]:
    """The insight's watched value per interval start, for the intervals from ``first`` to ``last_end``."""
    tz = daysmod.zone(insight.project.timezone)
    first_day = daysmod.local_date(first, tz)
    last_day = daysmod.local_date(last_end - dt.timedelta(microseconds=1), tz)
    query = dict(insight.query or {})
    if insight.kind == "trends":
        query["compare"] = False  # the previous interval is asked for directly
    p = insight_params(
        project=insight.project,
        kind=insight.kind,
        query=query,
        date_range={"from": first_day.isoformat(), "to": last_day.isoformat()},
    )
    result = KINDS[insight.kind].run(insight.project, p)
    return {_label_start(label, tz): value for label, value in _points(insight.kind, result)}


def change_pct(value: float, previous: float | None) -> float | None:
    """The change against the previous interval in percent; None without a previous value.

    From 0 to anything else is an infinite change (it breaches any percentage); 0 to 0 is none."""
    if previous is None:
        return None
    if previous == 0:
        return 0.0 if value == 0 else math.inf
    return (value - previous) / abs(previous) * 100.0


def breaches(condition: str, threshold: float, value: float, previous: float | None) -> bool:
    if condition == AlertCondition.ABOVE:
        return value > threshold
    if condition == AlertCondition.BELOW:
        return value < threshold
    change = change_pct(value, previous)
    return change is not None and abs(change) > threshold


@dataclass(frozen=True)
class Judged:
    interval_start: dt.datetime
    value: float
    previous: float | None
    breached: bool


def alert_judge(alert: Alert, *, until: dt.datetime) -> list[Judged]:
    """The verdicts on the completed intervals after the alert's last evaluated one (no writes)."""
    insight = alert.insight
    tz = daysmod.zone(insight.project.timezone)
    interval = alert_interval(insight)
    todo = completed_intervals(after=alert.evaluated_until, until=until, interval=interval, tz=tz, limit=CATCH_UP_LIMIT)
    if not todo:
        return []
    first = interval_before(todo[0][0], interval, tz)[0]
    values = insight_values(insight, first=first, last_end=todo[-1][1], interval=interval)
    verdicts = []
    for start, _ in todo:
        previous = values.get(interval_before(start, interval, tz)[0])
        value = values.get(start, 0.0)
        verdicts.append(Judged(start, value, previous, breaches(alert.condition, alert.threshold, value, previous)))
    return verdicts


def alert_evaluate(alert_id: int, *, now: dt.datetime | None = None) -> list[AlertEvent]:
    """Judge one alert's new completed intervals; record (and queue the notifications of) what
    fired or resolved. Returns the events this call recorded."""
    until = min(now or timezone.now(), complete_until_get())
    recorded: list[AlertEvent] = []
    with transaction.atomic():
        # One evaluator per alert at a time; another run skips it rather than wait.
        alert = (
            Alert.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("insight__project")
            .filter(pk=alert_id, enabled=True)
            .first()
        )
        if alert is None:
            return []
        for verdict in alert_judge(alert, until=until):
            state = _transition(alert.firing, verdict.breached)
            if state is not None:
                event = _record(alert, verdict, state)
                if event is not None:
                    recorded.append(event)
                    alert_event_notify(event)
            alert.firing = verdict.breached
            alert.evaluated_until = verdict.interval_start
        alert.save(update_fields=["firing", "evaluated_until", "updated_at"])
    return recorded


def _transition(was_firing: bool, breached: bool) -> str | None:
    if breached:
        return AlertEventState.FIRING
    return AlertEventState.RESOLVED if was_firing else None


def _record(alert: Alert, verdict: Judged, state: str) -> AlertEvent | None:
    """The event, or None when this interval is already recorded (by an earlier or concurrent run)."""
    try:
        with transaction.atomic():  # a savepoint: the losing insert leaves the outer transaction usable
            return AlertEvent.objects.create(
                alert=alert,
                interval_start=verdict.interval_start,
                state=state,
                value=verdict.value,
                previous_value=verdict.previous,
            )
    except IntegrityError:
        logger.info("alert interval already recorded", extra={"alert": alert.pk, "interval": verdict.interval_start})
        return None


def alerts_evaluate_due(*, now: dt.datetime | None = None) -> int:
    """Evaluate every enabled alert; returns the events recorded. One alert's failure (its insight
    no longer valid, say) is logged and does not stop the others."""
    recorded = 0
    for alert_id in Alert.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True):
        try:
            recorded += len(alert_evaluate(alert_id, now=now))
        except AlertInsightError as exc:  # its insight was edited into another kind: nothing to judge
            logger.warning("alert cannot be evaluated", extra={"alert": alert_id, "reason": str(exc)})
        except Exception:
            logger.exception("alert evaluation failed", extra={"alert": alert_id})
    return recorded

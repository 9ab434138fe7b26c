"""Alerts: is the pipeline healthy, given reachable stores?

Three conditions, thresholds from settings (environment):

- ``flush_lag``: the oldest event not yet stored was received more than
  ``ALERT_FLUSH_LAG_SECONDS`` ago (lag = now - flushed_until(), without its in-flight margin).
- ``flush_stalled``: the streams hold entries and no flush has stored anything for
  ``ALERT_STALL_MINUTES`` (counted from the later of the last successful flush and the arrival
  of the oldest buffered entry, so a quiet night followed by one event is not a stall).
- ``error_rate``: over the last ``ALERT_ERROR_WINDOW_MINUTES``, more than
  ``ALERT_ERROR_RATE_PERCENT`` % of received events were rejected, with at least
  ``ALERT_ERROR_MIN_EVENTS`` received (below that a percentage is noise).

- ``buffer_reset``: Redis lost the event buffer (ingestion/buffer_reset.py); fired once, when a
  flush notices, and shown for an hour with how many accepted events the ledger never saw stored.
- ``process_down`` / ``process_flapping``: a child of `make run`'s supervisor is down (restarting
  after its back-off), or was restarted ``FLAPPING_RESTARTS`` times within the crash-loop window
  (config/supervisor.py; its states come from core/process_state.py).

``alerts_evaluate`` is cheap (three pipelined Redis reads and one indexed sum) and has no side
effects: /health calls it on every probe. ``alerts_log`` is what the periodic job adds: a JSON log
line per firing alert on the ``eventbase.alerts`` logger, and a "resolved" line when one clears.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass

from django.conf import settings

from core import keys
from core.process_state import (
    CRASH_LOOP_RESTARTS,
    CRASH_LOOP_WINDOW_SECONDS,
    RUNNING,
    ProcessStatus,
    state_read,
)
from core.redis import get_redis
from ingestion.buffer_reset import buffer_reset_message, buffer_reset_seen
from monitoring.selectors import PipelineVitals, ingest_window, pipeline_vitals

logger = logging.getLogger("eventbase.alerts")
FIRING = keys.ALERTS_FIRING
NAMES = ("flush_lag", "flush_stalled", "error_rate", "buffer_reset", "process_down", "process_flapping")
# Logged once, by what noticed it, rather than at every evaluation.
ONE_SHOT = frozenset({"buffer_reset"})
# Restarts within the crash-loop window from which a running child counts as crash-looping: fewer
# than stop the stack, so that /health says so while there is still time to look.
FLAPPING_RESTARTS = 3


@dataclass(frozen=True)
class Alert:
    name: str
    value: float
    threshold: float
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def _flush_alerts(vitals: PipelineVitals) -> list[Alert]:
    conf = settings.EVENTBASE
    alerts = []
    lag = vitals.flush_lag_seconds
    if lag > conf["ALERT_FLUSH_LAG_SECONDS"]:
        alerts.append(
            Alert(
                name="flush_lag",
                value=round(lag, 1),
                threshold=conf["ALERT_FLUSH_LAG_SECONDS"],
                message=f"the oldest buffered event was received {lag:.0f} s ago; events are not being stored "
                "fast enough (check the RQ workers on the ingest queue).",
            )
        )
    if vitals.buffered_entries and vitals.oldest_buffered_at is not None:
        since = max(filter(None, (vitals.last_flush_success, vitals.oldest_buffered_at)))
        idle_minutes = (vitals.now - since).total_seconds() / 60
        if idle_minutes > conf["ALERT_STALL_MINUTES"]:
            alerts.append(
                Alert(
                    name="flush_stalled",
                    value=round(idle_minutes, 1),
                    threshold=conf["ALERT_STALL_MINUTES"],
                    message=f"{vitals.buffered_entries} stream entries are waiting and no flush has stored anything "
                    f"for {idle_minutes:.0f} min (are the workers and the scheduler running?).",
                )
            )
    return alerts


def _error_rate_alert(now: dt.datetime) -> Alert | None:
    conf = settings.EVENTBASE
    window = ingest_window(minutes=conf["ALERT_ERROR_WINDOW_MINUTES"], now=now)
    if window.received < conf["ALERT_ERROR_MIN_EVENTS"]:
        return None
    percent = 100 * window.error_rate
    if percent <= conf["ALERT_ERROR_RATE_PERCENT"]:
        return None
    return Alert(
        name="error_rate",
        value=round(percent, 1),
        threshold=conf["ALERT_ERROR_RATE_PERCENT"],
        message=f"{percent:.0f} % of the {window.received} events received in the last {window.minutes} min were "
        "rejected (see the ledger's rejected_by_reason).",
    )


def _buffer_reset_alert() -> Alert | None:
    reset = buffer_reset_seen(get_redis())
    if reset is None:
        return None
    return Alert(name="buffer_reset", value=reset["unflushed"], threshold=0, message=buffer_reset_message(reset))


def process_alerts(processes: list[ProcessStatus] | None = None, *, now: float | None = None) -> list[Alert]:
    """One alert per supervised child that is down or crash-looping (none outside `make run`)."""
    now = time.time() if now is None else now
    alerts = []
    for p in (state_read() or []) if processes is None else processes:
        recent = p.restarts_within(CRASH_LOOP_WINDOW_SECONDS, now=now)
        if p.state != RUNNING:
            due = f"in {max(0.0, p.next_start - now):.0f} s" if p.next_start else "when the stack allows"
            message = (
                f"{p.name} is down ({p.last_exit or p.state}); the supervisor starts it again {due} "
                f"(restarted {p.restarts} times since `make run` started)."
            )
            alerts.append(Alert(name="process_down", value=p.restarts, threshold=0, message=message))
        elif recent >= FLAPPING_RESTARTS:
            message = (
                f"{p.name} was restarted {recent} times in the last {CRASH_LOOP_WINDOW_SECONDS:.0f} s (last: "
                f"{p.last_exit}); one more than {CRASH_LOOP_RESTARTS} stops the stack. See its log lines."
            )
            alerts.append(Alert(name="process_flapping", value=recent, threshold=FLAPPING_RESTARTS, message=message))
    return alerts


def alerts_evaluate(*, now: dt.datetime | None = None) -> list[Alert]:
    """The alerts firing now (empty when the pipeline is healthy). No side effects."""
    now = now or dt.datetime.now(dt.UTC)
    alerts = _flush_alerts(pipeline_vitals(now=now))
    for alert in (_error_rate_alert(now), _buffer_reset_alert()):
        if alert is not None:
            alerts.append(alert)
    return alerts + process_alerts(now=now.timestamp())


def alerts_log(alerts: list[Alert]) -> None:
    """Log each firing alert (every evaluation, as a reminder) and each alert that cleared."""
    client = get_redis()
    before = {name.decode() if isinstance(name, bytes) else name for name in client.smembers(FIRING)}
    now_firing = {alert.name for alert in alerts}
    for alert in alerts:
        if alert.name in ONE_SHOT:
            continue
        logger.error(
            "alert firing: %s",
            alert.name,
            # Stable keys; "detail" because "message" is the log line's own key.
            extra={
                "alert": alert.name,
                "state": "firing",
                "value": alert.value,
                "threshold": alert.threshold,
                "detail": alert.message,
            },
        )
    for name in sorted(before - now_firing):
        logger.info("alert resolved: %s", name, extra={"alert": name, "state": "resolved"})
    pipe = client.pipeline(transaction=True)
    pipe.delete(FIRING)
    if now_firing:
        pipe.sadd(FIRING, *now_firing)
    pipe.execute()

"""The intervals an alert is evaluated on: hours, days, ISO weeks and months of the project's
time zone, as UTC instants [start, end). A local day is 23 or 25 hours long on a DST change, so
days, weeks and months are stepped on the local calendar; hours are stepped in UTC (an hour is
an hour: the report's hourly buckets are made the same way, reporting.queries.trends.hour_buckets).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from core import days as daysmod

INTERVALS = ("hour", "day", "week", "month")


def _next_local_start(day: dt.date, interval: str) -> dt.date:
    if interval == "day":
        return day + dt.timedelta(days=1)
    if interval == "week":
        return day + dt.timedelta(days=7)
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)  # month


def _previous_local_start(day: dt.date, interval: str) -> dt.date:
    if interval == "day":
        return day - dt.timedelta(days=1)
    if interval == "week":
        return day - dt.timedelta(days=7)
    return (day - dt.timedelta(days=1)).replace(day=1)


def interval_containing(instant: dt.datetime, interval: str, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the interval that holds ``instant``."""
    if interval == "hour":
        start = instant.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        return start, start + dt.timedelta(hours=1)
    first = daysmod.period_start(daysmod.local_date(instant, tz), interval)
    return daysmod.local_midnight(first, tz), daysmod.local_midnight(_next_local_start(first, interval), tz)


def interval_after(start: dt.datetime, interval: str, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The interval that follows the one beginning at ``start``."""
    _, end = interval_containing(start, interval, tz)
    return interval_containing(end, interval, tz)


def interval_before(start: dt.datetime, interval: str, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The interval that precedes the one beginning at ``start``."""
    if interval == "hour":
        return start - dt.timedelta(hours=1), start
    first = _previous_local_start(daysmod.local_date(start, tz), interval)
    return daysmod.local_midnight(first, tz), start


def completed_intervals(
    *, after: dt.datetime | None, until: dt.datetime, interval: str, tz: zoneinfo.ZoneInfo, limit: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The intervals that ended by ``until`` and begin after ``after`` (the last one evaluated), oldest
    first, at most the ``limit`` newest. With no ``after``, only the last completed one: a new alert
    judges what happens from now on, not the history before it."""
    last = interval_before(interval_containing(until, interval, tz)[0], interval, tz)
    if after is None:
        return [last]
    found: list[tuple[dt.datetime, dt.datetime]] = []
    current = last
    while current[0] > after and len(found) < limit:
        found.append(current)
        current = interval_before(current[0], interval, tz)
    return found[::-1]

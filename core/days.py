"""Local days: the project's timezone decides where a day begins and ends.

Raw partitions are UTC days; rollups are local days. Every conversion between the two goes
through these helpers so the rollup builder, the query paths and the tests agree on boundaries.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from core.clock import EPOCH

# The calendar eventbase works in. Capture refuses event times before EARLIEST_DAY and reports refuse
# dates outside it, so that no date arithmetic (time zones, periods, retention windows) can step
# outside what Python's datetime holds; a year-1 or year-9999 date is a sender's bug, not data.
EARLIEST_DAY = EPOCH.date()
LATEST_DAY = dt.date(2999, 12, 31)


@functools.lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The instant (UTC) at which ``day`` begins in ``tz``."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def local_day_bounds(day: dt.date, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local day as UTC instants (23 or 25 hours long on DST changes)."""
    return local_midnight(day, tz), local_midnight(day + dt.timedelta(days=1), tz)


def local_range_bounds(first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the inclusive local date range first..last."""
    return local_midnight(first, tz), local_midnight(last + dt.timedelta(days=1), tz)


def local_date(instant: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    return instant.astimezone(tz).date()


def local_days_of_utc_date(utc_date: dt.date, tz: zoneinfo.ZoneInfo) -> set[dt.date]:
    """The local days that overlap one UTC date: one for UTC itself, otherwise usually two."""
    start = dt.datetime.combine(utc_date, dt.time(), tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return {local_date(start, tz), local_date(end, tz)}


def utc_dates_of_local_day(day: dt.date, tz: zoneinfo.ZoneInfo) -> set[dt.date]:
    start, end = local_day_bounds(day, tz)
    return {start.date(), (end - dt.timedelta(microseconds=1)).date()}


def utc_offsets(lo: dt.datetime, hi: dt.datetime, tz: zoneinfo.ZoneInfo) -> list[tuple[dt.datetime, int]]:
    """``tz``'s UTC offset over [lo, hi) as (from instant, offset in seconds) pairs, the first from ``lo``.

    So that an engine can compute an instant's local date as plain arithmetic (the instant plus
    its segment's offset, in whole days) instead of a time-zone conversion per row. Each change
    is found by bisection, to the second, between two probes a day apart (zones change their
    offset at most once a day, and on a whole second)."""

    def offset(seconds: int) -> int:
        delta = dt.datetime.fromtimestamp(seconds, tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    start, end = int(lo.timestamp()), int(hi.timestamp())
    segments = [(lo, offset(start))]
    probe = start
    while probe < end:
        nxt = min(probe + 86_400, end)
        current = segments[-1][1]
        if offset(nxt) != current:
            before, after = probe, nxt  # offset(before) is the current one, offset(after) is not
            while after - before > 1:
                middle = (before + after) // 2
                before, after = (middle, after) if offset(middle) == current else (before, middle)
            if after < end:
                segments.append((dt.datetime.fromtimestamp(after, dt.UTC), offset(after)))
        probe = nxt
    return segments


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def period_start(day: dt.date, interval: str) -> dt.date:
    """The calendar bucket a day falls in: ISO weeks begin on Monday, months on the 1st."""
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day

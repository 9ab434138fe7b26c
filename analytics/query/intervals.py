"""Intervals of stickiness and lifecycle: calendar days, weeks (Monday) or months, as integers.

Both reports compare a person's intervals with each other (how many, which one came before), so
an interval is an integer in SQL: its local day number, its Monday-week number or its month
number. The calendar is core.days.period_start's, the one trends and active users bucket by.

The range is whole intervals: ``from`` goes back to the start of its interval (a Monday, the
1st), so the first interval is as long as the others and a person's first event on its cut-off
days is not lost to lifecycle's "new"; the last interval ends at ``to`` (usually today).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from analytics.query.local_days import local_date_sql, local_day_number_sql
from core import days as daysmod

_EPOCH_DAY = dt.date(1970, 1, 1)
# 1970-01-01 was a Thursday: day number + 3 counts from the Monday before it.
_MONDAY_SHIFT = 3


def interval_index(day: dt.date, interval: str) -> int:
    """The integer of the interval ``day`` falls in (the SQL of interval_index_sql, in Python)."""
    if interval == "month":
        return day.year * 12 + day.month - 1
    number = (day - _EPOCH_DAY).days
    return (number + _MONDAY_SHIFT) // 7 if interval == "week" else number


def interval_start(index: int, interval: str) -> dt.date:
    """The first day of the interval ``index``."""
    if interval == "month":
        return dt.date(index // 12, index % 12 + 1, 1)
    if interval == "week":
        return _EPOCH_DAY + dt.timedelta(days=index * 7 - _MONDAY_SHIFT)
    return _EPOCH_DAY + dt.timedelta(days=index)


def whole_range(date_from: dt.date, interval: str) -> dt.date:
    """The first day read for a range starting at ``date_from``: its interval's start."""
    return daysmod.period_start(date_from, interval)


def interval_index_sql(column: str, interval: str, *, lo: dt.datetime, hi: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    """``column``'s (a TIMESTAMPTZ within [lo, hi)) interval as an integer, by offset arithmetic."""
    if interval == "month":
        day = local_date_sql(column, lo=lo, hi=hi, tz=tz)
        return f"(year({day}) * 12 + month({day}) - 1)"
    number = local_day_number_sql(column, lo=lo, hi=hi, tz=tz)
    return f"(({number} + {_MONDAY_SHIFT}) // 7)" if interval == "week" else number

"""Date ranges of saved insights: relative ranges stay relative.

``{"last_days": N}``: the last N local days, today included (N in 1..731);
``{"period": "this_week"|"last_week"|"this_month"|"last_month"|"this_year"|"yesterday"|"today"}``;
``{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}``: fixed days (``to`` may be left out: up to today).
"Today" is the project's local day (core.days), decided when the insight runs, not when it was saved.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core import days as daysmod

PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month", "this_year")
MAX_LAST_DAYS = 731


class DateRangeError(ValueError):
    """A date range that cannot be resolved; the message says what to fix."""


def date_range_check(value: Any) -> dict[str, Any]:
    """The range in its stored shape, or DateRangeError naming what is wrong."""
    if not isinstance(value, dict) or not value:
        raise DateRangeError('a date range is {"last_days": N}, {"period": name} or {"from": day, "to": day}.')
    keys = set(value)
    if keys == {"last_days"}:
        n = value["last_days"]
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_LAST_DAYS:
            raise DateRangeError(f"last_days must be a whole number from 1 to {MAX_LAST_DAYS}.")
        return {"last_days": n}
    if keys == {"period"}:
        if value["period"] not in PERIODS:
            raise DateRangeError(f"period must be one of {', '.join(PERIODS)}.")
        return {"period": value["period"]}
    if keys <= {"from", "to"} and "from" in keys:
        first = _day(value["from"], "from")
        last = _day(value["to"], "to") if value.get("to") is not None else None
        if last is not None and first > last:
            raise DateRangeError(f"from must not be after to ({last.isoformat()}).")
        return {"from": first.isoformat(), "to": last.isoformat() if last else None}
    raise DateRangeError('use exactly one of: {"last_days": N}, {"period": name}, {"from": day, "to": day}.')


def _day(value: Any, name: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not daysmod.EARLIEST_DAY <= day <= daysmod.LATEST_DAY:
        raise DateRangeError(f"{name} must be a day YYYY-MM-DD from {daysmod.EARLIEST_DAY} to {daysmod.LATEST_DAY}.")
    return day


def date_range_resolve(value: dict[str, Any], *, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last local day the range means on ``today`` (both inclusive)."""
    value = date_range_check(value)
    if "last_days" in value:
        return today - dt.timedelta(days=value["last_days"] - 1), today
    if "from" in value:
        return dt.date.fromisoformat(value["from"]), dt.date.fromisoformat(value["to"]) if value["to"] else today
    period = value["period"]
    if period == "today":
        return today, today
    if period == "yesterday":
        yesterday = today - dt.timedelta(days=1)
        return yesterday, yesterday
    if period == "this_week":
        return daysmod.period_start(today, "week"), today
    if period == "last_week":
        this_week = daysmod.period_start(today, "week")
        return this_week - dt.timedelta(days=7), this_week - dt.timedelta(days=1)
    if period == "this_month":
        return today.replace(day=1), today
    if period == "last_month":
        last_of_previous = today.replace(day=1) - dt.timedelta(days=1)
        return last_of_previous.replace(day=1), last_of_previous
    return today.replace(month=1, day=1), today  # this_year

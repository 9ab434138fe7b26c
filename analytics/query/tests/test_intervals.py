"""Intervals as integers agree with the calendar every report buckets by (core.days.period_start),
in Python and in DuckDB, DST and half-hour zones included."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.query.intervals import interval_index, interval_index_sql, interval_start, whole_range
from analytics.query.tests.test_local_days import ZONES
from core import days as daysmod

INTERVALS = ["day", "week", "month"]


@pytest.mark.parametrize("interval", INTERVALS)
def test_index_and_start_follow_period_start(interval):
    day = dt.date(1970, 1, 1)
    previous = None
    while day <= dt.date(1972, 12, 31):
        index = interval_index(day, interval)
        assert interval_start(index, interval) == daysmod.period_start(day, interval) == whole_range(day, interval)
        if previous is not None:
            # Consecutive intervals are consecutive integers: "the one before" is index - 1.
            assert index - previous in ((0, 1) if interval != "day" else (1,))
        previous = index
        day += dt.timedelta(days=1)
    assert interval_start(interval_index(dt.date(2024, 3, 21), "week"), "week") == dt.date(2024, 3, 18)  # a Monday


@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    interval=st.sampled_from(INTERVALS),
    first=st.dates(min_value=dt.date(2010, 1, 1), max_value=dt.date(2030, 1, 1)),
    days=st.integers(min_value=1, max_value=400),
    fractions=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), min_size=1, max_size=50),
)
def test_sql_index_matches_the_local_calendar(zone, interval, first, days, fractions):
    tz = zoneinfo.ZoneInfo(zone)
    lo, hi = daysmod.local_range_bounds(first, first + dt.timedelta(days=days - 1), tz)
    span = hi - lo
    instants = [lo + span * f for f in fractions] + [lo, hi - dt.timedelta(microseconds=1)]
    expr = interval_index_sql("ts", interval, lo=lo, hi=hi, tz=tz)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    got = con.execute(
        f"SELECT {expr} FROM (SELECT unnest(?::TIMESTAMPTZ[]) AS ts, generate_subscripts(?::INT[], 1) AS i) ORDER BY i",
        [instants, list(range(len(instants)))],
    ).fetchall()
    assert [row[0] for row in got] == [interval_index(i.astimezone(tz).date(), interval) for i in instants]

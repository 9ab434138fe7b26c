"""Local dates by offset arithmetic equal Python's zoneinfo conversion, DST and odd zones included."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.query.local_days import local_date_sql
from core import days as daysmod

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Asia/Kolkata",  # +05:30
    "America/St_Johns",  # -03:30 with DST
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "Asia/Kathmandu",  # +05:45
]


def test_offsets_change_where_zoneinfo_says():
    tz = zoneinfo.ZoneInfo("America/New_York")
    lo, hi = daysmod.local_range_bounds(dt.date(2024, 3, 1), dt.date(2024, 11, 30), tz)
    assert daysmod.utc_offsets(lo, hi, tz) == [
        (lo, -5 * 3600),
        (dt.datetime(2024, 3, 10, 7, tzinfo=dt.UTC), -4 * 3600),
        (dt.datetime(2024, 11, 3, 6, tzinfo=dt.UTC), -5 * 3600),
    ]
    assert daysmod.utc_offsets(lo, lo + dt.timedelta(days=3), tz) == [(lo, -5 * 3600)]


@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    first=st.dates(min_value=dt.date(2010, 1, 1), max_value=dt.date(2030, 1, 1)),
    days=st.integers(min_value=1, max_value=400),
    fractions=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), min_size=1, max_size=50),
)
def test_local_dates_match_zoneinfo(zone, first, days, fractions):
    tz = zoneinfo.ZoneInfo(zone)
    lo, hi = daysmod.local_range_bounds(first, first + dt.timedelta(days=days - 1), tz)
    span = hi - lo
    instants = [lo + span * f for f in fractions] + [lo, hi - dt.timedelta(microseconds=1)]
    expr = local_date_sql("ts", lo=lo, hi=hi, tz=tz)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # the arithmetic must not depend on the session's zone
    got = con.execute(
        f"SELECT {expr} FROM (SELECT unnest(?::TIMESTAMPTZ[]) AS ts, generate_subscripts(?::INT[], 1) AS i) ORDER BY i",
        [instants, list(range(len(instants)))],
    ).fetchall()
    assert [row[0] for row in got] == [instant.astimezone(tz).date() for instant in instants]

"""Relative date ranges of saved insights resolve against the day they run on."""

from __future__ import annotations

import datetime as dt

import pytest

from reporting.insights.dates import DateRangeError, date_range_check, date_range_resolve

D = dt.date


@pytest.mark.parametrize(
    ("value", "today", "expected"),
    [
        ({"last_days": 30}, D(2026, 3, 10), (D(2026, 2, 9), D(2026, 3, 10))),
        ({"last_days": 1}, D(2026, 3, 10), (D(2026, 3, 10), D(2026, 3, 10))),
        ({"period": "today"}, D(2026, 3, 10), (D(2026, 3, 10), D(2026, 3, 10))),
        ({"period": "yesterday"}, D(2026, 3, 1), (D(2026, 2, 28), D(2026, 2, 28))),
        # 2026-03-10 is a Tuesday: ISO weeks begin on Monday.
        ({"period": "this_week"}, D(2026, 3, 10), (D(2026, 3, 9), D(2026, 3, 10))),
        ({"period": "last_week"}, D(2026, 3, 10), (D(2026, 3, 2), D(2026, 3, 8))),
        ({"period": "this_month"}, D(2026, 3, 10), (D(2026, 3, 1), D(2026, 3, 10))),
        ({"period": "last_month"}, D(2026, 3, 10), (D(2026, 2, 1), D(2026, 2, 28))),
        ({"period": "last_month"}, D(2026, 1, 5), (D(2025, 12, 1), D(2025, 12, 31))),
        ({"period": "this_year"}, D(2026, 3, 10), (D(2026, 1, 1), D(2026, 3, 10))),
        ({"from": "2026-01-01", "to": "2026-01-31"}, D(2026, 3, 10), (D(2026, 1, 1), D(2026, 1, 31))),
        ({"from": "2026-01-01"}, D(2026, 3, 10), (D(2026, 1, 1), D(2026, 3, 10))),
    ],
)
def test_ranges_resolve_against_the_day_they_run(value, today, expected):
    assert date_range_resolve(value, today=today) == expected


def test_a_relative_range_moves_with_today():
    saved = {"last_days": 7}
    assert date_range_resolve(saved, today=D(2026, 3, 10))[0] == D(2026, 3, 4)
    assert date_range_resolve(saved, today=D(2026, 3, 11))[0] == D(2026, 3, 5)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({}, "a date range is"),
        ("last 30 days", "a date range is"),
        ({"last_days": 0}, "last_days must be"),
        ({"last_days": "30"}, "last_days must be"),
        ({"last_days": True}, "last_days must be"),
        ({"period": "next_week"}, "period must be one of"),
        ({"from": "2026-02-30"}, "from must be a day"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "from must not be after to"),
        ({"last_days": 7, "period": "today"}, "use exactly one of"),
    ],
)
def test_bad_ranges_say_what_to_fix(value, message):
    with pytest.raises(DateRangeError, match=message):
        date_range_check(value)

"""Stickiness: persons by the number of intervals of a range in which they did an event.

A person counts once, in the row of the number of distinct intervals (days or Monday weeks, see
analytics.query.intervals) with at least one matching event. Persons are the relation's
``person`` column (identity-merged), never ids: the group's key when the scope counts groups
(``EventScope.group_index``), so a group is active on the days any of its members did the event.
"""

from __future__ import annotations

from analytics.query.intervals import interval_index_sql
from analytics.query.source import EventScope, events_relation, query_rows


def stickiness_counts(scope: EventScope, *, interval: str) -> dict[int, int]:
    """Active intervals -> persons, for the persons active at least once in ``scope``."""
    relation, params = events_relation(scope)
    lo, hi = scope.bounds
    index = interval_index_sql("ts", interval, lo=lo, hi=hi, tz=scope.tz)
    rows = query_rows(
        f"""
        WITH ev AS ({relation}),
        active AS (SELECT DISTINCT person, {index} AS i FROM ev),
        per AS (SELECT person, count(*) AS n FROM active GROUP BY person)
        SELECT n, count(*) FROM per GROUP BY n
        """,
        params,
        tz=scope.tz,
    )
    return {int(n): int(persons) for n, persons in rows}

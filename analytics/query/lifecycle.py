"""Lifecycle: per interval, the active persons split into new, returning and resurrecting, and
the persons who went dormant (PostHog's definitions).

A person is *active* in an interval when they did the event (its filters and the query's apply)
in it. An active person is:

- ``new`` when the interval holds their first event ever in the project: any event, no filter
  (PostHog's person ``created_at``), over all their ids (the relation's identity-merged
  ``person``). So someone seen before who does the event for the first time is not new;
- ``returning`` when they were also active in the interval before;
- ``resurrecting`` otherwise: not active in the interval before, but seen in the project before.

``dormant`` (answered negative) are the persons active in the interval before and not in this one.
Counting groups (``scope.group_index``), the group is the person: its first event ever is the
first event of the project carrying it, its activity that of any of its members.

The interval before the first one is read too, so the first interval is classified like the
others; the whole history up to ``to`` is read for first events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from analytics.query.filters import NO_FILTERS
from analytics.query.intervals import interval_index, interval_index_sql, interval_start
from analytics.query.source import EventScope, events_relation, query_rows
from core import days as daysmod

STATUSES = ("new", "returning", "resurrecting", "dormant")


def lifecycle_counts(scope: EventScope, *, interval: str) -> dict[int, dict[str, int]]:
    """Interval index -> status -> persons (dormant as a positive count), for the intervals of
    ``scope.date_from``..``scope.date_to`` (``date_from`` an interval's first day)."""
    first = interval_index(scope.date_from, interval)
    last = interval_index(scope.date_to, interval)
    # Activity from the interval before the first, so that the first has its returning and dormant.
    active_scope = replace(scope, date_from=interval_start(first - 1, interval))
    lo, hi = active_scope.bounds
    active_sql, params = events_relation(active_scope)
    # First events ever: of the same key as the activity (a group's first event carrying it).
    history = EventScope(
        scope.project_id, scope.tz, daysmod.EARLIEST_DAY, scope.date_to, filters=NO_FILTERS,
        group_index=scope.group_index,
    )  # fmt: skip
    history_sql, history_params = events_relation(history)
    index_ts = interval_index_sql("ts", interval, lo=lo, hi=hi, tz=scope.tz)
    index_f = interval_index_sql("f", interval, lo=lo, hi=hi, tz=scope.tz)
    # Placeholders bind in the order they appear in the text below.
    params += [*history_params, lo, first, last]
    rows = query_rows(
        f"""
        WITH ev AS ({active_sql}),
        act AS (SELECT DISTINCT person, {index_ts} AS i FROM ev),
        h AS ({history_sql}),
        seen AS (SELECT person, min(ts) AS f FROM h WHERE person IN (SELECT person FROM act) GROUP BY person),
        -- A first event before the interval read can make nobody new: no interval for it.
        born AS (SELECT person, CASE WHEN f >= ? THEN {index_f} END AS bi FROM seen),
        marked AS (
            SELECT c.i,
                   CASE WHEN b.bi = c.i THEN 'new' WHEN p.person IS NOT NULL THEN 'returning'
                        ELSE 'resurrecting' END AS status
            FROM act c
            LEFT JOIN act p ON p.person = c.person AND p.i = c.i - 1
            LEFT JOIN born b ON b.person = c.person
            UNION ALL
            SELECT p.i + 1, 'dormant'
            FROM act p LEFT JOIN act c ON c.person = p.person AND c.i = p.i + 1
            WHERE c.person IS NULL
        )
        SELECT i, status, count(*) FROM marked WHERE i BETWEEN ? AND ? GROUP BY 1, 2
        """,
        params,
        tz=scope.tz,
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for index, status, persons in rows:
        counts[int(index)][status] = int(persons)
    return dict(counts)

"""Retention over the query layer's events, for cohorts the rollups cannot form.

A person's cohort is the period of their first *start* event ever (any event by default; the
start event's filters and the query's filters apply): all history is read, so a person first seen
before the range is in no cohort of it. A person is retained in a period when they did a *return*
event in it (any event by default; its filters and the query's apply). Period 0 is counted the
same way as every other period.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.source import EventScope, events_relation, query_rows
from core import days as daysmod


@dataclass(frozen=True)
class RetentionEvents:
    """What starts a cohort and what counts as coming back; None is any event."""

    start_event: str | None = None
    start_filters: Filters = NO_FILTERS
    return_event: str | None = None
    return_filters: Filters = NO_FILTERS

    @property
    def is_default(self) -> bool:
        return self == ANY_EVENTS


ANY_EVENTS = RetentionEvents()


def retention_counts(
    scope: EventScope, *, spec: RetentionEvents, cohort_starts: list[dt.date], step_days: int, last_day: dt.date
) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Cohort sizes by cohort index, and retained persons by (cohort index, period index).

    ``scope`` gives the project, zone and the query's filters; its dates are not used.
    """
    first = cohort_starts[0]
    cohort_end = cohort_starts[-1] + dt.timedelta(days=step_days - 1)
    starts = EventScope(
        scope.project_id,
        scope.tz,
        daysmod.EARLIEST_DAY,
        cohort_end,
        events=(spec.start_event,) if spec.start_event else (),
        filters=(*scope.filters, *spec.start_filters),
    )
    returns = EventScope(
        scope.project_id,
        scope.tz,
        first,
        last_day,
        events=(spec.return_event,) if spec.return_event else (),
        filters=(*scope.filters, *spec.return_filters),
    )
    start_sql, start_params = events_relation(starts)
    return_sql, return_params = events_relation(returns)
    rows = query_rows(
        f"""
        WITH s AS ({start_sql}),
        cohort AS (
            SELECT person, (CAST(date_trunc('day', min(ts)) AS DATE) - ?::DATE) // ? AS ci
            FROM s GROUP BY person HAVING min(ts) >= ?
        ),
        r AS ({return_sql}),
        active AS (SELECT DISTINCT person, (CAST(date_trunc('day', ts) AS DATE) - ?::DATE) // ? AS ai FROM r)
        SELECT ci, NULL, count(*) FROM cohort GROUP BY ci
        UNION ALL
        SELECT c.ci, a.ai - c.ci, count(*) FROM cohort c JOIN active a ON a.person = c.person AND a.ai >= c.ci
        GROUP BY 1, 2
        """,
        [*start_params, first, step_days, returns.bounds[0], *return_params, first, step_days],
        tz=scope.tz,
    )
    sizes: dict[int, int] = {}
    retained: dict[tuple[int, int], int] = defaultdict(int)
    for ci, k, n in rows:
        if k is None:
            sizes[int(ci)] = n
        else:
            retained[(int(ci), int(k))] = n
    return sizes, retained

"""Sessions per day from raw ``events`` in PostgreSQL, on the (project_id, timestamp) index."""

from __future__ import annotations

import datetime as dt

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.series import session_stats
from analytics.query.source import EventScope
from core import days as daysmod
from projects.models import Project
from reporting.queries.common import fetchall, project_tz


def sessions_series(
    *, project: Project, date_from: dt.date, date_to: dt.date, filters: Filters = NO_FILTERS
) -> list[dict]:
    """Sessions per local day of their first event; events outside the range are not counted.

    With filters, sessions are formed by the matching events only (the query layer)."""
    if filters:
        scope = EventScope(project.pk, project_tz(project), date_from, date_to, filters=filters)
        return _series(date_from, date_to, session_stats(scope))
    lo, hi = daysmod.local_range_bounds(date_from, date_to, project_tz(project))
    rows = fetchall(
        """
        WITH s AS (
            SELECT min("timestamp") AS started, max("timestamp") AS ended, count(*) AS n
            FROM events
            WHERE project_id = %(p)s AND "timestamp" >= %(lo)s AND "timestamp" < %(hi)s
              AND session_id IS NOT NULL
            GROUP BY session_id
        )
        SELECT (started AT TIME ZONE %(tz)s)::date AS day, count(*),
               avg(extract(epoch FROM ended - started))::float8, avg(n)::float8
        FROM s GROUP BY 1
        """,
        {"p": project.pk, "lo": lo, "hi": hi, "tz": project.timezone},
    )
    return _series(date_from, date_to, rows)


def _series(date_from: dt.date, date_to: dt.date, rows: list[tuple]) -> list[dict]:
    by_day = {day: (n, duration, events) for day, n, duration, events in rows}
    out = []
    for day in daysmod.days_between(date_from, date_to):
        n, duration, events = by_day.get(day, (0, 0.0, 0.0))
        out.append(
            {
                "date": day,
                "sessions": n,
                "avg_duration_seconds": round(duration, 3),
                "avg_events_per_session": round(events, 3),
            }
        )
    return out

"""Stickiness and lifecycle, over the query layer's events (no rollup holds per-person intervals).

Both read whole intervals: ``from`` goes back to its interval's start (analytics.query.intervals).
"""

from __future__ import annotations

import datetime as dt

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.intervals import interval_index, interval_start, whole_range
from analytics.query.lifecycle import lifecycle_counts
from analytics.query.source import EventScope
from analytics.query.stickiness import stickiness_counts
from projects.models import Project
from reporting.queries.common import project_tz


def _scope(*, project: Project, event: str, date_from: dt.date, date_to: dt.date, interval: str,
           filters: Filters) -> EventScope:  # fmt: skip
    return EventScope(
        project.pk, project_tz(project), whole_range(date_from, interval), date_to, events=(event,), filters=filters
    )


def stickiness_get(
    *, project: Project, event: str, date_from: dt.date, date_to: dt.date, interval: str, filters: Filters = NO_FILTERS
) -> list[dict]:
    """Persons by active intervals, a row for every k from 1 to the number of intervals (0 persons too)."""
    scope = _scope(project=project, event=event, date_from=date_from, date_to=date_to, interval=interval,
                   filters=filters)  # fmt: skip
    counts = stickiness_counts(scope, interval=interval)
    total = interval_index(date_to, interval) - interval_index(scope.date_from, interval) + 1
    return [{"intervals": k, "persons": counts.get(k, 0)} for k in range(1, total + 1)]


def lifecycle_get(
    *, project: Project, event: str, date_from: dt.date, date_to: dt.date, interval: str, filters: Filters = NO_FILTERS
) -> list[dict]:
    """Per interval (its first day): new, returning, resurrecting, and dormant as a negative number."""
    scope = _scope(project=project, event=event, date_from=date_from, date_to=date_to, interval=interval,
                   filters=filters)  # fmt: skip
    counts = lifecycle_counts(scope, interval=interval)
    out = []
    for index in range(interval_index(scope.date_from, interval), interval_index(date_to, interval) + 1):
        row = counts.get(index, {})
        out.append(
            {
                "date": interval_start(index, interval),
                "new": row.get("new", 0),
                "returning": row.get("returning", 0),
                "resurrecting": row.get("resurrecting", 0),
                "dormant": -row.get("dormant", 0),
            }
        )
    return out

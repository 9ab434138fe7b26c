"""Active users (DAU/WAU/MAU) from the per-day user bitmaps in PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.series import series_counts
from analytics.query.source import EventScope
from projects.models import Project
from reporting.queries.common import bitmap_rows, buckets, distinct_by_bucket, fetchall, project_tz


def active_users_series(
    *, project: Project, date_from: dt.date, date_to: dt.date, interval: str, filters: Filters = NO_FILTERS
) -> list[dict]:
    """Distinct active users per day/week/month (a week or month is cut to the requested range).

    Unfiltered from the rollups; filtered, the query layer counts persons over the events."""
    counts: Mapping[Any, int | float]
    if filters:
        scope = EventScope(project.pk, project_tz(project), date_from, date_to, filters=filters)
        counts = {b: n for b, _, n in series_counts(scope, math="users", interval=interval)}
    elif interval == "day":
        # DAU needs no union: the per-day popcount is stored beside the bitmap.
        counts = dict(
            fetchall(
                "SELECT day, user_count FROM analytics_day_users "
                "WHERE project_id = %s AND event_name = '' AND day BETWEEN %s AND %s",
                [project.pk, date_from, date_to],
            )
        )
    else:
        rows = bitmap_rows(project=project, event="", first=date_from, last=date_to)
        counts = distinct_by_bucket(rows, interval)
    return [{"date": b, "users": counts.get(b, 0)} for b in buckets(date_from, date_to, interval)]

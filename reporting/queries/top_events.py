"""Top events: counts from ``analytics_daily_events`` (a few hundred rows per month), distinct
users from the per-day user bitmaps."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from analytics.bitmaps import bitmap_to_int
from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.series import top_events_counts
from analytics.query.source import EventScope
from projects.models import Project
from reporting.queries.common import fetchall, project_tz


def top_events_list(
    *, project: Project, date_from: dt.date, date_to: dt.date, limit: int, filters: Filters = NO_FILTERS
) -> list[dict]:
    if filters:
        scope = EventScope(project.pk, project_tz(project), date_from, date_to, filters=filters)
        return [
            {"event": name, "count": count, "users": users}
            for name, count, users in top_events_counts(scope, limit=limit)
        ]
    rows = fetchall(
        """
        WITH top AS (
            SELECT event_name, sum(events)::bigint AS n FROM analytics_daily_events
            WHERE project_id = %(p)s AND day BETWEEN %(a)s AND %(b)s
            GROUP BY event_name ORDER BY n DESC, event_name LIMIT %(limit)s
        )
        SELECT top.event_name, top.n, d.users
        FROM top LEFT JOIN analytics_day_users d
          ON d.project_id = %(p)s AND d.event_name = top.event_name AND d.day BETWEEN %(a)s AND %(b)s
        """,
        {"p": project.pk, "a": date_from, "b": date_to, "limit": limit},
    )
    totals: dict[str, int] = {}
    users: dict[str, int] = defaultdict(int)
    for name, count, bitmap in rows:
        totals[name] = count
        if bitmap is not None:
            users[name] |= bitmap_to_int(bitmap)
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [{"event": name, "count": count, "users": users[name].bit_count()} for name, count in ranked]

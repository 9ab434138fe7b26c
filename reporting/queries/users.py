"""Users: the list from ``analytics_user`` / ``analytics_user_day``, one user's recent events from
raw ``events`` (bounded by the rollup to the days that hold them)."""

from __future__ import annotations

from django.utils import timezone

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.series import matching_user_ids
from analytics.query.source import EventScope
from core import days as daysmod
from projects.models import Project
from reporting.queries.common import fetchall, json_value, project_tz


def users_page(
    *, project: Project, limit: int, after_key: int = 0, filters: Filters = NO_FILTERS
) -> tuple[list[dict], int | None]:
    """Users in first-seen order (``user_key``), keyset-paginated; returns (rows, next key).

    With filters, only the users who sent at least one matching event (ever) are listed."""
    only = ""
    params: dict = {"p": project.pk, "after": after_key, "n": limit + 1}
    if filters:
        tz = project_tz(project)
        scope = EventScope(
            project.pk, tz, daysmod.EARLIEST_DAY, daysmod.local_date(timezone.now(), tz), filters=filters
        )
        only, params["ids"] = " AND user_id = ANY(%(ids)s)", matching_user_ids(scope)
    rows = fetchall(
        f"""
        WITH page AS (
            SELECT user_key, user_id, is_anonymous, first_seen, last_seen FROM analytics_user
            WHERE project_id = %(p)s AND user_key > %(after)s{only} ORDER BY user_key LIMIT %(n)s
        )
        SELECT page.*, (SELECT coalesce(sum(events), 0) FROM analytics_user_day d
                        WHERE d.project_id = %(p)s AND d.user_key = page.user_key)
        FROM page ORDER BY user_key
        """,
        params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    results = [
        {"user_id": uid, "is_anonymous": anon, "first_seen": f, "last_seen": la, "event_count": n}
        for _, uid, anon, f, la, n in rows
    ]
    return results, (rows[-1][0] if more else None)


RECENT_EVENTS = 50


def user_detail(*, project: Project, user_id: str) -> dict | None:
    users = fetchall(
        "SELECT user_key, is_anonymous, first_seen, last_seen FROM analytics_user "
        "WHERE project_id = %s AND user_id = %s",
        [project.pk, user_id],
    )
    if not users:
        return None
    user_key, anon, first_seen, last_seen = users[0]
    days = fetchall(
        "SELECT day, events, first_at FROM analytics_user_day WHERE project_id = %s AND user_key = %s ORDER BY day",
        [project.pk, user_key],
    )
    # The raw table has no user index; the rollup says which days hold the user's latest events,
    # so the recent-events read is bounded to those days of the (project, timestamp) index.
    since, seen = None, 0
    for _, events, first_at in reversed(days):
        since, seen = first_at, seen + events
        if seen >= RECENT_EVENTS:
            break
    recent = []
    if since is not None:
        recent = [
            {"event_id": eid, "event": name, "source": src, "timestamp": ts, "properties": json_value(props)}
            for eid, name, src, ts, props in fetchall(
                'SELECT event_id, event_name, source, "timestamp", properties FROM events '
                'WHERE project_id = %s AND user_id = %s AND "timestamp" >= %s AND "timestamp" <= %s '
                'ORDER BY "timestamp" DESC, event_id DESC LIMIT %s',
                [project.pk, user_id, since, last_seen, RECENT_EVENTS],
            )
        ]
    return {
        "user_id": user_id,
        "is_anonymous": anon,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "event_count": sum(d[1] for d in days),
        "daily": [{"date": d, "events": n} for d, n, _ in days],
        "recent_events": recent,
    }

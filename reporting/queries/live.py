"""The live view from raw ``events`` in PostgreSQL: the last hour is one index range per project."""

from __future__ import annotations

import datetime as dt

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.series import live_counts
from analytics.query.source import EventScope
from core import days as daysmod
from persons.identity import person_key
from projects.models import Project
from reporting.queries.common import fetchall, project_tz


def live_get(*, project: Project, now: dt.datetime, filters: Filters = NO_FILTERS) -> dict:
    """The real-time view straight from raw events: the last hour is one index range per project."""
    minute = now.replace(second=0, microsecond=0)
    first_minute = minute - dt.timedelta(minutes=14)
    if filters:
        tz = project_tz(project)
        first_day = daysmod.local_date(now - dt.timedelta(hours=1), tz)
        scope = EventScope(project.pk, tz, first_day, daysmod.local_date(now, tz), filters=filters)
        per_minute, active, top = live_counts(scope, now=now)
        return _answer(now, first_minute, per_minute, active, top)
    rows = fetchall(
        """
        SELECT 'm', date_trunc('minute', "timestamp"), NULL, count(*) FROM events
        WHERE project_id = %(p)s AND "timestamp" >= %(m15)s AND "timestamp" <= %(now)s GROUP BY 2
        UNION ALL
        SELECT 'u', NULL, NULL, count(DISTINCT {person}) FROM events
        WHERE project_id = %(p)s AND "timestamp" > %(m5)s AND "timestamp" <= %(now)s
        UNION ALL
        (SELECT 'e', NULL, event_name, count(*) FROM events
         WHERE project_id = %(p)s AND "timestamp" > %(h1)s AND "timestamp" <= %(now)s
         GROUP BY event_name ORDER BY 4 DESC, 3 LIMIT 10)
        """.replace("{person}", person_key()),
        {
            "p": project.pk,
            "now": now,
            "m15": first_minute,
            "m5": now - dt.timedelta(minutes=5),
            "h1": now - dt.timedelta(hours=1),
        },
    )
    per_minute = {ts: n for kind, ts, _, n in rows if kind == "m"}
    active = next((n for kind, _, _, n in rows if kind == "u"), 0)
    top = [(name, n) for kind, _, name, n in rows if kind == "e"]
    return _answer(now, first_minute, per_minute, active, top)


def _answer(
    now: dt.datetime, first_minute: dt.datetime, per_minute: dict, active: int, top: list[tuple[str, int]]
) -> dict:
    top = sorted(top, key=lambda r: (-r[1], r[0]))
    return {
        "now": now,
        "active_users_5m": active,
        "events_per_minute": [
            {"minute": m, "count": per_minute.get(m, 0)}
            for m in (first_minute + dt.timedelta(minutes=i) for i in range(15))
        ],
        "top_events_1h": [{"event": name, "count": n} for name, n in top],
    }

"""``GET web`` and ``GET web/live``: the web overview (analytics/query/web.py has the definitions)
and who is on the site now."""

from __future__ import annotations

import datetime as dt

from analytics.goals import goal_specs
from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.source import EventScope
from analytics.query.trends import previous_period
from analytics.query.web import NONE_LABEL, Overview, Totals, web_overview_rows
from analytics.query.web_rows import BOT, PAGEVIEW
from core import days as daysmod
from persons.identity import person_key
from projects.models import Project
from reporting.queries.common import fetchall, project_tz

LIVE_MINUTES = 5
LIVE_LIST = 10


def percent(part: int, whole: int) -> float:
    """A share in percent, one decimal (0.0 of nothing)."""
    return round(100.0 * part / whole, 1) if whole else 0.0


def mean_seconds(total_us: int, n: int) -> float:
    return round(total_us / n / 1e6, 1) if n else 0.0


def numbers(totals: Totals) -> dict:
    """The six headline numbers."""
    return {
        "visitors": totals.visitors,
        "pageviews": totals.pageviews,
        "visits": totals.visits,
        "views_per_visit": round(totals.pageviews / totals.visits, 2) if totals.visits else 0.0,
        "bounce_rate": percent(totals.bounces, totals.visits),
        "visit_duration_seconds": mean_seconds(totals.duration_us, totals.visits),
    }


def web_overview(
    *,
    project: Project,
    date_from: dt.date,
    date_to: dt.date,
    filters: Filters = NO_FILTERS,
    compare: bool = False,
    limit: int = 20,
) -> dict:
    tz = project_tz(project)
    goals = goal_specs(project_id=project.pk)
    scope = EventScope(project.pk, tz, date_from, date_to, filters=filters)
    overview = web_overview_rows(scope, goals=goals, limit=limit)
    previous = None
    if compare:
        first, last = previous_period(date_from, date_to)
        earlier = EventScope(project.pk, tz, first, last, filters=filters)
        previous = numbers(web_overview_rows(earlier, totals_only=True).totals)
    answer: dict = {**numbers(overview.totals), "compare": previous, "series": _series(overview, date_from, date_to)}
    for name, rows in overview.lists.items():
        answer[name] = [{"value": row.value, "visitors": row.visitors, "pageviews": row.pageviews} for row in rows]
    for entry, row in zip(answer["pages"], overview.lists["pages"], strict=True):
        entry["bounce_rate"] = percent(row.bounces, row.entries) if row.entries else None
        entry["avg_time_on_page_seconds"] = mean_seconds(row.gap_us, row.gaps) if row.gaps else None
    visitors = overview.totals.visitors
    answer["goals"] = []
    for goal in goals:
        reached, conversions = overview.goals.get(goal.id, (0, 0))
        answer["goals"].append(
            {
                "goal_id": goal.id,
                "name": goal.name,
                "visitors": reached,
                "conversions": conversions,
                "conversion_rate": percent(reached, visitors),
            }
        )
    return answer


def _series(overview: Overview, date_from: dt.date, date_to: dt.date) -> list[dict]:
    out = []
    for day in daysmod.days_between(date_from, date_to):
        visitors, pageviews = overview.series.get(day, (0, 0))
        out.append({"date": day, "visitors": visitors, "pageviews": pageviews})
    return out


def web_live(*, project: Project, now: dt.datetime) -> dict:
    """Visitors (persons with a pageview, bots left out) of the last 5 minutes, by page and
    country, from the recent rows of ``events`` in PostgreSQL (one index range)."""
    rows = fetchall(
        """
        WITH pv AS (
            SELECT {person} AS person, pathname, country FROM events
            WHERE project_id = %(p)s AND "timestamp" > %(since)s AND "timestamp" <= %(now)s
              AND event_name = %(pageview)s AND device_type IS DISTINCT FROM %(bot)s
        )
        SELECT 'total', NULL, count(DISTINCT person) FROM pv
        UNION ALL
        (SELECT 'pages', coalesce(pathname, %(none)s), count(DISTINCT person) FROM pv
         GROUP BY 2 ORDER BY 3 DESC, coalesce(pathname, %(none)s) COLLATE "C" LIMIT %(limit)s)
        UNION ALL
        (SELECT 'countries', coalesce(country, %(none)s), count(DISTINCT person) FROM pv
         GROUP BY 2 ORDER BY 3 DESC, coalesce(country, %(none)s) COLLATE "C" LIMIT %(limit)s)
        """.replace("{person}", person_key()),
        {
            "p": project.pk,
            "now": now,
            "since": now - dt.timedelta(minutes=LIVE_MINUTES),
            "pageview": PAGEVIEW,
            "bot": BOT,
            "none": NONE_LABEL,
            "limit": LIVE_LIST,
        },
    )
    answer: dict = {"visitors": 0, "pages": [], "countries": []}
    for kind, value, n in rows:
        if kind == "total":
            answer["visitors"] = n
        else:
            answer[kind].append({"value": value, "visitors": n})
    for kind in ("pages", "countries"):
        # The union does not keep each branch's order.
        answer[kind].sort(key=lambda row: (-row["visitors"], row["value"]))
    return answer

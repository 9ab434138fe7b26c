"""Trends: one event's count or distinct users per hour/day/week/month, optionally broken down
by a property.

Counts come from ``analytics_daily_events`` / ``analytics_hourly_events``, distinct users per
day and longer from the per-day user bitmaps. A breakdown's counts come from the property
rollup when no day in range was over its cap, otherwise (and for distinct users) from raw
``events`` in PostgreSQL: the filters (project, event, time) hit the (project_id, timestamp,
event_name) index and partitions are pruned, while DuckDB would have to copy the whole
``properties`` jsonb of every matching row through the scanner (measured slower; the DuckDB
version is bench/engines.py's ``trend_breakdown_duckdb``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from typing import Any

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.series import NONE_LABEL, OTHER_LABEL, Breakdown, series_counts
from analytics.query.source import EventScope
from core import days as daysmod
from persons.identity import person_key
from projects.models import Project
from reporting.queries.common import bitmap_rows, buckets, distinct_by_bucket, fetchall, project_tz

BREAKDOWN_TOP = 10


def hour_buckets(date_from: dt.date, date_to: dt.date, tz: zoneinfo.ZoneInfo) -> list[dt.datetime]:
    lo, hi = daysmod.local_range_bounds(date_from, date_to, tz)
    out, current = [], lo
    while current < hi:
        out.append(current)
        current += dt.timedelta(hours=1)
    return out


def bucket_label(bucket: dt.date | dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    if isinstance(bucket, dt.datetime):
        return bucket.astimezone(tz).isoformat()
    return bucket.isoformat()


def trunc_unit(interval: str) -> str:
    return {"hour": "hour", "day": "day", "week": "week", "month": "month"}[interval]


def trends_series(
    *,
    project: Project,
    event: str,
    date_from: dt.date,
    date_to: dt.date,
    interval: str,
    math: str,
    breakdown: str | None = None,
    breakdown_type: str = "event",
    breakdown_limit: int = BREAKDOWN_TOP,
    filters: Filters = NO_FILTERS,
    group_index: int | None = None,
) -> list[dict]:
    """``group_index``: count the groups of that type (persons.groups) instead of persons."""
    tz = project_tz(project)
    series_buckets: list = (
        hour_buckets(date_from, date_to, tz) if interval == "hour" else buckets(date_from, date_to, interval)
    )
    values: dict[str, dict] | None
    if filters or breakdown_type != "event" or breakdown_limit != BREAKDOWN_TOP or group_index is not None:
        # Only the query layer reads events with filters, person properties, another top-N or
        # groups (no rollup counts groups).
        query = EventScope(
            project.pk, tz, date_from, date_to, events=(event,), filters=filters, group_index=group_index
        )
        split = Breakdown(breakdown_type, breakdown, breakdown_limit) if breakdown else None
        rows = series_counts(query, math=math, interval=interval, breakdown=split)
        values = _series_values(rows, event, broken_down=split is not None)
    elif not breakdown:
        values = {
            event: _trend_plain(
                project=project,
                event=event,
                date_from=date_from,
                date_to=date_to,
                interval=interval,
                math=math,
            )
        }
    else:
        scope: dict[str, Any] = {"project": project, "event": event, "date_from": date_from, "date_to": date_to}
        values = None
        if interval != "hour" and math == "total":
            values = _trend_breakdown_rollup(**scope, interval=interval, key=breakdown)
        if values is None:
            values = _trend_breakdown_pg(**scope, interval=interval, math=math, key=breakdown)
    return [
        {"label": label, "data": [{"date": bucket_label(b, tz), "value": data.get(b, 0)} for b in series_buckets]}
        for label, data in values.items()
    ]


def _series_values(rows: list[tuple], event: str, *, broken_down: bool) -> dict[str, dict]:
    """The query layer's rows as series: the event's own without a breakdown (zeros when no event
    matched), one per value with one, ordered as the rollup path orders them."""
    series: dict[str, dict] = defaultdict(dict)
    if not broken_down:
        series[event] = {}
    for bucket, label, value in rows:
        series[event if label is None else label][bucket] = value
    return dict(sorted(series.items(), key=series_order))


def series_order(item: tuple[str, dict]) -> tuple:
    label, data = item
    return (label == OTHER_LABEL, -sum(data.values()), label)


def _trend_plain(
    *, project: Project, event: str, date_from: dt.date, date_to: dt.date, interval: str, math: str
) -> dict:
    if interval == "hour":
        if math == "total":
            return dict(
                fetchall(
                    "SELECT hour, sum(events)::bigint FROM analytics_hourly_events "
                    "WHERE project_id = %s AND event_name = %s AND day BETWEEN %s AND %s GROUP BY hour",
                    [project.pk, event, date_from, date_to],
                )
            )
        lo, hi = daysmod.local_range_bounds(date_from, date_to, project_tz(project))
        # Distinct users per hour is not in the rollups (hourly bitmaps would be 24x the size
        # for a rarely used view); at most 31 days of one event, on the (project, time) index.
        return dict(
            fetchall(
                f"SELECT date_trunc('hour', \"timestamp\", %s), count(DISTINCT {person_key()}) FROM events "
                'WHERE project_id = %s AND event_name = %s AND "timestamp" >= %s AND "timestamp" < %s '
                "GROUP BY 1",
                [project.timezone, project.pk, event, lo, hi],
            )
        )
    if math == "users":
        return distinct_by_bucket(bitmap_rows(project=project, event=event, first=date_from, last=date_to), interval)
    acc: dict[dt.date, int] = defaultdict(int)
    for day, count in fetchall(
        "SELECT day, sum(events)::bigint FROM analytics_daily_events "
        "WHERE project_id = %s AND event_name = %s AND day BETWEEN %s AND %s GROUP BY day",
        [project.pk, event, date_from, date_to],
    ):
        acc[daysmod.period_start(day, interval)] += count
    return acc


# --- Breakdowns -------------------------------------------------------------------------------

_BREAKDOWN_PG = """
WITH ev AS (
    SELECT date_trunc(%(unit)s, "timestamp", %(tz)s) AS b, properties ->> %(key)s AS v,
           {person} AS user_id
    FROM events
    WHERE project_id = %(p)s AND event_name = %(event)s AND "timestamp" >= %(lo)s AND "timestamp" < %(hi)s
), top AS (
    SELECT v FROM ev GROUP BY v ORDER BY {rank} DESC, v NULLS LAST LIMIT %(top)s
)
SELECT b, CASE WHEN v IS NULL AND EXISTS (SELECT 1 FROM top WHERE top.v IS NULL) THEN %(none)s
               WHEN v IS NULL THEN %(other)s
               WHEN v IN (SELECT v FROM top WHERE v IS NOT NULL) THEN v
               ELSE %(other)s END AS label,
       {measure}
FROM ev GROUP BY 1, 2
"""


def _breakdown_sql(math: str) -> str:
    measure = "count(DISTINCT user_id)" if math == "users" else "count(*)"
    return _BREAKDOWN_PG.format(rank=measure, measure=measure, person=person_key())


def _breakdown_params(
    *, project: Project, event: str, date_from: dt.date, date_to: dt.date, interval: str, key: str
) -> dict:
    lo, hi = daysmod.local_range_bounds(date_from, date_to, project_tz(project))
    return {
        "unit": trunc_unit(interval),
        "tz": project.timezone,
        "key": key,
        "p": project.pk,
        "event": event,
        "lo": lo,
        "hi": hi,
        "top": BREAKDOWN_TOP,
        "none": NONE_LABEL,
        "other": OTHER_LABEL,
    }


def assemble_breakdown(rows: list[tuple], interval: str, tz: zoneinfo.ZoneInfo) -> dict[str, dict]:
    """Series ordered by total (largest first), "other" last; buckets keyed like ``buckets``."""
    series: dict[str, dict] = defaultdict(dict)
    for bucket, label, value in rows:
        key = bucket if interval == "hour" else bucket.astimezone(tz).date()
        series[label][key] = value

    return dict(sorted(series.items(), key=series_order))


def _trend_breakdown_rollup(
    *, project: Project, event: str, date_from: dt.date, date_to: dt.date, interval: str, key: str
) -> dict[str, dict] | None:
    """Breakdown counts from the property rollup, or None when a day in range was over the cap.

    Same answer as the raw query: values ranked by count, ties by value (NULL last), the top
    10 kept, "(none)" for events without the key = the day's count minus the values' sum.
    """
    rows = fetchall(
        """
        SELECT 'g', NULL::date, NULL, count(*) FROM analytics_property_gap
        WHERE project_id = %(p)s AND event_name = %(e)s AND key = %(k)s AND day BETWEEN %(a)s AND %(b)s
        UNION ALL
        SELECT 'v', day, value, events FROM analytics_daily_props
        WHERE project_id = %(p)s AND event_name = %(e)s AND key = %(k)s AND day BETWEEN %(a)s AND %(b)s
        UNION ALL
        SELECT 't', day, NULL, sum(events)::bigint FROM analytics_daily_events
        WHERE project_id = %(p)s AND event_name = %(e)s AND day BETWEEN %(a)s AND %(b)s GROUP BY day
        """,
        {"p": project.pk, "e": event, "k": key, "a": date_from, "b": date_to},
    )
    if any(kind == "g" and n for kind, _, _, n in rows):
        return None
    per_day: dict[tuple[dt.date, str | None], int] = defaultdict(int)
    for kind, day, value, n in rows:
        if kind == "t":
            per_day[(day, None)] += n
        elif kind == "v":
            per_day[(day, value)] += n
            per_day[(day, None)] -= n
    totals: dict[str | None, int] = defaultdict(int)
    for (_, value), n in per_day.items():
        totals[value] += n
    ranked = sorted((v for v, n in totals.items() if n > 0), key=lambda v: (-totals[v], v is None, v or ""))
    top = set(ranked[:BREAKDOWN_TOP])
    series: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for (day, value), n in per_day.items():
        if n <= 0:
            continue
        label = (NONE_LABEL if value is None else value) if value in top else OTHER_LABEL
        series[label][daysmod.period_start(day, interval)] += n

    return {label: dict(data) for label, data in sorted(series.items(), key=series_order)}


def _trend_breakdown_pg(
    *, project: Project, event: str, date_from: dt.date, date_to: dt.date, interval: str, math: str, key: str
) -> dict[str, dict]:
    """The raw-events breakdown; also the reference the tests and bench/engines.py compare against."""
    params = _breakdown_params(
        project=project, event=event, date_from=date_from, date_to=date_to, interval=interval, key=key
    )
    return assemble_breakdown(fetchall(_breakdown_sql(math), params), interval, project_tz(project))

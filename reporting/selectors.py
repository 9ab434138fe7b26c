"""Reads behind the reporting API. Every function takes the project explicitly (tenant scoping).

Which engine answers what (measured by bench/query_bench.py; see docs/ARCHITECTURE.md,
"Query engine"):

* Distinct users (active users, top events' users, trends math=users, retention) come from
  per-day bitmaps in PostgreSQL (``analytics_day_users``): the union of N days is an OR of N
  small byte strings, exact, a few ms. COUNT(DISTINCT) over the equivalent rows took 50-600 ms.
* Counts (top events, trends math=total) come from ``analytics_daily_events`` /
  ``analytics_hourly_events``: a few hundred rows per month.
* Funnels run in DuckDB over the attached raw ``events``: ordered steps within a window are an
  ASOF join in DuckDB (one sort per step); PostgreSQL has no ASOF join and its range self-join
  was several times slower in the benchmark.
* Property breakdowns, sessions, the live view, user detail and the export read raw ``events``
  in PostgreSQL: the filters (project, event, time) hit the (project_id, timestamp, event_name)
  index and partitions are pruned, while DuckDB would have to copy the whole ``properties``
  jsonb of every matching row through the scanner (measured slower for breakdowns).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from django.db import connection

from analytics.bitmaps import bitmap_to_int, int_from_keys
from analytics.duck import duckdb_cursor
from analytics.rollups import rollups_watermark
from core import days as daysmod
from ingestion.selectors import flushed_until
from projects.models import Project

OTHER_LABEL = "other"
NONE_LABEL = "(none)"
BREAKDOWN_TOP = 10


def _tz(project: Project) -> zoneinfo.ZoneInfo:
    return daysmod.zone(project.timezone)


def _fetchall(sql: str, params: dict | list) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _json(value: str | dict) -> dict:
    # Django's psycopg setup hands jsonb to raw cursors as text (JSONField decodes it itself).
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def complete_until_get() -> dt.datetime:
    """Up to when every accepted event is both stored and aggregated."""
    return min(flushed_until(), rollups_watermark())


def event_is_known(*, project: Project, event: str) -> bool:
    return bool(
        _fetchall(
            "SELECT 1 FROM analytics_event_definition WHERE project_id = %s AND event_name = %s",
            [project.pk, event],
        )
    )


def unknown_events(*, project: Project, events: list[str]) -> list[str]:
    known = {
        row[0]
        for row in _fetchall(
            "SELECT event_name FROM analytics_event_definition WHERE project_id = %s AND event_name = ANY(%s)",
            [project.pk, events],
        )
    }
    return [event for event in events if event not in known]


def property_is_known(*, project: Project, event: str, key: str) -> bool:
    return bool(
        _fetchall(
            "SELECT 1 FROM analytics_property_definition WHERE project_id = %s AND event_name = %s AND key = %s",
            [project.pk, event, key],
        )
    )


# --- Buckets ----------------------------------------------------------------------------------


def _buckets(first: dt.date, last: dt.date, interval: str) -> list[dt.date]:
    out: list[dt.date] = []
    for day in daysmod.days_between(first, last):
        start = daysmod.period_start(day, interval)
        if not out or out[-1] != start:
            out.append(start)
    return out


def _bitmap_rows(*, project: Project, event: str, first: dt.date, last: dt.date) -> list[tuple]:
    return _fetchall(
        "SELECT day, users FROM analytics_day_users "
        "WHERE project_id = %s AND event_name = %s AND day BETWEEN %s AND %s",
        [project.pk, event, first, last],
    )


def _distinct_by_bucket(rows: list[tuple], interval: str) -> dict[dt.date, int]:
    acc: dict[dt.date, int] = defaultdict(int)
    for day, users in rows:
        acc[daysmod.period_start(day, interval)] |= bitmap_to_int(users)
    return {bucket: bits.bit_count() for bucket, bits in acc.items()}


# --- Active users -----------------------------------------------------------------------------


def active_users_series(*, project: Project, date_from: dt.date, date_to: dt.date, interval: str) -> list[dict]:
    """Distinct active users per day/week/month (a week or month is cut to the requested range)."""
    if interval == "day":
        # DAU needs no union: the per-day popcount is stored beside the bitmap.
        counts = dict(
            _fetchall(
                "SELECT day, user_count FROM analytics_day_users "
                "WHERE project_id = %s AND event_name = '' AND day BETWEEN %s AND %s",
                [project.pk, date_from, date_to],
            )
        )
    else:
        rows = _bitmap_rows(project=project, event="", first=date_from, last=date_to)
        counts = _distinct_by_bucket(rows, interval)
    return [{"date": b, "users": counts.get(b, 0)} for b in _buckets(date_from, date_to, interval)]


# --- Top events -------------------------------------------------------------------------------


def top_events_list(*, project: Project, date_from: dt.date, date_to: dt.date, limit: int) -> list[dict]:
    rows = _fetchall(
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


# --- Trends -----------------------------------------------------------------------------------


def _hour_buckets(date_from: dt.date, date_to: dt.date, tz: zoneinfo.ZoneInfo) -> list[dt.datetime]:
    lo, hi = daysmod.local_range_bounds(date_from, date_to, tz)
    out, current = [], lo
    while current < hi:
        out.append(current)
        current += dt.timedelta(hours=1)
    return out


def _label(bucket: dt.date | dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    if isinstance(bucket, dt.datetime):
        return bucket.astimezone(tz).isoformat()
    return bucket.isoformat()


def _trunc_unit(interval: str) -> str:
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
) -> list[dict]:
    tz = _tz(project)
    buckets: list = (
        _hour_buckets(date_from, date_to, tz) if interval == "hour" else _buckets(date_from, date_to, interval)
    )
    if not breakdown:
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
        scope = {"project": project, "event": event, "date_from": date_from, "date_to": date_to}
        values = None
        if interval != "hour" and math == "total":
            values = _trend_breakdown_rollup(**scope, interval=interval, key=breakdown)
        if values is None:
            values = _trend_breakdown_pg(**scope, interval=interval, math=math, key=breakdown)
    return [
        {"label": label, "data": [{"date": _label(b, tz), "value": data.get(b, 0)} for b in buckets]}
        for label, data in values.items()
    ]


def _trend_plain(
    *, project: Project, event: str, date_from: dt.date, date_to: dt.date, interval: str, math: str
) -> dict:
    if interval == "hour":
        if math == "total":
            return dict(
                _fetchall(
                    "SELECT hour, sum(events)::bigint FROM analytics_hourly_events "
                    "WHERE project_id = %s AND event_name = %s AND day BETWEEN %s AND %s GROUP BY hour",
                    [project.pk, event, date_from, date_to],
                )
            )
        lo, hi = daysmod.local_range_bounds(date_from, date_to, _tz(project))
        # Distinct users per hour is not in the rollups (hourly bitmaps would be 24x the size
        # for a rarely used view); at most 31 days of one event, on the (project, time) index.
        return dict(
            _fetchall(
                f"SELECT date_trunc('hour', \"timestamp\", %s), count(DISTINCT {PERSON_OF_USER}) FROM events "
                'WHERE project_id = %s AND event_name = %s AND "timestamp" >= %s AND "timestamp" < %s '
                "GROUP BY 1",
                [project.timezone, project.pk, event, lo, hi],
            )
        )
    if math == "users":
        return _distinct_by_bucket(_bitmap_rows(project=project, event=event, first=date_from, last=date_to), interval)
    acc: dict[dt.date, int] = defaultdict(int)
    for day, count in _fetchall(
        "SELECT day, sum(events)::bigint FROM analytics_daily_events "
        "WHERE project_id = %s AND event_name = %s AND day BETWEEN %s AND %s GROUP BY day",
        [project.pk, event, date_from, date_to],
    ):
        acc[daysmod.period_start(day, interval)] += count
    return acc


# Identity merges at query time for reports that scan raw events: an id linked to a person by
# identify/alias (persons app) counts as that person, an unlinked id as itself. Only linked ids
# have a row, so the index lookup usually finds nothing. (Rollup-based reports get the same
# mapping when the day is rebuilt, see analytics/rollups.py.)
PERSON_OF_USER = (
    "coalesce((SELECT 'person:' || d.person_id FROM persons_distinct_id d "
    "WHERE d.project_id = events.project_id AND d.distinct_id = events.user_id), events.user_id)"
)
# The same for DuckDB, which reads both tables through the postgres extension.
_DUCK_PERSON_JOIN = (
    "LEFT JOIN pg.public.persons_distinct_id d ON d.project_id = e.project_id AND d.distinct_id = e.user_id"
)
_DUCK_PERSON = "coalesce('person:' || CAST(d.person_id AS VARCHAR), e.user_id)"


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
    return _BREAKDOWN_PG.format(rank=measure, measure=measure, person=PERSON_OF_USER)


def _breakdown_params(*, project, event, date_from, date_to, interval, key) -> dict:
    lo, hi = daysmod.local_range_bounds(date_from, date_to, _tz(project))
    return {
        "unit": _trunc_unit(interval),
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


def _assemble_breakdown(rows: list[tuple], interval: str, tz: zoneinfo.ZoneInfo) -> dict[str, dict]:
    """Series ordered by total (largest first), "other" last; buckets keyed like ``_buckets``."""
    series: dict[str, dict] = defaultdict(dict)
    for bucket, label, value in rows:
        key = bucket if interval == "hour" else bucket.astimezone(tz).date()
        series[label][key] = value

    def order(item: tuple[str, dict]) -> tuple:
        label, data = item
        return (label == OTHER_LABEL, -sum(data.values()), label)

    return dict(sorted(series.items(), key=order))


def _trend_breakdown_rollup(
    *, project: Project, event: str, date_from: dt.date, date_to: dt.date, interval: str, key: str
) -> dict[str, dict] | None:
    """Breakdown counts from the property rollup, or None when a day in range was over the cap.

    Same answer as the raw query: values ranked by count, ties by value (NULL last), the top
    10 kept, "(none)" for events without the key = the day's count minus the values' sum.
    """
    rows = _fetchall(
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

    def order(item: tuple[str, dict]) -> tuple:
        label, data = item
        return (label == OTHER_LABEL, -sum(data.values()), label)

    return {label: dict(data) for label, data in sorted(series.items(), key=order)}


def _trend_breakdown_pg(*, project, event, date_from, date_to, interval, math, key) -> dict[str, dict]:
    params = _breakdown_params(
        project=project, event=event, date_from=date_from, date_to=date_to, interval=interval, key=key
    )
    return _assemble_breakdown(_fetchall(_breakdown_sql(math), params), interval, _tz(project))


def trend_breakdown_duckdb(*, project, event, date_from, date_to, interval, math, key) -> dict[str, dict]:
    """The same breakdown in DuckDB, kept for the engine comparison in bench/query_bench.py."""
    lo, hi = daysmod.local_range_bounds(date_from, date_to, _tz(project))
    measure = "count(DISTINCT user_id)" if math == "users" else "count(*)"
    sql = f"""
    WITH ev AS (
        SELECT epoch(timezone(?, date_trunc(?, timezone(?, "timestamp")))) AS b,
               json_extract_string(properties, ?) AS v, {_DUCK_PERSON} AS user_id
        FROM pg.public.events e {_DUCK_PERSON_JOIN}
        WHERE e.project_id = ? AND event_name = ? AND "timestamp" >= ? AND "timestamp" < ?
    ), top AS (SELECT v FROM ev GROUP BY v ORDER BY {measure} DESC, v NULLS LAST LIMIT ?)
    SELECT b, CASE WHEN v IS NULL AND EXISTS (SELECT 1 FROM top WHERE top.v IS NULL) THEN ?
                   WHEN v IS NULL THEN ?
                   WHEN v IN (SELECT v FROM top WHERE v IS NOT NULL) THEN v ELSE ? END, {measure}
    FROM ev GROUP BY 1, 2
    """
    path = '$."' + key.replace('"', '\\"') + '"'
    params = [
        project.timezone,
        _trunc_unit(interval),
        project.timezone,
        path,
        project.pk,
        event,
        lo,
        hi,
        BREAKDOWN_TOP,
        NONE_LABEL,
        OTHER_LABEL,
        OTHER_LABEL,
    ]
    # Buckets come back as epoch seconds: a TIMESTAMPTZ result would make DuckDB import pytz.
    rows = [
        (dt.datetime.fromtimestamp(b, dt.UTC), label, n)
        for b, label, n in duckdb_cursor().execute(sql, params).fetchall()
    ]
    return _assemble_breakdown(rows, interval, _tz(project))


# --- Funnels ----------------------------------------------------------------------------------


def _funnel_rows(counts: list[int], steps: list[str]) -> list[dict]:
    out = []
    for i, (step, users) in enumerate(zip(steps, counts, strict=True)):
        start, previous = counts[0], counts[i - 1] if i else counts[0]
        out.append(
            {
                "event": step,
                "users": users,
                "conversion_from_start": round(100.0 * users / start, 2) if start else 0.0,
                "conversion_from_previous": round(100.0 * users / previous, 2) if previous else 0.0,
            }
        )
    return out


def funnel_compute(
    *, project: Project, steps: list[str], date_from: dt.date, date_to: dt.date, window_hours: int
) -> list[dict]:
    """Users reaching each step, in order, each step within ``window_hours`` of the first.

    A user counts for step k if some occurrence of step 1 in the range is followed (timestamps
    non-decreasing) by steps 2..k, all inside the range and within the window of that step 1.
    For a fixed start, taking the earliest next step is optimal, so each step is an ASOF join
    (nearest following event of the same user) from every candidate start.
    """
    lo, hi = daysmod.local_range_bounds(date_from, date_to, _tz(project))
    # Literals, not parameters: DuckDB pushes a literal IN list down to PostgreSQL, a list of
    # parameters it does not (the scan then copied every event of the range).
    names = ", ".join("'" + step.replace("'", "''") + "'" for step in steps)
    steps_params = {f"s{i}": step for i, step in enumerate(steps)}
    ctes = ["s0 AS (SELECT DISTINCT user_id, ts AS t0, ts AS t FROM funnel_ev WHERE event_name = $s0)"]
    for i in range(1, len(steps)):
        ctes.append(
            f"e{i} AS (SELECT user_id, ts FROM funnel_ev WHERE event_name = $s{i}), "
            f"s{i} AS (SELECT s.user_id, s.t0, e.ts AS t FROM s{i - 1} s ASOF JOIN e{i} e "
            f"ON s.user_id = e.user_id AND e.ts >= s.t WHERE e.ts <= s.t0 + $w)"
        )
    counts_sql = ", ".join(f"(SELECT count(DISTINCT user_id) FROM s{i})" for i in range(len(steps)))
    # The raw rows are copied out of PostgreSQL once into a temporary table of this cursor: as a
    # CTE, DuckDB re-planned the scan for each reference and the funnel took 100+ s at 10M events
    # instead of ~1.5 s (MATERIALIZED did not change that).
    cur = duckdb_cursor()
    try:
        cur.execute(
            f'CREATE TEMPORARY TABLE funnel_ev AS SELECT {_DUCK_PERSON} AS user_id, "timestamp" AS ts, '
            f"event_name FROM pg.public.events e {_DUCK_PERSON_JOIN} "
            'WHERE e.project_id = $p AND "timestamp" >= $lo AND "timestamp" < $hi '
            f"AND event_name IN ({names})",
            {"p": project.pk, "lo": lo, "hi": hi},
        )
        row = cur.execute(
            f"WITH {', '.join(ctes)} SELECT {counts_sql}",
            {"w": dt.timedelta(hours=window_hours), **steps_params},
        ).fetchone()
    finally:
        cur.close()
    return _funnel_rows(list(row), steps)


def funnel_compute_postgres(
    *, project: Project, steps: list[str], date_from: dt.date, date_to: dt.date, window_hours: int
) -> list[dict]:
    """The same funnel as a PostgreSQL range self-join (the benchmark's comparison engine)."""
    lo, hi = daysmod.local_range_bounds(date_from, date_to, _tz(project))
    ctes = [
        f'ev AS MATERIALIZED (SELECT {PERSON_OF_USER} AS user_id, "timestamp" AS ts, event_name FROM events '
        'WHERE project_id = %(p)s AND "timestamp" >= %(lo)s AND "timestamp" < %(hi)s '
        "AND event_name = ANY(%(steps)s))",
        "s0 AS (SELECT DISTINCT user_id, ts AS t0, ts AS t FROM ev WHERE event_name = %(s0)s)",
    ]
    for i in range(1, len(steps)):
        ctes.append(
            f"s{i} AS (SELECT s.user_id, s.t0, min(e.ts) AS t FROM s{i - 1} s JOIN ev e "
            f"ON e.user_id = s.user_id AND e.event_name = %(s{i})s AND e.ts >= s.t AND e.ts <= s.t0 + %(w)s "
            f"GROUP BY s.user_id, s.t0)"
        )
    counts_sql = ", ".join(f"(SELECT count(DISTINCT user_id) FROM s{i})" for i in range(len(steps)))
    params = {
        "p": project.pk,
        "lo": lo,
        "hi": hi,
        "steps": steps,
        "w": dt.timedelta(hours=window_hours),
        **{f"s{i}": s for i, s in enumerate(steps)},
    }
    counts = list(_fetchall(f"WITH {', '.join(ctes)} SELECT {counts_sql}", params)[0])
    return _funnel_rows(counts, steps)


# --- Retention --------------------------------------------------------------------------------


def _period_days(period: str) -> int:
    return 7 if period == "week" else 1


# Cohort members are persons: ids linked by identify/alias share the lowest user key of the person
# (the key its day bitmaps use, see analytics/rollups.py) and the person's earliest first_seen.
_COHORT_MEMBERS = """
WITH linked AS (
    SELECT u.user_key, min(u.user_key) OVER w AS person_key, min(u.first_seen) OVER w AS person_first
    FROM persons_distinct_id d
    JOIN analytics_user u ON u.project_id = d.project_id AND u.user_id = d.distinct_id
    WHERE d.project_id = %(p)s
    WINDOW w AS (PARTITION BY d.person_id)
)
SELECT u.user_key, u.first_seen FROM analytics_user u
WHERE u.project_id = %(p)s AND u.first_seen >= %(lo)s AND u.first_seen < %(hi)s
  AND NOT EXISTS (SELECT 1 FROM linked WHERE linked.user_key = u.user_key)
UNION ALL
SELECT DISTINCT person_key, person_first FROM linked WHERE person_first >= %(lo)s AND person_first < %(hi)s
"""


def _retention_table(
    *, project: Project, cohort_starts: list[dt.date], periods: int, period: str, last_day: dt.date
) -> list[dict]:
    """Cohorts by first-seen period and their retention, from two queries.

    Cohort membership comes from ``analytics_user.first_seen`` (first event ever, converted to
    the project's local day); activity per period is the OR of its day bitmaps, so
    ``retained = popcount(cohort & active)``.
    """
    tz = _tz(project)
    step = dt.timedelta(days=_period_days(period))
    first, end = cohort_starts[0], cohort_starts[-1] + step
    lo, hi = daysmod.local_range_bounds(first, end - dt.timedelta(days=1), tz)
    keys_by_cohort: dict[int, list[int]] = defaultdict(list)
    for user_key, first_seen in _fetchall(_COHORT_MEMBERS, {"p": project.pk, "lo": lo, "hi": hi}):
        index = (daysmod.local_date(first_seen, tz) - first).days // step.days
        keys_by_cohort[index].append(user_key)
    active_by_period: dict[int, int] = defaultdict(int)
    for day, users in _bitmap_rows(project=project, event="", first=first, last=last_day):
        active_by_period[(day - first).days // step.days] |= bitmap_to_int(users)
    out = []
    for index, start in enumerate(cohort_starts):
        cohort = int_from_keys(keys_by_cohort.get(index, []))
        size = cohort.bit_count()
        retention = []
        for k in range(periods + 1):
            period_start = start + k * step
            if period_start > last_day:
                break
            retained = (cohort & active_by_period.get(index + k, 0)).bit_count()
            retention.append(
                {
                    "period": k,
                    "start": period_start,
                    "retained_users": retained,
                    "retention_rate": round(100.0 * retained / size, 2) if size else 0.0,
                }
            )
        out.append({"start_date": start, "cohort_size": size, "retention": retention})
    return out


def retention_get(*, project: Project, start_date: dt.date, windows: int, period: str) -> dict:
    step = dt.timedelta(days=_period_days(period))
    last_day = start_date + step * (windows + 1) - dt.timedelta(days=1)
    return _retention_table(
        project=project, cohort_starts=[start_date], periods=windows, period=period, last_day=last_day
    )[0]


def retention_cohorts(*, project: Project, date_from: dt.date, date_to: dt.date, period: str) -> list[dict]:
    """The cohort triangle: one cohort per period starting at ``date_from``, periods up to ``date_to``."""
    step = dt.timedelta(days=_period_days(period))
    starts, current = [], date_from
    while current <= date_to:
        starts.append(current)
        current += step
    return _retention_table(project=project, cohort_starts=starts, periods=len(starts), period=period, last_day=date_to)


# --- Live -------------------------------------------------------------------------------------


def live_get(*, project: Project, now: dt.datetime) -> dict:
    """The real-time view straight from raw events: the last hour is one index range per project."""
    minute = now.replace(second=0, microsecond=0)
    first_minute = minute - dt.timedelta(minutes=14)
    rows = _fetchall(
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
        """.replace("{person}", PERSON_OF_USER),
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
    top = sorted(((name, n) for kind, _, name, n in rows if kind == "e"), key=lambda r: (-r[1], r[0]))
    return {
        "now": now,
        "active_users_5m": active,
        "events_per_minute": [
            {"minute": m, "count": per_minute.get(m, 0)}
            for m in (first_minute + dt.timedelta(minutes=i) for i in range(15))
        ],
        "top_events_1h": [{"event": name, "count": n} for name, n in top],
    }


# --- Users ------------------------------------------------------------------------------------


def users_page(*, project: Project, limit: int, after_key: int = 0) -> tuple[list[dict], int | None]:
    """Users in first-seen order (``user_key``), keyset-paginated; returns (rows, next key)."""
    rows = _fetchall(
        """
        WITH page AS (
            SELECT user_key, user_id, is_anonymous, first_seen, last_seen FROM analytics_user
            WHERE project_id = %(p)s AND user_key > %(after)s ORDER BY user_key LIMIT %(n)s
        )
        SELECT page.*, (SELECT coalesce(sum(events), 0) FROM analytics_user_day d
                        WHERE d.project_id = %(p)s AND d.user_key = page.user_key)
        FROM page ORDER BY user_key
        """,
        {"p": project.pk, "after": after_key, "n": limit + 1},
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
    users = _fetchall(
        "SELECT user_key, is_anonymous, first_seen, last_seen FROM analytics_user "
        "WHERE project_id = %s AND user_id = %s",
        [project.pk, user_id],
    )
    if not users:
        return None
    user_key, anon, first_seen, last_seen = users[0]
    days = _fetchall(
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
            {"event_id": eid, "event": name, "source": src, "timestamp": ts, "properties": _json(props)}
            for eid, name, src, ts, props in _fetchall(
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


# --- Raw export -------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "event_id",
    "event",
    "source",
    "user_id",
    "is_anonymous",
    "session_id",
    "timestamp",
    "received_at",
    "properties",
)


@dataclass(frozen=True)
class ExportCursor:
    timestamp: dt.datetime
    event_id: str


def events_page(
    *,
    project: Project,
    date_from: dt.date,
    date_to: dt.date,
    event: str | None,
    limit: int,
    after: ExportCursor | None = None,
) -> tuple[list[dict], ExportCursor | None]:
    """One page of raw events in (timestamp, event_id) order; keyset pagination, no OFFSET."""
    lo, hi = daysmod.local_range_bounds(date_from, date_to, _tz(project))
    where = ["project_id = %(p)s", '"timestamp" >= %(lo)s', '"timestamp" < %(hi)s']
    params: dict = {"p": project.pk, "lo": lo, "hi": hi, "n": limit + 1}
    if event:
        where.append("event_name = %(event)s")
        params["event"] = event
    if after is not None:
        where.append('("timestamp", event_id) > (%(ts)s, %(eid)s::uuid)')
        params.update(ts=after.timestamp, eid=after.event_id)
    rows = _fetchall(
        'SELECT event_id, event_name, source, user_id, is_anonymous, session_id, "timestamp", '
        f"received_at, properties FROM events WHERE {' AND '.join(where)} "
        'ORDER BY "timestamp", event_id LIMIT %(n)s',
        params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    results = [dict(zip(EXPORT_COLUMNS, (*row[:-1], _json(row[-1])), strict=True)) for row in rows]
    next_cursor = ExportCursor(rows[-1][6], str(rows[-1][0])) if more else None
    return results, next_cursor


def events_iter(
    *, project: Project, date_from: dt.date, date_to: dt.date, event: str | None, chunk: int = 5000
) -> Iterator[dict]:
    """Every matching event, read in keyset chunks so a large export never sits in memory."""
    after = None
    while True:
        rows, after = events_page(
            project=project, date_from=date_from, date_to=date_to, event=event, limit=chunk, after=after
        )
        yield from rows
        if after is None:
            return


# --- Sessions ---------------------------------------------------------------------------------


def sessions_series(*, project: Project, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Sessions per local day of their first event; events outside the range are not counted."""
    lo, hi = daysmod.local_range_bounds(date_from, date_to, _tz(project))
    rows = _fetchall(
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

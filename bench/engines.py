"""The engines the reports do not use, kept to compare against the ones they do.

bench/query_bench.py times each against the report's engine ("engine comparison"), and the
tests check both answer the same numbers (reporting/tests/test_reports.py
``test_both_engines_agree``, persons/tests/test_reporting_persons.py). Nothing in the apps
imports this module.
"""

from __future__ import annotations

import datetime as dt

from core import days as daysmod
from events.duck import ATTACHED_AS, duckdb_cursor
from persons.identity import person_join_duckdb, person_key, person_key_duckdb
from projects.models import Project
from reporting.queries.common import fetchall, project_tz
from reporting.queries.funnels import funnel_rows
from reporting.queries.trends import BREAKDOWN_TOP, NONE_LABEL, OTHER_LABEL, assemble_breakdown, trunc_unit


def trend_breakdown_duckdb(
    *, project: Project, event: str, date_from: dt.date, date_to: dt.date, interval: str, math: str, key: str
) -> dict[str, dict]:
    """``reporting.queries.trends``' raw-events breakdown in DuckDB (measured slower there)."""
    lo, hi = daysmod.local_range_bounds(date_from, date_to, project_tz(project))
    measure = "count(DISTINCT user_id)" if math == "users" else "count(*)"
    sql = f"""
    WITH ev AS (
        SELECT epoch(timezone(?, date_trunc(?, timezone(?, "timestamp")))) AS b,
               json_extract_string(properties, ?) AS v, {person_key_duckdb()} AS user_id
        FROM pg.public.events e {person_join_duckdb(catalog=ATTACHED_AS)}
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
        trunc_unit(interval),
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
    return assemble_breakdown(rows, interval, project_tz(project))


def funnel_compute_postgres(
    *, project: Project, steps: list[str], date_from: dt.date, date_to: dt.date, window_hours: int
) -> list[dict]:
    """``reporting.queries.funnels.funnel_compute`` as a PostgreSQL range self-join (no ASOF join)."""
    lo, hi = daysmod.local_range_bounds(date_from, date_to, project_tz(project))
    ctes = [
        f'ev AS MATERIALIZED (SELECT {person_key()} AS user_id, "timestamp" AS ts, event_name FROM events '
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
    counts = list(fetchall(f"WITH {', '.join(ctes)} SELECT {counts_sql}", params)[0])
    return funnel_rows(counts, steps)

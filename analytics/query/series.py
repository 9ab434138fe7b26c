"""Counts over the query layer's events: per bucket, per breakdown value, total or distinct persons.

One compiler for what trends, active users and top events ask once a filter (or a breakdown the
rollups do not hold) is involved. Breakdown values rank as the rollup path ranks them: by the
measure, ties by value (code-point order, NULL last); the top ``limit`` are kept, the rest is
"other", and events without the key are "(none)" when that ranks among the top.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from analytics.query.filters import COLUMN_KEYS
from analytics.query.local_days import local_date_sql
from analytics.query.predicates import json_path
from analytics.query.source import PERSON_PROPERTIES, EventScope, events_relation, query_rows
from events.columnar import number_column, text_column
from events.duck import ATTACHED_AS
from persons.cohorts import cohort_names, cohorts_members_duckdb

OTHER_LABEL = "other"
NONE_LABEL = "(none)"
BREAKDOWN_TYPES = ("event", "person", "column")
BREAKDOWN_LIMIT = 10
MEASURES = {
    "total": "count(*)",
    "users": "count(DISTINCT person)",
    "sessions": "count(DISTINCT session_id)",
    "per_user_avg": "count(*) / count(DISTINCT person)",
    "sum": "sum(x)",
    "avg": "avg(x)",
    "min": "min(x)",
    "max": "max(x)",
    # Continuous quantiles: linear interpolation between the closest ranks (PostgreSQL's percentile_cont).
    "median": "quantile_cont(x, 0.5)",
    "p90": "quantile_cont(x, 0.9)",
    "p95": "quantile_cont(x, 0.95)",
    "p99": "quantile_cont(x, 0.99)",
}
PROPERTY_MATHS = ("sum", "avg", "min", "max", "median", "p90", "p95", "p99")
_UNITS = {"day": "day", "week": "week", "month": "month"}  # also the allow-list of what enters SQL


@dataclass(frozen=True)
class Breakdown:
    type: str  # event | person | column | cohort
    key: str  # the property key or column; for cohorts, unused
    limit: int = BREAKDOWN_LIMIT
    cohorts: tuple[int, ...] = ()  # type cohort: one series per cohort, labelled with its name


def bucket_sql(interval: str, scope: EventScope) -> str:
    """The bucket of ``ts`` (a row of the scope's relation): its local date, or the first day of
    its local week or month, or for hours epoch seconds (in the cursor's time zone)."""
    if interval == "hour":
        return "epoch(date_trunc('hour', ts))"
    lo, hi = scope.bounds
    day = local_date_sql("ts", lo=lo, hi=hi, tz=scope.tz)
    if interval == "day":
        return day
    return f"CAST(date_trunc('{_UNITS[interval]}', {day}) AS DATE)"


def breakdown_scope(scope: EventScope, breakdown: Breakdown | None) -> EventScope:
    """The scope, reading what the breakdown needs: its event property key, or person properties."""
    if breakdown is None or breakdown.type in ("column", "cohort"):
        return scope
    if breakdown.type == "event":
        return scope.reading(breakdown.key)
    return replace(scope, person_properties=True)


def breakdown_value_sql(breakdown: Breakdown, params: list[Any], *, alias: str = "") -> str:
    """The breakdown's value of a row of ``events_relation(breakdown_scope(…))`` (``alias``
    prefixes its columns)."""
    if breakdown.type == "column":
        return alias + COLUMN_KEYS[breakdown.key]
    if breakdown.type == "cohort":
        raise ValueError("a cohort breakdown is not one value per row (series_counts joins the members)")
    if breakdown.type == "event":
        return alias + text_column(breakdown.key)
    params.append(json_path(breakdown.key))
    return f"json_extract_string({alias}{PERSON_PROPERTIES}, ?)"


def top_label_sql(params: list[Any], *, value: str = "v", top: str = "top") -> str:
    """The label of a breakdown ``value`` once ``top`` (the kept values, column ``v``) is known:
    the value itself, "(none)" for no value when that was kept, "other" for the rest."""
    params.extend([NONE_LABEL, OTHER_LABEL, OTHER_LABEL])
    return (
        f"CASE WHEN {value} IS NULL AND EXISTS (SELECT 1 FROM {top} WHERE {top}.v IS NULL) THEN ? "
        f"WHEN {value} IS NULL THEN ? WHEN {value} IN (SELECT v FROM {top} WHERE v IS NOT NULL) THEN {value} "
        "ELSE ? END"
    )


def series_counts(
    scope: EventScope,
    *,
    math: str,
    interval: str,
    breakdown: Breakdown | None = None,
    math_property: str | None = None,
) -> list[tuple[dt.date | dt.datetime, str | None, int | float]]:
    """Rows ``(bucket, label, value)``; the label is None without a breakdown.

    ``math`` is one of MEASURES; the property maths read ``math_property`` as a number (values that
    are not finite numbers are left out; a bucket with none has no value, answered as 0)."""
    scope = breakdown_scope(scope, breakdown)
    if math in PROPERTY_MATHS:
        if not math_property:
            raise ValueError(f"math {math!r} needs a math_property")
        scope = scope.reading(math_property)
    relation, params = events_relation(scope)
    measure = MEASURES[math]
    bucket = bucket_sql(interval, scope)
    value = "NULL"
    if breakdown is not None and breakdown.type != "cohort":
        value = breakdown_value_sql(breakdown, params)
    number = "NULL"
    if math in PROPERTY_MATHS and math_property:
        column = number_column(math_property)
        number = f"CASE WHEN isfinite({column}) THEN {column} END"
    rows_cte = (
        f"WITH ev AS ({relation}), b AS (SELECT {bucket} AS b, {value} AS v, person, session_id, {number} AS x FROM ev)"
    )
    if breakdown is None:
        rows = query_rows(f"{rows_cte} SELECT b, NULL, {measure} FROM b GROUP BY 1", params, tz=scope.tz)
    elif breakdown.type == "cohort":
        rows = _cohort_series(relation, params, breakdown, bucket=bucket, measure=measure, number=number, scope=scope)
    else:
        params.append(breakdown.limit)
        label = top_label_sql(params)
        rows = query_rows(
            f"""
            {rows_cte},
            top AS (SELECT v FROM b GROUP BY v ORDER BY {measure} DESC NULLS LAST, v NULLS LAST LIMIT ?)
            SELECT b, {label}, {measure} FROM b GROUP BY 1, 2
            """,
            params,
            tz=scope.tz,
        )
    rows = [(b, label, 0 if n is None else n) for b, label, n in rows]
    if interval == "hour":
        return [(dt.datetime.fromtimestamp(b, tz=scope.tz), label, n) for b, label, n in rows]
    return rows


def _cohort_series(
    relation: str, params: list[Any], breakdown: Breakdown, *, bucket: str, measure: str, number: str, scope: EventScope
) -> list[tuple[Any, str | None, int | float]]:
    """One series per cohort: each event counts for every cohort its person is a member of."""
    names = cohort_names(project_id=scope.project_id, cohort_ids=breakdown.cohorts)
    members = cohorts_members_duckdb(catalog=ATTACHED_AS, cohort_ids=breakdown.cohorts)
    rows = query_rows(
        f"WITH ev AS ({relation}), m AS ({members}), "
        f"b AS (SELECT {bucket} AS b, m.cohort_id AS v, ev.person, ev.session_id, {number} AS x "
        f"FROM ev JOIN m ON m.person = ev.person) "
        f"SELECT b, v, {measure} FROM b GROUP BY 1, 2",
        params,
        tz=scope.tz,
    )
    return [(b, names.get(v, str(v)), n) for b, v, n in rows]


def top_events_counts(scope: EventScope, *, limit: int) -> list[tuple[str, int, int]]:
    """``(event, count, persons)`` of the most frequent events, ties by name."""
    relation, params = events_relation(scope)
    return query_rows(
        f"WITH ev AS ({relation}) SELECT event_name, count(*), count(DISTINCT person) FROM ev "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
        [*params, limit],
        tz=scope.tz,
    )


def session_stats(scope: EventScope) -> list[tuple[dt.date, int, float, float]]:
    """Per local day of a session's first matching event: sessions, their mean duration (seconds,
    first to last matching event) and mean matching events. Events without a session are left out."""
    relation, params = events_relation(scope)
    lo, hi = scope.bounds
    return query_rows(
        f"""
        WITH ev AS ({relation}),
        s AS (
            SELECT min(ts) AS started, epoch_us(max(ts)) - epoch_us(min(ts)) AS span_us, count(*) AS n
            FROM ev WHERE session_id IS NOT NULL GROUP BY session_id
        )
        SELECT {local_date_sql("started", lo=lo, hi=hi, tz=scope.tz)}, count(*), avg(span_us) / 1e6, avg(n)
        FROM s GROUP BY 1
        """,
        params,
        tz=scope.tz,
    )


def live_counts(scope: EventScope, *, now: dt.datetime) -> tuple[dict[dt.datetime, int], int, list[tuple[str, int]]]:
    """The live view over matching events: per minute of the last 15, persons of the last 5
    minutes, the 10 most frequent events of the last hour. ``scope``'s days must cover the hour."""
    relation, params = events_relation(scope)
    minute = now.replace(second=0, microsecond=0)
    m15, m5, h1 = minute - dt.timedelta(minutes=14), now - dt.timedelta(minutes=5), now - dt.timedelta(hours=1)
    rows = query_rows(
        f"""
        WITH ev AS ({relation})
        SELECT 'm', epoch(date_trunc('minute', ts)), NULL, count(*) FROM ev WHERE ts >= ? AND ts <= ? GROUP BY 2
        UNION ALL
        SELECT 'u', NULL, NULL, count(DISTINCT person) FROM ev WHERE ts > ? AND ts <= ?
        UNION ALL
        (SELECT 'e', NULL, event_name, count(*) FROM ev WHERE ts > ? AND ts <= ?
         GROUP BY event_name ORDER BY 4 DESC, 3 LIMIT 10)
        """,
        [*params, m15, now, m5, now, h1, now],
        tz=scope.tz,
    )
    per_minute = {dt.datetime.fromtimestamp(ts, tz=dt.UTC): n for kind, ts, _, n in rows if kind == "m"}
    active = next((n for kind, _, _, n in rows if kind == "u"), 0)
    top = [(name, n) for kind, _, name, n in rows if kind == "e"]
    return per_minute, active, top


def matching_user_ids(scope: EventScope) -> list[str]:
    """The ids (``user_id``, not persons) that sent at least one matching event in the scope."""
    relation, params = events_relation(scope)
    return [
        row[0] for row in query_rows(f"WITH ev AS ({relation}) SELECT DISTINCT user_id FROM ev", params, tz=scope.tz)
    ]

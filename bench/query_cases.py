"""What the query benchmark asks: every reporting endpoint, and the same question as naive SQL.

Endpoints are called through Django's test client (URL routing, auth, serializers, JSON: what a
client gets, minus the network); the naive baseline answers the same question with one query on
the raw events table. The engine comparison asks each report's question of both engines, the one
the report uses and the other (``bench/engines.py``). Imported once Django is set up.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection
from django.http import HttpResponse
from django.test import Client

from bench.engines import funnel_compute_postgres, trend_breakdown_duckdb
from core import days as daysmod
from projects.models import Project
from reporting.queries import funnels, trends


class Case(NamedTuple):
    name: str
    target_ms: int | None  # p50 to stay under; None: measured, no target
    endpoint: Callable[[], HttpResponse]
    naive: Callable[[], Any] | None  # the same question on the raw events table


class EngineCase(NamedTuple):
    name: str
    duckdb: Callable[[], Any]
    postgresql: Callable[[], Any]


@dataclass(frozen=True)
class Period:
    """The loaded days, and the last 30 of them as the project's local days in UTC bounds."""

    start: dt.date
    end: dt.date
    tz: str
    d30: dt.date
    lo30: dt.datetime
    hi30: dt.datetime


def period_of(project: Project, start: dt.date, end: dt.date) -> Period:
    d30 = end - dt.timedelta(days=29)
    tz = project.timezone
    lo30, hi30 = daysmod.local_range_bounds(d30, end, daysmod.zone(tz))
    return Period(start=start, end=end, tz=tz, d30=d30, lo30=lo30, hi30=hi30)


def naive(sql: str, params: list | dict) -> Callable[[], list]:
    def run() -> list:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    return run


def naive_web(project: Project, period: Period, where: str = "") -> Callable[[], list]:
    """The web overview's six numbers in PostgreSQL: visits by session, persons as user ids."""
    return naive(
        'WITH e AS (SELECT * FROM events WHERE project_id = %(p)s AND "timestamp" >= %(lo)s '
        "AND \"timestamp\" < %(hi)s AND device_type IS DISTINCT FROM 'bot' " + where + "), "
        "v AS (SELECT count(*) FILTER (WHERE event_name = '$pageview') AS pv, count(*) AS n, "
        'max("timestamp") - min("timestamp") AS span FROM e GROUP BY session_id '
        "HAVING count(*) FILTER (WHERE event_name = '$pageview') > 0) "
        "SELECT (SELECT count(DISTINCT user_id) FROM e WHERE event_name = '$pageview'), sum(pv), count(*), "
        "count(*) FILTER (WHERE pv = 1 AND n = 1), avg(extract(epoch FROM span)) FROM v",
        {"p": project.pk, "lo": period.lo30, "hi": period.hi30},
    )


def endpoint_cases(
    *,
    project: Project,
    client: Client,
    base: str,
    period: Period,
    persons: tuple[Client, str] | None = None,
    cohort_id: int | None = None,
) -> list[Case]:
    start, end, tz, d30, lo30, hi30 = period.start, period.end, period.tz, period.d30, period.lo30, period.hi30
    retention_start = end - dt.timedelta(days=8 * 7 + 6)

    def get(path: str, **params: Any) -> Callable[[], HttpResponse]:
        def run() -> HttpResponse:
            response = client.get(base + path, params)
            assert response.status_code == 200, response.content[:300]
            return response

        return run

    def post(path: str, body: dict) -> Callable[[], HttpResponse]:
        def run() -> HttpResponse:
            response = client.post(base + path, body, content_type="application/json")
            assert response.status_code == 200, response.content[:300]
            return response

        return run

    funnel_body = funnel_question(period)
    rng30 = {"from": d30.isoformat(), "to": end.isoformat()}
    return [
        Case(
            "active-users 30 days (day)",
            50,
            get("active-users", **rng30),
            naive(
                'SELECT ("timestamp" AT TIME ZONE %s)::date, count(DISTINCT user_id) FROM events '
                'WHERE project_id = %s AND "timestamp" >= %s AND "timestamp" < %s GROUP BY 1',
                [tz, project.pk, lo30, hi30],
            ),
        ),
        Case(
            "active-users 90 days (week)",
            None,
            get("active-users", **{"from": start.isoformat(), "to": end.isoformat(), "interval": "week"}),
            None,
        ),
        Case(
            "top-events 30 days",
            50,
            get("top-events", **rng30),
            naive(
                "SELECT event_name, count(*), count(DISTINCT user_id) FROM events WHERE project_id = %s "
                'AND "timestamp" >= %s AND "timestamp" < %s GROUP BY 1 ORDER BY 2 DESC LIMIT 10',
                [project.pk, lo30, hi30],
            ),
        ),
        Case(
            "trends purchase users/day 30 days",
            None,
            get("trends", event="purchase", math="users", **rng30),
            naive(
                'SELECT ("timestamp" AT TIME ZONE %s)::date, count(DISTINCT user_id) FROM events '
                "WHERE project_id = %s AND event_name = 'purchase' AND \"timestamp\" >= %s "
                'AND "timestamp" < %s GROUP BY 1',
                [tz, project.pk, lo30, hi30],
            ),
        ),
        Case(
            "trends purchase by plan 30 days",
            300,
            get("trends", event="purchase", breakdown="plan", **rng30),
            naive(
                "SELECT (\"timestamp\" AT TIME ZONE %s)::date, properties->>'plan', count(*) FROM events "
                "WHERE project_id = %s AND event_name = 'purchase' AND \"timestamp\" >= %s "
                'AND "timestamp" < %s GROUP BY 1, 2',
                [tz, project.pk, lo30, hi30],
            ),
        ),
        Case(
            "trends pageview by browser 30 days",
            300,
            get("trends", event="$pageview", breakdown="browser", **rng30),
            None,
        ),
        Case(
            "funnel 3 steps 30 days",
            1000,
            post("funnels", funnel_body),
            lambda: funnel_compute_postgres(
                project=project,
                steps=funnel_body["steps"],
                date_from=d30,
                date_to=end,
                window_hours=24,
            ),
        ),
        Case(
            "retention 8 weeks",
            500,
            get("retention", start_date=retention_start.isoformat(), windows=8, period="week"),
            naive(
                """
                WITH firsts AS (SELECT user_id, min("timestamp") AS f FROM events WHERE project_id = %(p)s
                                GROUP BY user_id),
                     cohort AS (SELECT user_id FROM firsts
                                WHERE f >= %(lo)s AND f < %(lo)s + interval '7 days'),
                     act AS (SELECT DISTINCT e.user_id, floor(extract(epoch FROM e."timestamp" - %(lo)s)
                                                            / 604800)::int AS k
                             FROM events e JOIN cohort c USING (user_id)
                             WHERE e.project_id = %(p)s AND e."timestamp" >= %(lo)s
                               AND e."timestamp" < %(lo)s + interval '63 days')
                SELECT k, count(*) FROM act GROUP BY k ORDER BY k
                """,
                {
                    "p": project.pk,
                    "lo": daysmod.local_midnight(retention_start, daysmod.zone(tz)),
                },
            ),
        ),
        Case(
            "retention cohorts 12 weeks",
            None,
            get(
                "retention/cohorts",
                **{"from": (end - dt.timedelta(days=83)).isoformat(), "to": end.isoformat()},
            ),
            None,
        ),
        Case(
            "sessions 7 days",
            None,
            get("sessions", **{"from": (end - dt.timedelta(days=6)).isoformat(), "to": end.isoformat()}),
            None,
        ),
        # Issue 13: filtered questions, answered by the query layer over the events.
        Case(
            "filtered active-users 30 days",
            150,
            get("active-users", **rng30, filters=json.dumps([_filter("event", "browser", "chrome")])),
            naive(
                'SELECT ("timestamp" AT TIME ZONE %s)::date, count(DISTINCT user_id) FROM events '
                'WHERE project_id = %s AND "timestamp" >= %s AND "timestamp" < %s '
                "AND properties ->> 'browser' = 'chrome' GROUP BY 1",
                [tz, project.pk, lo30, hi30],
            ),
        ),
        Case(
            "filtered trend by path 30 days",
            300,
            get(
                "trends",
                event="$pageview",
                breakdown="path",
                **rng30,
                filters=json.dumps([_filter("column", "source", "ios")]),
            ),
            naive(
                "SELECT (\"timestamp\" AT TIME ZONE %s)::date, properties ->> 'path', count(*) FROM events "
                "WHERE project_id = %s AND event_name = '$pageview' AND source = 'ios' "
                'AND "timestamp" >= %s AND "timestamp" < %s GROUP BY 1, 2',
                [tz, project.pk, lo30, hi30],
            ),
        ),
        Case(
            "filtered funnel 3 steps by product 30 days",
            1000,
            post(
                "funnels",
                {
                    **funnel_body,
                    "filters": [_filter("column", "source", "web")],
                    "breakdown": {"type": "event", "key": "product"},
                },
            ),
            None,
        ),
        Case(
            "p95 of purchase amount by day 30 days",
            300,
            post(
                "trends",
                {
                    "series": [{"name": "A", "event": "purchase", "math": "p95", "math_property": "amount"}],
                    **rng30,
                },
            ),
            naive(
                'SELECT ("timestamp" AT TIME ZONE %s)::date, '
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY (properties ->> 'amount')::numeric) FROM events "
                "WHERE project_id = %s AND event_name = 'purchase' "
                'AND "timestamp" >= %s AND "timestamp" < %s GROUP BY 1',
                [tz, project.pk, lo30, hi30],
            ),
        ),
        Case(
            "filtered retention start/return 8 weeks",
            500,
            get(
                "retention",
                start_date=retention_start.isoformat(),
                windows=8,
                period="week",
                start_event="view_product",
                return_event="purchase",
                filters=json.dumps([_filter("column", "source", "web")]),
            ),
            None,
        ),
        # Issue 16: stickiness counts per-person intervals over the events; unfiltered lifecycle is
        # set operations on the day bitmaps, the filtered one reads every event up to `to`.
        Case("stickiness 30 days (day)", 300, get("stickiness", **rng30, event="$pageview"), None),
        Case(
            "lifecycle 90 days (week)",
            500,
            get("lifecycle", event="$pageview", interval="week", **{"from": start.isoformat(), "to": end.isoformat()}),
            None,
        ),
        Case(
            "lifecycle 90 days (week), filtered",
            None,
            get(
                "lifecycle",
                event="$pageview",
                interval="week",
                filters=json.dumps([_filter("event", "browser", "chrome")]),
                **{"from": start.isoformat(), "to": end.isoformat()},
            ),
            None,
        ),
        # Issue 16: paths, one DuckDB query of per-person windows (collapse repeats, cut, fold) over the events.
        Case(
            "paths 5 steps pages 30 days",
            1000,
            post("paths", {**rng30, "event_types": ["$pageview"], "path_key": "pathname", "steps": 5}),
            None,
        ),
        *(
            [
                Case(
                    "cohort-filtered active-users 30 days",
                    200,
                    get("active-users", **rng30, filters=json.dumps([{"type": "cohort", "value": cohort_id}])),
                    naive(
                        'SELECT ("timestamp" AT TIME ZONE %s)::date, count(DISTINCT user_id) FROM events '
                        'WHERE project_id = %s AND "timestamp" >= %s AND "timestamp" < %s AND user_id IN '
                        "(SELECT user_id FROM events WHERE project_id = %s AND event_name = 'signup' "
                        'AND "timestamp" >= %s) GROUP BY 1',
                        [tz, project.pk, lo30, hi30, project.pk, hi30 - dt.timedelta(days=45)],
                    ),
                )
            ]
            if cohort_id is not None
            else []
        ),
        # Issue 16: unique companies per day (group_0), from the files with the group columns.
        Case(
            "active companies 30 days",
            200,
            get("trends", event="$pageview", math="users", aggregation_group_type="company", **rng30),
            naive(
                'SELECT ("timestamp" AT TIME ZONE %s)::date, count(DISTINCT group_0) FROM events '
                "WHERE project_id = %s AND event_name = '$pageview' AND \"timestamp\" >= %s "
                'AND "timestamp" < %s GROUP BY 1',
                [tz, project.pk, lo30, hi30],
            ),
        ),
        Case("live", None, get("live"), None),
        # Issue 15: the web overview, one DuckDB pass (visits, pageviews, every list); naive: only
        # its headline numbers (visits from one GROUP BY session_id) in PostgreSQL.
        Case("web overview 30 days", 300, get("web", **rng30, compare="true"), naive_web(project, period)),
        Case(
            "web overview 30 days, filtered (device_type)",
            400,
            get("web", **rng30, compare="true", filters=json.dumps([_filter("column", "device_type", "mobile")])),
            naive_web(project, period, "AND device_type = 'mobile'"),
        ),
        Case("web live", None, get("web/live"), None),
        Case("users page", None, get("users", limit=100), None),
        Case("events export page (1000)", None, get("events", **rng30), None),
        # Issue 14: the taxonomy, from the rollups' definitions and per-day stats, never the events.
        Case(
            "taxonomy: events",
            50,
            get("definitions/events"),
            naive(
                'SELECT event_name, min("timestamp"), max("timestamp"), '
                'count(*) FILTER (WHERE "timestamp" >= %s) FROM events WHERE project_id = %s GROUP BY 1',
                [lo30, project.pk],
            ),
        ),
        Case(
            "taxonomy: event properties",
            50,
            get("definitions/properties"),
            naive(
                "SELECT k.key, jsonb_typeof(k.value), count(*) FROM events, jsonb_each(properties) k "
                'WHERE project_id = %s AND "timestamp" >= %s AND "timestamp" < %s GROUP BY 1, 2',
                [project.pk, lo30, hi30],
            ),
        ),
        Case(
            "taxonomy: values of product (over the cap)",
            50,
            get("definitions/properties/product/values"),
            naive(
                "SELECT properties ->> 'product', count(*) FROM events WHERE project_id = %s "
                'AND "timestamp" >= %s AND "timestamp" < %s AND properties ? \'product\' '
                "GROUP BY 1 ORDER BY 2 DESC LIMIT 20",
                [project.pk, lo30, hi30],
            ),
        ),
        Case("taxonomy: values of path, q=p1", 50, get("definitions/properties/path/values", q="p1"), None),
        *_person_taxonomy_cases(persons),
    ]


def _person_taxonomy_cases(persons: tuple[Client, str] | None) -> list[Case]:
    """The person taxonomy, on the bench's project of ~50k persons (query_load.bench_persons)."""
    if persons is None:
        return []
    client, base = persons

    def get(path: str, **params: Any) -> Callable[[], HttpResponse]:
        def run() -> HttpResponse:
            response = client.get(base + path, params)
            assert response.status_code == 200, response.content[:300]
            return response

        return run

    return [
        Case("taxonomy: person properties", 50, get("definitions/properties", type="person"), None),
        Case("taxonomy: person values of plan", 50, get("definitions/properties/plan/values", type="person"), None),
        Case("taxonomy: person values of email", 50, get("definitions/properties/email/values", type="person"), None),
    ]


def _filter(kind: str, key: str, value: str) -> dict[str, str]:
    return {"type": kind, "key": key, "operator": "exact", "value": value}


def funnel_question(period: Period) -> dict[str, Any]:
    return {
        "steps": ["view_product", "add_to_cart", "purchase"],
        "from": period.d30.isoformat(),
        "to": period.end.isoformat(),
        "window_hours": 24,
    }


def engine_cases(*, project: Project, period: Period) -> list[EngineCase]:
    d30, end = period.d30, period.end
    steps = funnel_question(period)["steps"]
    return [
        EngineCase(
            "funnel 3 steps 30 days",
            lambda: funnels.funnel_compute(project=project, steps=steps, date_from=d30, date_to=end, window_hours=24),
            lambda: funnel_compute_postgres(project=project, steps=steps, date_from=d30, date_to=end, window_hours=24),
        ),
        EngineCase(
            "purchase by plan 30 days",
            lambda: trend_breakdown_duckdb(
                project=project,
                event="purchase",
                date_from=d30,
                date_to=end,
                interval="day",
                math="total",
                key="plan",
            ),
            lambda: trends._trend_breakdown_pg(
                project=project,
                event="purchase",
                date_from=d30,
                date_to=end,
                interval="day",
                math="total",
                key="plan",
            ),
        ),
        EngineCase(
            "pageview by browser 30 days",
            lambda: trend_breakdown_duckdb(
                project=project,
                event="$pageview",
                date_from=d30,
                date_to=end,
                interval="day",
                math="total",
                key="browser",
            ),
            lambda: trends._trend_breakdown_pg(
                project=project,
                event="$pageview",
                date_from=d30,
                date_to=end,
                interval="day",
                math="total",
                key="browser",
            ),
        ),
    ]

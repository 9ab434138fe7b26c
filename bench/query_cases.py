"""What the query benchmark asks: every reporting endpoint, and the same question as naive SQL.

Endpoints are called through Django's test client (URL routing, auth, serializers, JSON: what a
client gets, minus the network); the naive baseline answers the same question with one query on
the raw events table. The engine comparison asks each report's question of both engines, the one
the report uses and the other (``bench/engines.py``). Imported once Django is set up.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.test import Client

from bench.engines import funnel_compute_postgres, trend_breakdown_duckdb
from bench.query_case_kit import (
    Case,
    EngineCase,
    Period,
    filter_exact,
    naive,
    naive_web,
    requests,
)
from bench.query_cases_engagement import engagement_cases
from core import days as daysmod
from projects.models import Project
from reporting.queries import funnels, trends


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

    get, post = requests(client, base)
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
            get("active-users", **rng30, filters=json.dumps([filter_exact("event", "browser", "chrome")])),
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
                filters=json.dumps([filter_exact("column", "source", "ios")]),
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
                    "filters": [filter_exact("column", "source", "web")],
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
                filters=json.dumps([filter_exact("column", "source", "web")]),
            ),
            None,
        ),
        *engagement_cases(project=project, period=period, get=get, post=post),
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
        Case("live", None, get("live"), None),
        # Issue 15: the web overview, one DuckDB pass (visits, pageviews, every list); naive: only
        # its headline numbers (visits from one GROUP BY session_id) in PostgreSQL.
        Case("web overview 30 days", 300, get("web", **rng30, compare="true"), naive_web(project, period)),
        Case(
            "web overview 30 days, filtered (device_type)",
            400,
            get("web", **rng30, compare="true", filters=json.dumps([filter_exact("column", "device_type", "mobile")])),
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
    get, _ = requests(*persons)
    return [
        Case("taxonomy: person properties", 50, get("definitions/properties", type="person"), None),
        Case("taxonomy: person values of plan", 50, get("definitions/properties/plan/values", type="person"), None),
        Case("taxonomy: person values of email", 50, get("definitions/properties/email/values", type="person"), None),
    ]


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

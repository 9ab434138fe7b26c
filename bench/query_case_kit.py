"""The query benchmark's building blocks: a case, the loaded period, a naive SQL baseline, and the
requests an endpoint case makes through Django's test client. Imported once Django is set up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection
from django.http import HttpResponse
from django.test import Client

from core import days as daysmod
from projects.models import Project

Request = Callable[[], HttpResponse]


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


def requests(client: Client, base: str) -> tuple[Callable[..., Request], Callable[[str, dict], Request]]:
    """``get(path, **params)`` and ``post(path, body)``: a call of the endpoint under ``base``
    that must answer 200 (a benchmark of an error would measure nothing)."""

    def get(path: str, **params: Any) -> Request:
        def run() -> HttpResponse:
            response = client.get(base + path, params)
            assert response.status_code == 200, response.content[:300]
            return response

        return run

    def post(path: str, body: dict) -> Request:
        def run() -> HttpResponse:
            response = client.post(base + path, body, content_type="application/json")
            assert response.status_code == 200, response.content[:300]
            return response

        return run

    return get, post


def filter_exact(kind: str, key: str, value: str) -> dict[str, str]:
    return {"type": kind, "key": key, "operator": "exact", "value": value}

"""Every report's numbers against the independent computation in oracle.py (same committed data)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.utils import timezone

from bench import engines
from reporting.queries import funnels, trends
from reporting.tests import oracle
from reporting.tests.conftest import DAYS, FIRST_DAY

pytestmark = pytest.mark.django_db

LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)
# A range that starts and ends mid-week and spans the DST change.
FROM, TO = dt.date(2024, 2, 22), dt.date(2024, 3, 21)


def _get(tenant, path: str, **params):
    response = tenant.client().get(tenant.url(path), params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert dt.datetime.fromisoformat(body["complete_until"]) <= timezone.now()
    return body


@pytest.fixture(params=["ny", "kolkata"])
def tenant(request, dataset):
    return getattr(dataset, request.param)


@pytest.mark.parametrize("interval", ["day", "week", "month"])
def test_active_users(tenant, interval, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        body = _get(tenant, "active-users", **{"from": FROM, "to": TO, "interval": interval})
    assert body["results"] == oracle.active_users(tenant.events, tenant.tz, FROM, TO, interval)


def test_top_events(tenant, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        body = _get(tenant, "top-events", **{"from": FROM, "to": TO, "limit": 2})
    assert body["results"] == oracle.top_events(tenant.events, tenant.tz, FROM, TO, 2)
    assert len(body["results"]) == 2


@pytest.mark.parametrize(
    ("event", "interval", "math", "breakdown"),
    [
        ("pageview", "day", "total", None),
        ("pageview", "week", "users", None),
        ("signup", "month", "users", None),
        ("purchase", "hour", "total", None),
        ("pageview", "hour", "users", None),
        ("pageview", "day", "total", "path"),
        ("pageview", "week", "users", "path"),
        ("pageview", "day", "total", "n"),
        ("purchase", "hour", "users", "plan"),
    ],
)
def test_trends(tenant, event, interval, math, breakdown, django_assert_max_num_queries):
    params = {"event": event, "from": FROM, "to": TO, "interval": interval, "math": math}
    if breakdown:
        params["breakdown"] = breakdown
    if interval == "hour":
        params["to"] = FROM + dt.timedelta(days=20)  # over the DST change, within the hourly limit
    with django_assert_max_num_queries(6):
        body = _get(tenant, "trends", **params)
    expected = oracle.trends(
        tenant.events,
        tenant.tz,
        event,
        FROM,
        dt.date.fromisoformat(str(params["to"])),
        interval,
        math,
        breakdown,
    )
    assert body["series"] == expected
    if breakdown == "path":
        labels = [s["label"] for s in body["series"]]
        assert len(labels) == 11 and labels[-1] == "other"  # 12 paths + none: top 10 and the rest


@pytest.mark.parametrize("window_hours", [2, 24, 72])
def test_funnel(tenant, window_hours, django_assert_max_num_queries):
    steps = ["pageview", "signup", "purchase"]
    with django_assert_max_num_queries(4):
        response = tenant.client().post(
            tenant.url("funnels"),
            {"steps": steps, "from": FROM.isoformat(), "to": TO.isoformat(), "window_hours": window_hours},
            format="json",
        )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    expected = oracle.funnel(tenant.events, tenant.tz, steps, FROM, TO, window_hours)
    assert [r["users"] for r in results] == expected
    assert [r["event"] for r in results] == steps
    assert results[0]["conversion_from_start"] == 100.0
    assert results[2]["conversion_from_previous"] == round(100.0 * expected[2] / expected[1], 2)


@pytest.mark.parametrize(("period", "windows"), [("week", 3), ("day", 6)])
def test_retention(tenant, period, windows, django_assert_max_num_queries):
    start = dt.date(2024, 2, 26)
    # 2 for the key (then cached), cohort members, day bitmaps, the watermark.
    with django_assert_max_num_queries(5):
        body = _get(tenant, "retention", start_date=start, windows=windows, period=period)
    expected = oracle.cohort_table(
        tenant.events,
        tenant.tz,
        [start],
        windows,
        period,
        start + dt.timedelta(days=(7 if period == "week" else 1) * (windows + 1) - 1),
    )[0]
    assert {k: body[k] for k in ("start_date", "cohort_size", "retention")} == expected
    assert expected["cohort_size"] > 0 and len(body["retention"]) == windows + 1


def test_retention_cohort_triangle(tenant, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        body = _get(tenant, "retention/cohorts", **{"from": FIRST_DAY, "to": LAST_DAY, "period": "week"})
    starts = [FIRST_DAY + dt.timedelta(days=7 * i) for i in range(5)]
    assert body["results"] == oracle.cohort_table(tenant.events, tenant.tz, starts, 5, "week", LAST_DAY)
    assert [len(c["retention"]) for c in body["results"]] == [5, 4, 3, 2, 1]


def test_sessions(tenant, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        body = _get(tenant, "sessions", **{"from": FROM, "to": TO})
    assert body["results"] == oracle.sessions(tenant.events, tenant.tz, FROM, TO)


def test_users_pages_cover_every_user_once(tenant, django_assert_max_num_queries):
    expected = {}
    for e in tenant.events:
        row = expected.setdefault(e.user_id, {"first": e.timestamp, "last": e.timestamp, "n": 0})
        row["first"], row["last"] = min(row["first"], e.timestamp), max(row["last"], e.timestamp)
        row["n"] += 1
    seen, cursor = {}, None
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        with django_assert_max_num_queries(4):
            body = _get(tenant, "users", **params)
        for row in body["results"]:
            assert row["user_id"] not in seen
            seen[row["user_id"]] = row
        cursor = body["next"]
        if cursor is None:
            break
    assert set(seen) == set(expected)
    for user_id, row in seen.items():
        assert dt.datetime.fromisoformat(row["first_seen"]) == expected[user_id]["first"]
        assert dt.datetime.fromisoformat(row["last_seen"]) == expected[user_id]["last"]
        assert row["event_count"] == expected[user_id]["n"]


def test_user_detail(tenant, django_assert_max_num_queries):
    user_id = max({e.user_id for e in tenant.events}, key=lambda u: sum(e.user_id == u for e in tenant.events))
    mine = sorted((e for e in tenant.events if e.user_id == user_id), key=lambda e: (e.timestamp, str(e.event_id)))
    with django_assert_max_num_queries(6):
        body = _get(tenant, f"users/{user_id}")
    daily = {}
    for e in mine:
        day = oracle.local_day(e, tenant.tz).isoformat()
        daily[day] = daily.get(day, 0) + 1
    assert body["daily"] == [{"date": d, "events": n} for d, n in sorted(daily.items())]
    assert body["event_count"] == len(mine)
    recent = [r["event_id"] for r in body["recent_events"]]
    assert recent == [str(e.event_id) for e in reversed(mine)][:50]


def test_unknown_user_is_404(dataset):
    response = dataset.ny.client().get(dataset.ny.url("users/nobody"))
    assert response.status_code == 404


def _expected_export(tenant, event=None):
    rows = [e for e in oracle.in_range(tenant.events, tenant.tz, FROM, TO) if event in (None, e.event_name)]
    return sorted(rows, key=lambda e: (e.timestamp, str(e.event_id)))


def test_events_export_json_pages(tenant, django_assert_max_num_queries):
    got, cursor = [], None
    while True:
        params = {"from": FROM, "to": TO, "event": "signup", "limit": 50} | ({"cursor": cursor} if cursor else {})
        with django_assert_max_num_queries(5):
            body = _get(tenant, "events", **params)
        got += body["results"]
        cursor = body["next"]
        if not cursor:
            break
    expected = _expected_export(tenant, "signup")
    assert [r["event_id"] for r in got] == [str(e.event_id) for e in expected]
    assert got[0]["properties"] == expected[0].properties


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_events_export_streams(dataset, fmt):
    tenant = dataset.ny
    response = tenant.client().get(tenant.url("events"), {"from": FROM, "to": TO, "format": fmt})
    assert response.status_code == 200
    assert response["X-Complete-Until"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text))) if fmt == "csv" else [json.loads(line) for line in text.splitlines()]
    expected = _expected_export(tenant)
    assert [r["event_id"] for r in rows] == [str(e.event_id) for e in expected]
    properties = json.loads(rows[0]["properties"]) if fmt == "csv" else rows[0]["properties"]
    assert properties == expected[0].properties


def test_projects_are_isolated(dataset):
    ny, kolkata = dataset.ny, dataset.kolkata
    # A valid read key of another project is a 404, and no number of one project leaks into the other.
    response = kolkata.client().get(ny.url("top-events"))
    assert response.status_code == 404
    body = _get(kolkata, "users", limit=1000)
    assert {r["user_id"] for r in body["results"]} == {e.user_id for e in kolkata.events}
    body = _get(ny, "top-events", **{"from": FIRST_DAY, "to": LAST_DAY})
    assert sum(r["count"] for r in body["results"]) == len(oracle.in_range(ny.events, ny.tz, FIRST_DAY, LAST_DAY))


def test_both_engines_agree(tenant):
    """The benchmark's comparison engines answer the same numbers as the endpoints' engines."""
    project = tenant.project
    for interval, math in (("day", "total"), ("week", "users"), ("hour", "total")):
        args = {
            "project": project,
            "event": "pageview",
            "date_from": FROM,
            "date_to": FROM + dt.timedelta(days=9),
        }
        args |= {"interval": interval, "math": math, "key": "path"}
        raw = trends._trend_breakdown_pg(**args)
        assert engines.trend_breakdown_duckdb(**args) == raw
        if math == "total" and interval != "hour":
            del args["math"]
            assert trends._trend_breakdown_rollup(**args) == raw
    steps = ["pageview", "signup", "purchase"]
    funnel = {"project": project, "steps": steps, "date_from": FROM, "date_to": TO, "window_hours": 24}
    assert funnels.funnel_compute(**funnel) == engines.funnel_compute_postgres(**funnel)

"""generate_demo_data: exact size, the shapes the reports need, rollups built, re-runs add nothing."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from projects.models import Project

pytestmark = pytest.mark.django_db
# A fixed end: the default (this hour) could change between the two runs of the idempotence check.
END = ("--end", (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:00:00+00:00"))


def _one(sql: str, params: list) -> list:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _run(*args: str) -> str:
    out = StringIO()
    call_command("generate_demo_data", *args, stdout=out)
    return out.getvalue()


def test_demo_data_has_a_funnel_retention_decay_and_rollups():
    out = _run("--events", "6000", "--users", "400", "--days", "42", "--project", "demo-test", *END)
    project = Project.objects.get(slug="demo-test")
    assert "6000 events inserted" in out
    [(total, users, without_session)] = _one(
        "SELECT count(*), count(DISTINCT user_id), count(*) FILTER (WHERE session_id IS NULL) "
        "FROM events WHERE project_id = %s",
        [project.pk],
    )
    assert total == 6000 and 300 < users <= 400 and without_session == 0
    funnel = dict(
        _one(
            "SELECT event_name, count(DISTINCT user_id) FROM events WHERE project_id = %s "
            "AND event_name IN ('pageview', 'signup', 'activate', 'purchase') GROUP BY 1",
            [project.pk],
        )
    )
    assert funnel["pageview"] > funnel["signup"] > funnel["activate"] > funnel["purchase"] > 0
    # Of the users who arrived in the first two weeks, fewer come back in week 3 than in week 1.
    [(week1, week3)] = _one(
        """
        WITH firsts AS (SELECT user_id, min("timestamp")::date AS d0 FROM events WHERE project_id = %s GROUP BY 1),
        early AS (SELECT * FROM firsts WHERE d0 < (SELECT min(d0) FROM firsts) + 14)
        SELECT count(DISTINCT e.user_id) FILTER (WHERE e."timestamp"::date - early.d0 BETWEEN 1 AND 7),
               count(DISTINCT e.user_id) FILTER (WHERE e."timestamp"::date - early.d0 BETWEEN 15 AND 21)
        FROM events e JOIN early USING (user_id) WHERE e.project_id = %s
        """,
        [project.pk, project.pk],
    )
    assert week1 > week3 > 0
    assert _one("SELECT sum(events) FROM analytics_daily_events WHERE project_id = %s", [project.pk]) == [(6000,)]

    again = _run("--events", "6000", "--users", "400", "--days", "42", "--project", "demo-test", *END)
    assert "0 events inserted (6000 generated)" in again
    assert _one("SELECT count(*) FROM events WHERE project_id = %s", [project.pk]) == [(6000,)]


def test_demo_data_dry_run_and_bad_usage():
    assert "would generate 10 events" in _run("--events", "10", "--dry-run")
    assert not Project.objects.filter(slug="demo").exists()
    with pytest.raises(CommandError) as exc:
        _run("--events", "0")
    assert exc.value.returncode == 2

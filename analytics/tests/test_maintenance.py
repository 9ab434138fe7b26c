"""rebuild_aggregates and delete_user."""

from __future__ import annotations

import datetime as dt
import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from analytics.bitmaps import bitmap_to_int
from analytics.rollups import rollup_rebuild_days
from analytics.tests.factories import RawEventFactory, events_insert
from core.redis import get_redis
from projects.models import AuditAction, AuditEntry
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def _daily(project_id: int) -> dict:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT day, event_name, events FROM analytics_daily_events WHERE project_id = %s ORDER BY 1, 2",
            [project_id],
        )
        return {(day, name): n for day, name, n in cur.fetchall()}


def _fetch(sql: str, params: list) -> list:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


# --- rebuild_aggregates -----------------------------------------------------------------------


def test_rebuild_aggregates_builds_the_range_from_raw_events(today):
    project = ProjectFactory()
    d1, d2 = today - dt.timedelta(days=3), today - dt.timedelta(days=2)
    events_insert(
        RawEventFactory.build_batch(3, project_id=project.pk, timestamp=_at(d1))
        + RawEventFactory.build_batch(2, project_id=project.pk, timestamp=_at(d2), event_name="signup")
    )
    out = _run("rebuild_aggregates", "--project", project.slug, "--from", str(d1), "--to", str(today))
    assert "rebuilt 4 days" in out and "rebuilt 4/4 days" in out
    assert _daily(project.pk) == {(d1, "pageview"): 3, (d2, "signup"): 2}
    _run("rebuild_aggregates", "--project", project.slug, "--from", str(d1), "--to", str(today))
    assert _daily(project.pk) == {(d1, "pageview"): 3, (d2, "signup"): 2}  # idempotent
    assert AuditEntry.objects.filter(action=AuditAction.AGGREGATES_REBUILT, project=project).count() == 2


def test_rebuild_aggregates_dry_run_and_days_past_raw_retention(today):
    project = ProjectFactory(raw_retention_days=30)
    old = today - dt.timedelta(days=40)
    with connection.cursor() as cur:  # all that is left of a day whose raw events expired
        cur.execute("INSERT INTO analytics_daily_events VALUES (%s, %s, 'pageview', 'web', 42)", [project.pk, old])
    out = _run("rebuild_aggregates", "--project", project.slug, "--from", str(old), "--to", str(today), "--dry-run")
    assert "would rebuild 41 days" in out, "until retention runs, old raw events are there to rebuild from"
    _run("enforce_retention")
    out = _run("rebuild_aggregates", "--project", project.slug, "--from", str(old), "--to", str(today), "--dry-run")
    assert "would rebuild 30 days" in out and "skipping 11 days" in out
    _run("rebuild_aggregates", "--project", project.slug, "--from", str(old), "--to", str(today))
    assert _daily(project.pk) == {(old, "pageview"): 42}


@pytest.mark.parametrize(
    "args",
    [
        ["--project", "nope", "--from", "2024-01-01", "--to", "2024-01-02"],
        ["--project", "{slug}", "--from", "2024-01-03", "--to", "2024-01-02"],
        ["--project", "{slug}", "--from", "yesterday", "--to", "2024-01-02"],
    ],
)
def test_rebuild_aggregates_bad_usage_exits_2(args):
    project = ProjectFactory()
    with pytest.raises(CommandError) as exc:
        _run("rebuild_aggregates", *(a.format(slug=project.slug) for a in args))
    assert exc.value.returncode == 2


def test_missing_required_option_is_usage_error_too():
    with pytest.raises(CommandError):
        _run("rebuild_aggregates", "--from", "2024-01-01")


# --- delete_user ------------------------------------------------------------------------------


@pytest.fixture
def erasure_case(today):
    """Two users on two recent days, and an older day whose raw events retention already removed."""
    project = ProjectFactory(raw_retention_days=30)
    other = ProjectFactory()
    old, d1, d2 = today - dt.timedelta(days=45), today - dt.timedelta(days=5), today - dt.timedelta(days=4)
    events = []
    for day in (old, d1, d2):
        events += RawEventFactory.build_batch(2, project_id=project.pk, user_id="alice", timestamp=_at(day))
        events += RawEventFactory.build_batch(1, project_id=project.pk, user_id="bob", timestamp=_at(day, 13))
    events += RawEventFactory.build_batch(2, project_id=other.pk, user_id="alice", timestamp=_at(d1))
    events_insert(events)
    rollup_rebuild_days(project_id=project.pk, tz_name="UTC", days=[old, d1, d2])
    rollup_rebuild_days(project_id=other.pk, tz_name="UTC", days=[d1])
    with connection.cursor() as cur:  # retention has since removed the old day's raw events
        cur.execute('DELETE FROM events WHERE project_id = %s AND "timestamp" < %s', [project.pk, _at(d1, 0)])
    return project, other, old, d1, d2


def test_delete_user_removes_raw_rollups_and_dictionary_and_rebuilds(erasure_case):
    project, other, old, d1, d2 = erasure_case
    get_redis().hset("eb:sess:0", f"{project.pk}:alice", "sid 1")
    [(alice_key,)] = _fetch(
        "SELECT user_key FROM analytics_user WHERE project_id = %s AND user_id = 'alice'", [project.pk]
    )
    out = _run("delete_user", "--project", project.slug, "--user-id", "alice")
    assert "erased 4 raw events in 2 partitions" in out

    assert _fetch("SELECT count(*) FROM events WHERE project_id = %s AND user_id = 'alice'", [project.pk]) == [(0,)]
    assert _fetch("SELECT count(*) FROM events WHERE project_id = %s AND user_id = 'bob'", [project.pk]) == [(2,)]
    assert _fetch("SELECT count(*) FROM analytics_user WHERE project_id = %s AND user_id = 'alice'", [project.pk]) == [
        (0,)
    ]
    assert _fetch(
        "SELECT count(*) FROM analytics_user_day WHERE project_id = %s AND user_key = %s", [project.pk, alice_key]
    ) == [(0,)]
    # Recent days are rebuilt from what remains: bob's one event a day.
    assert _daily(project.pk) == {(old, "pageview"): 3, (d1, "pageview"): 1, (d2, "pageview"): 1}
    # The old day keeps its counts (no raw events to rebuild from) but no longer names alice.
    for users, count in _fetch(
        "SELECT users, user_count FROM analytics_day_users WHERE project_id = %s AND day = %s", [project.pk, old]
    ):
        assert not bitmap_to_int(users) >> alice_key & 1
        assert count == 1
    # Another project's user of the same id is someone else: untouched.
    assert _fetch("SELECT count(*) FROM events WHERE project_id = %s AND user_id = 'alice'", [other.pk]) == [(2,)]
    assert not get_redis().hexists("eb:sess:0", f"{project.pk}:alice")
    entry = AuditEntry.objects.get(action=AuditAction.USER_DELETED)
    assert entry.project == project and entry.details["raw_events"] == 4
    assert entry.details["user_id_sha256"] == hashlib.sha256(b"alice").hexdigest()
    assert "alice" not in str(entry.details)


def test_delete_user_dry_run_only_counts(erasure_case):
    project, _other, _old, _d1, _d2 = erasure_case
    before = _daily(project.pk)
    out = _run("delete_user", "--project", project.slug, "--user-id", "alice", "--dry-run")
    assert "would erase 4 raw events in 2 partitions, 3 per-user rollup rows, 6 day bitmaps" in out
    assert _fetch("SELECT count(*) FROM events WHERE project_id = %s AND user_id = 'alice'", [project.pk]) == [(4,)]
    assert _daily(project.pk) == before
    assert not AuditEntry.objects.filter(action=AuditAction.USER_DELETED).exists()


def test_delete_user_unknown_project_is_usage_error():
    with pytest.raises(CommandError) as exc:
        _run("delete_user", "--project", "missing", "--user-id", "x")
    assert exc.value.returncode == 2


def test_delete_user_fails_with_1_when_redis_is_down():
    project = ProjectFactory()
    get_redis.cache_clear()
    try:
        with override_settings(REDIS_URL="redis://127.0.0.1:1/0"), pytest.raises(CommandError) as exc:
            _run("delete_user", "--project", project.slug, "--user-id", "x")
    finally:
        get_redis.cache_clear()
    assert exc.value.returncode == 1 and "ConnectionError" in str(exc.value)

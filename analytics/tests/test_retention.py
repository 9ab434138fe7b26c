"""enforce_retention: whole partitions only when every project allows it, otherwise per project."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import duckdb
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from analytics.retention import retention_archive_dirs
from analytics.tests.conftest import partition_exists, rows_by_project
from analytics.tests.factories import RawEventFactory, events_delete, events_insert
from projects.models import AuditAction, AuditEntry
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


@pytest.fixture
def two_projects(today):
    """A keeps raw events 30 days, B 90; each has events 100, 60 and 10 days ago."""
    a = ProjectFactory(raw_retention_days=30, aggregate_retention_days=365)
    b = ProjectFactory(raw_retention_days=90, aggregate_retention_days=1000)
    days = {
        "old": today - dt.timedelta(days=100),
        "mid": today - dt.timedelta(days=60),
        "young": today - dt.timedelta(days=10),
    }
    events = []
    for project, per_day in ((a, 3), (b, 2)):
        for day in days.values():
            events += RawEventFactory.build_batch(per_day, project_id=project.pk, timestamp=_at(day))
    events_insert(events)
    with connection.cursor() as cur:
        for project in (a, b):
            for day in (today - dt.timedelta(days=800), today - dt.timedelta(days=10)):
                cur.execute(
                    "INSERT INTO analytics_daily_events (project_id, day, event_name, source, events) "
                    "VALUES (%s, %s, 'pageview', 'web', 1)",
                    [project.pk, day],
                )
    return a, b, days


def _run(*args: str) -> str:
    out = StringIO()
    call_command("enforce_retention", *args, stdout=out)
    return out.getvalue()


def _rollup_days(project_id: int) -> list[int]:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM analytics_daily_events WHERE project_id = %s", [project_id])
        return cur.fetchone()[0]


def test_retention_drops_only_partitions_every_project_let_go(two_projects):
    a, b, days = two_projects
    output = _run()
    # 100 days ago: older than both retentions -> the whole partition is dropped.
    assert not partition_exists(days["old"])
    # 60 days ago: A's rows are gone, B's (90 days) are untouched, and so is the partition.
    assert rows_by_project(days["mid"]) == {b.pk: 2}
    # 10 days ago: younger than both: nothing touched.
    assert rows_by_project(days["young"]) == {a.pk: 3, b.pk: 2}
    # Rollups: A keeps 365 days, B 1000.
    assert _rollup_days(a.pk) == 1 and _rollup_days(b.pk) == 2
    assert "removed 8 raw events (1 partitions dropped) and 1 rollup rows" in output
    entry = AuditEntry.objects.get(action=AuditAction.RETENTION_RUN)
    assert entry.details["rows_deleted"] == {a.slug: 6, b.slug: 2}
    assert entry.actor == "command"
    # Idempotent: a second run finds nothing to do.
    assert "removed 0 raw events (0 partitions dropped) and 0 rollup rows" in _run()


def test_retention_dry_run_changes_nothing(two_projects):
    a, b, days = two_projects
    output = _run("--dry-run")
    assert "would drop events_p" in output and f"would delete 3 rows of {a.slug}" in output
    assert "would remove 8 raw events" in output
    assert rows_by_project(days["old"]) == {a.pk: 3, b.pk: 2}
    assert rows_by_project(days["mid"]) == {a.pk: 3, b.pk: 2}
    assert _rollup_days(a.pk) == 2
    assert not AuditEntry.objects.filter(action=AuditAction.RETENTION_RUN).exists()


def test_retention_deletes_in_chunks_with_progress(two_projects, monkeypatch):
    from analytics import retention

    _a, b, days = two_projects
    monkeypatch.setattr(retention, "DELETE_CHUNK", 2)
    output = _run()
    assert rows_by_project(days["mid"]) == {b.pk: 2}
    assert "rows deleted so far" in output


def test_retention_with_no_project_does_nothing(today):
    events_insert([RawEventFactory.build(project_id=999_999, timestamp=_at(today - dt.timedelta(days=400)))])
    _run()
    assert partition_exists(today - dt.timedelta(days=400))


@pytest.mark.parametrize(("args", "fragment"), [(["--today", "june"], "not a date")])
def test_retention_bad_usage_exits_2(args, fragment):
    with pytest.raises(CommandError) as exc:
        _run(*args)
    assert exc.value.returncode == 2 and fragment in str(exc.value)


def test_retention_archive_must_be_a_folder(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(CommandError) as exc:
        _run("--archive", str(target))
    assert exc.value.returncode == 2


@pytest.mark.django_db(transaction=True)  # DuckDB reads through its own connection: rows must be committed
def test_retention_archives_to_parquet_that_duckdb_reads_back(tmp_path, today):
    from events.duck import duckdb_reset

    project = ProjectFactory(raw_retention_days=30)
    day = today - dt.timedelta(days=45)
    events = RawEventFactory.build_batch(
        4, project_id=project.pk, timestamp=_at(day), properties={"plan": "pro", "n": 1}, event_name="signup"
    )
    try:
        events_insert(events)
        _run("--archive", str(tmp_path))
        assert not rows_by_project(day).get(project.pk)
        # An erasure reports this folder as holding events it cannot reach.
        assert retention_archive_dirs() == [str(tmp_path.resolve())]
        files = list(tmp_path.glob("events/day=*/project_id=*/data.parquet"))
        assert files, "nothing archived"
        table = (
            duckdb.connect()
            .execute(
                f"SELECT project_id, day, event_id::text, event_name, user_id, properties->>'plan' "
                f"FROM read_parquet('{tmp_path}/events/**/*.parquet', hive_partitioning = true) "
                f"WHERE project_id = {project.pk} ORDER BY event_id"
            )
            .fetchall()
        )
        assert sorted(str(e.event_id) for e in events) == [row[2] for row in table]
        assert {(row[0], str(row[1]), row[3], row[5]) for row in table} == {
            (project.pk, day.isoformat(), "signup", "pro")
        }
    finally:
        duckdb_reset()
        events_delete([project.pk])


@pytest.mark.django_db
def test_late_event_for_a_day_past_raw_retention_does_not_rebuild_its_aggregates():
    from analytics.models import DailyEventCount
    from analytics.rollups import rollups_process_dirty
    from events.dirty import rollups_mark_dirty
    from projects.tests.factories import ProjectFactory

    project = ProjectFactory(raw_retention_days=30)
    old = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=200)
    DailyEventCount.objects.create(project_id=project.pk, day=old, event_name="kept", source="api", events=500)
    call_command("enforce_retention", stdout=StringIO())
    rollups_mark_dirty(touched={project.pk: {old}})
    rollups_process_dirty()
    assert DailyEventCount.objects.get(project_id=project.pk, day=old).events == 500

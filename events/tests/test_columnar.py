"""The columnar tier answers exactly what PostgreSQL holds: files for unchanged days, PostgreSQL for
days changed since their file was written, and nothing of a forgotten day."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import duckdb
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from analytics.query.filters import filters_parse
from analytics.query.series import Breakdown, series_counts
from analytics.query.source import EventScope
from analytics.tests.factories import RawEventFactory, events_delete, events_insert, touched_days
from events.columnar import columnar_clean_days, columnar_forget, columnar_path, columnar_write_dirty
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)  # DuckDB reads committed rows only

DAY = dt.date(2025, 5, 10)
UTC = zoneinfo.ZoneInfo("UTC")


def _at(day_offset: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(DAY + dt.timedelta(days=day_offset), dt.time(hour), tzinfo=dt.UTC)


def _daily_totals(project_id: int) -> dict[dt.date, int]:
    scope = EventScope(project_id, UTC, DAY, DAY + dt.timedelta(days=2))
    return {day: n for day, _, n in series_counts(scope, math="total", interval="day")}


@pytest.fixture
def project():
    duckdb_reset()
    project = ProjectFactory(timezone="UTC")
    yield project
    events_delete([project.pk])
    with transaction.atomic():
        columnar_forget(project_id=project.pk)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events_columnar_dirty WHERE project_id = %s", [project.pk])
    duckdb_reset()


def _store(events) -> None:
    events_insert(events)
    rollups_mark_dirty(touched=touched_days(events))


def test_files_then_a_late_event_then_rewritten(project):
    events = [RawEventFactory(project_id=project.pk, timestamp=_at(d, h)) for d in range(3) for h in (1, 9, 23)]
    _store(events)
    assert _daily_totals(project.pk) == {DAY + dt.timedelta(days=d): 3 for d in range(3)}  # all from PostgreSQL
    assert columnar_write_dirty(max_days=10, settle_seconds=0) == 3
    days = {DAY + dt.timedelta(days=d) for d in range(3)}
    assert set(columnar_clean_days(project_id=project.pk, first=DAY, last=DAY + dt.timedelta(days=2))) == days
    assert all(columnar_path(project.pk, day).exists() for day in days)
    assert _daily_totals(project.pk) == {day: 3 for day in days}  # all from the files

    _store([RawEventFactory(project_id=project.pk, timestamp=_at(1, 12))])  # late, for the middle day
    assert set(columnar_clean_days(project_id=project.pk, first=DAY, last=DAY + dt.timedelta(days=2))) == days - {
        DAY + dt.timedelta(days=1)
    }
    expected = {DAY: 3, DAY + dt.timedelta(days=1): 4, DAY + dt.timedelta(days=2): 3}
    assert _daily_totals(project.pk) == expected  # the middle day from PostgreSQL, the others from files
    assert columnar_write_dirty(max_days=10, settle_seconds=0) == 1
    assert _daily_totals(project.pk) == expected


def test_forgotten_days_are_read_from_postgresql_and_their_files_deleted(project):
    events = [RawEventFactory(project_id=project.pk, timestamp=_at(0, h)) for h in (2, 4)]
    _store(events)
    columnar_write_dirty(max_days=10, settle_seconds=0)
    path = columnar_path(project.pk, DAY)
    assert path.exists()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events WHERE project_id = %s AND event_id = %s", [project.pk, events[0].event_id])
    with transaction.atomic():
        assert columnar_forget(project_id=project.pk, days=[DAY]) == 1
        assert path.exists()  # until the transaction commits
    assert not path.exists()
    assert _daily_totals(project.pk) == {DAY: 1}


def test_a_lost_file_is_read_from_postgresql(project):
    _store([RawEventFactory(project_id=project.pk, timestamp=_at(0, h)) for h in (2, 4)])
    columnar_write_dirty(max_days=10, settle_seconds=0)
    columnar_path(project.pk, DAY).unlink()
    assert _daily_totals(project.pk) == {DAY: 2}


def test_a_day_still_changing_waits(project):
    _store([RawEventFactory(project_id=project.pk, timestamp=_at(0, 2))])
    assert columnar_write_dirty(max_days=10, settle_seconds=3600) == 0
    assert columnar_write_dirty(max_days=10, settle_seconds=0) == 1


# Values whose text or number could come out differently from a typed column than from the JSON.
TRICKY = [
    {"k": 5},
    {"k": 5.0},
    {"k": "5"},
    {"k": "05"},
    {"k": True},
    {"k": None},
    {},
    {"k": {"a": 1}},
    {"k": [1, "2"]},
    {"k": "nan"},
    {"k": "1e3"},
    {"k": -0.5},
    {"k": "ünï"},
    {'we"ird.key': "x", "k": 7},
]
QUESTIONS = [
    ({"type": "event", "key": "k", "operator": "exact", "value": ["5", "true"]}, None),
    ({"type": "event", "key": "k", "operator": "gt", "value": 4}, None),
    ({"type": "event", "key": "k", "operator": "lte", "value": 5}, "sum"),
    ({"type": "event", "key": "k", "operator": "is_not_set"}, None),
    ({"type": "event", "key": "k", "operator": "regex", "value": "^[0-9]"}, None),
    ({"type": "event", "key": "k", "operator": "not_icontains", "value": "Ü"}, None),
    ({"type": "event", "key": 'we"ird.key', "operator": "exact", "value": "x"}, None),
]


def _answers(project_id: int) -> list:
    scope = EventScope(project_id, UTC, DAY, DAY)
    answers = [
        sorted(series_counts(scope, math="total", interval="day", breakdown=Breakdown("event", "k")), key=str),
        series_counts(scope, math="p90", interval="day", math_property="k"),
    ]
    for raw, math in QUESTIONS:
        filtered = EventScope(project_id, UTC, DAY, DAY, filters=filters_parse([raw]))
        answers.append(series_counts(filtered, math=math or "total", interval="day", math_property="k"))
    return answers


def test_typed_columns_answer_as_the_json_does(project, settings):
    _store(
        [RawEventFactory(project_id=project.pk, timestamp=_at(0, 1 + i), properties=p) for i, p in enumerate(TRICKY)]
    )
    from_postgresql = _answers(project.pk)
    assert from_postgresql[2] == [(DAY, None, 3)]  # exact "5" or "true": 5, "5" and true (5.0 is "5.0")
    assert from_postgresql[3] == [(DAY, None, 6)]  # k > 4: 5, 5.0, "5", "05", "1e3" and 7; not "nan"
    columnar_write_dirty(max_days=10, settle_seconds=0)
    (keys,) = columnar_clean_days(project_id=project.pk, first=DAY, last=DAY).values()
    assert keys == {"k", 'we"ird.key'}
    schema = duckdb.sql(f"DESCRIBE SELECT * FROM '{columnar_path(project.pk, DAY)}'").fetchall()
    assert {(name, kind) for name, kind, *_ in schema} >= {("p:k", "VARCHAR"), ("n:k", "DOUBLE")}
    assert _answers(project.pk) == from_postgresql

    # Files with fewer typed keys than a question reads: the rest comes from the JSON.
    settings.EVENTBASE = {**settings.EVENTBASE, "COLUMNAR_PROPERTY_KEYS": 1}
    rollups_mark_dirty(touched=touched_days([RawEventFactory(project_id=project.pk, timestamp=_at(0, 1))]))
    columnar_write_dirty(max_days=10, settle_seconds=0)
    assert columnar_clean_days(project_id=project.pk, first=DAY, last=DAY) == {DAY: frozenset({"k"})}
    assert _answers(project.pk) == from_postgresql


def test_files_of_an_older_layout_are_rewritten_when_nothing_is_marked(project):
    _store([RawEventFactory(project_id=project.pk, timestamp=_at(d, 3), properties={"plan": "pro"}) for d in (0, 1)])
    columnar_write_dirty(max_days=10, settle_seconds=0)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE events_columnar_day SET layout = 1, property_keys = '{}' WHERE project_id = %s", [project.pk]
        )
    assert columnar_write_dirty(max_days=1, settle_seconds=0) == 1  # the newest day first
    # A file of an older layout lacks columns queries read: its day is read from PostgreSQL meanwhile.
    assert columnar_clean_days(project_id=project.pk, first=DAY, last=DAY + dt.timedelta(days=1)) == {
        DAY + dt.timedelta(days=1): frozenset({"plan"}),
    }
    assert columnar_write_dirty(max_days=10, settle_seconds=0) == 1
    assert set(columnar_clean_days(project_id=project.pk, first=DAY, last=DAY + dt.timedelta(days=1))) == {
        DAY,
        DAY + dt.timedelta(days=1),
    }
    assert columnar_write_dirty(max_days=10, settle_seconds=0) == 0


def test_the_command_writes_days_stored_without_a_marker_and_rewrites_all(project):
    events = [RawEventFactory(project_id=project.pk, timestamp=_at(d, 3), properties={"plan": "pro"}) for d in (0, 1)]
    events_insert(events)  # as a bulk load would: no marker
    out = io.StringIO()
    call_command("columnar_write", "--missing", "--dry-run", "--project", project.slug, stdout=out)
    assert "would write 2 days" in out.getvalue()
    assert not columnar_path(project.pk, DAY).exists()
    call_command("columnar_write", "--missing", "--project", project.slug, stdout=io.StringIO())
    assert set(columnar_clean_days(project_id=project.pk, first=DAY, last=DAY + dt.timedelta(days=1))) == {
        DAY,
        DAY + dt.timedelta(days=1),
    }
    written_at = columnar_path(project.pk, DAY).stat().st_mtime_ns
    out = io.StringIO()
    call_command("columnar_write", "--missing", "--project", project.slug, stdout=out)
    assert "wrote 0 days" in out.getvalue()
    call_command("columnar_write", "--all", "--project", project.slug, stdout=out)
    assert "wrote 2 days" in out.getvalue()
    assert columnar_path(project.pk, DAY).stat().st_mtime_ns > written_at
    with pytest.raises(CommandError, match="--project goes with"):
        call_command("columnar_write", "--project", project.slug)

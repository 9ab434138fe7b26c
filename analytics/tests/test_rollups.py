import datetime as dt
import json

import pytest
from django.db import connection
from django.utils import timezone
from django_rq import get_queue, get_worker
from psycopg import sql
from rq.worker import SimpleWorker

from analytics.models import (
    DailyEventCount,
    DailyPropertyCount,
    FillState,
    PropertyRollupGap,
    TrackedUser,
    UserDay,
)
from analytics.registry import DERIVED_TABLES
from analytics.rollups import (
    EPOCH,
    _claim_chunk,
    rollup_rebuild_days,
    rollups_catch_up,
    rollups_process_dirty,
    rollups_watermark,
)
from analytics.tests.factories import RawEventFactory, events_insert, touched_days
from config.jobs_registry import PERIODIC_JOBS
from core import days as daysmod
from events.dirty import rollups_mark_dirty
from events.duck import EXTENSION_NAME, duckdb_cursor, extension_path, libpq_dsn
from events.models import ColumnarDay, ColumnarDirtyDay, RollupDirtyDay
from projects.tests.factories import ProjectFactory
from reporting.queries import trends

pytestmark = pytest.mark.django_db

NY = "America/New_York"
# The fixed 2024 dates (a known DST change) are older than the default raw retention, and the
# rollup job skips days retention has removed: test projects keep raw events long enough.
KEEP = 10 * 365


def _snapshot(project_id: int) -> dict:
    """Every derived row of the project (the registry's tables but the rebuild queue itself)."""
    out = {}
    with connection.cursor() as cur:
        for table in DERIVED_TABLES:
            if table.model is RollupDirtyDay:
                continue
            cols = [sql.Identifier(f.column) for f in table.model._meta.concrete_fields if f.column != "project_id"]
            cur.execute(
                sql.SQL("SELECT {cols} FROM {table} WHERE project_id = %s ORDER BY {order}").format(
                    cols=sql.SQL(", ").join(cols),
                    table=table.identifier,
                    order=sql.SQL(", ").join(sql.Literal(n) for n in range(1, len(cols) + 1)),
                ),
                [project_id],
            )
            out[table.name] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cur]
    return out


def _at(day: str, hhmm: str, tz: str = "UTC") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=daysmod.zone(tz))


def test_mark_dirty_is_one_append_only_statement(django_assert_num_queries):
    touched = {1: {dt.date(2024, 1, 2), dt.date(2024, 1, 1)}, 2: {dt.date(2024, 1, 1)}}
    with django_assert_num_queries(1):
        rollups_mark_dirty(touched=touched)
    rollups_mark_dirty(touched=touched)
    rollups_mark_dirty(touched={})
    # Markers are append-only (a flush never waits on a lock); repeats are consumed together.
    assert RollupDirtyDay.objects.count() == 6
    assert RollupDirtyDay.objects.values("project_id", "utc_date").distinct().count() == 3


def test_utc_date_maps_to_local_days():
    tz = daysmod.zone(NY)
    assert daysmod.local_days_of_utc_date(dt.date(2024, 3, 10), tz) == {
        dt.date(2024, 3, 9),
        dt.date(2024, 3, 10),
    }
    assert daysmod.local_days_of_utc_date(dt.date(2024, 3, 10), daysmod.zone("UTC")) == {dt.date(2024, 3, 10)}
    start, end = daysmod.local_day_bounds(dt.date(2024, 3, 10), tz)
    assert end - start == dt.timedelta(hours=23)  # the DST day is short


def test_event_after_utc_midnight_lands_on_the_previous_local_day():
    project = ProjectFactory(timezone=NY, raw_retention_days=KEEP)
    # 02:00 UTC on March 5 is 21:00 on March 4 in New York.
    events = [RawEventFactory(project_id=project.pk, user_id="a", timestamp=_at("2024-03-05", "02:00"))]
    events_insert(events)
    rollups_mark_dirty(touched=touched_days(events))
    run = rollups_process_dirty()
    assert run.markers == 1 and run.local_days == 2
    assert list(DailyEventCount.objects.filter(project_id=project.pk).values_list("day", "events")) == [
        (dt.date(2024, 3, 4), 1)
    ]


def test_rebuild_is_idempotent_and_late_events_correct_the_past():
    project = ProjectFactory(timezone=NY, raw_retention_days=KEEP)
    base = [
        RawEventFactory(project_id=project.pk, user_id=u, event_name=n, timestamp=_at("2024-03-01", t, NY))
        for u, n, t in [("a", "view", "10:00"), ("b", "view", "11:00"), ("a", "buy", "23:30")]
    ]
    events_insert(base)
    rollups_mark_dirty(touched=touched_days(base))
    rollups_process_dirty()
    first = _snapshot(project.pk)
    rollup_rebuild_days(project_id=project.pk, tz_name=NY, days=[dt.date(2024, 3, 1)])
    assert _snapshot(project.pk) == first

    # A late event for that day, from a user first seen later, moves first_seen back.
    later = [RawEventFactory(project_id=project.pk, user_id="c", timestamp=_at("2024-03-03", "09:00", NY))]
    late = [RawEventFactory(project_id=project.pk, user_id="c", timestamp=_at("2024-03-01", "12:00", NY))]
    for batch in (later, late):
        events_insert(batch)
        rollups_mark_dirty(touched=touched_days(batch))
        rollups_process_dirty()
    day = UserDay.objects.filter(project_id=project.pk, day=dt.date(2024, 3, 1))
    assert day.count() == 3
    c = TrackedUser.objects.get(project_id=project.pk, user_id="c")
    assert c.first_seen == late[0].timestamp and c.last_seen == later[0].timestamp
    # Dense keys in arrival order: a bitmap of 3 users is one byte.
    assert sorted(TrackedUser.objects.filter(project_id=project.pk).values_list("user_key", flat=True)) == [
        1,
        2,
        3,
    ]


def test_watermark_advances_only_when_everything_is_aggregated(monkeypatch):
    assert rollups_watermark() == EPOCH
    project = ProjectFactory(raw_retention_days=KEEP)
    flushed = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    monkeypatch.setattr("analytics.rollups.flushed_until", lambda: flushed)  # as rollups imports it
    rollups_mark_dirty(touched={project.pk: {dt.date(2024, 1, 1)}})
    # A run that runs out of time leaves the marker: the watermark must not move.
    assert rollups_process_dirty(time_budget_s=0).watermark is None
    assert rollups_watermark() == EPOCH
    assert rollups_process_dirty().watermark == flushed
    assert rollups_watermark() == flushed
    assert FillState.objects.get(name="rollups").state == FillState.DONE


def test_markers_of_a_deleted_project_are_dropped():
    rollups_mark_dirty(touched={999_999: {dt.date(2024, 1, 1)}})
    assert rollups_process_dirty().markers == 1
    assert not RollupDirtyDay.objects.exists()


def test_catch_up_marks_closed_partitions_once():
    project = ProjectFactory(raw_retention_days=KEEP)
    events = [
        RawEventFactory(project_id=project.pk, timestamp=_at(day, "12:00")) for day in ("2024-01-01", "2024-01-03")
    ]
    events_insert(events)
    RollupDirtyDay.objects.all().delete()
    rollups_catch_up(max_days=1000, today=dt.date(2024, 1, 4))
    marked = set(RollupDirtyDay.objects.filter(project_id=project.pk).values_list("utc_date", flat=True))
    assert marked == {dt.date(2024, 1, 1), dt.date(2024, 1, 3)}
    RollupDirtyDay.objects.all().delete()
    rollups_catch_up(max_days=1000, today=dt.date(2024, 1, 4))
    assert not RollupDirtyDay.objects.filter(project_id=project.pk).exists()


def test_a_run_takes_only_the_markers_that_existed_when_it_began():
    """Under steady ingestion today is marked every flush: a run must not chase those."""
    project = ProjectFactory(raw_retention_days=KEEP)
    rollups_mark_dirty(touched={project.pk: {dt.date(2024, 1, 1)}})
    up_to = RollupDirtyDay.objects.order_by("-id").values_list("id", flat=True).first()
    rollups_mark_dirty(touched={project.pk: {dt.date(2024, 1, 2)}})  # a flush during the run
    with connection.cursor() as cur:
        assert _claim_chunk(cur, chunk=7, up_to=up_to) == [(project.pk, dt.date(2024, 1, 1))]
        assert _claim_chunk(cur, chunk=7, up_to=up_to) == []
    assert list(RollupDirtyDay.objects.filter(project_id=project.pk).values_list("utc_date", flat=True)) == [
        dt.date(2024, 1, 2)
    ]


def test_catch_up_marks_days_without_a_columnar_file():
    project = ProjectFactory(raw_retention_days=KEEP)
    days = [dt.date(2024, 1, 1), dt.date(2024, 1, 3)]
    events_insert([RawEventFactory(project_id=project.pk, timestamp=_at(day.isoformat(), "12:00")) for day in days])
    ColumnarDay.objects.create(project_id=project.pk, utc_date=days[0], rows=1, written_at=timezone.now(), layout=2)
    rollups_catch_up(max_days=1000, today=dt.date(2024, 1, 4))
    marked = set(ColumnarDirtyDay.objects.filter(project_id=project.pk).values_list("utc_date", flat=True))
    assert marked == {days[1]}  # the day with a file is current: its events never changed unmarked


def test_rollup_job_runs_from_the_queue(django_capture_on_commit_callbacks):
    from analytics.jobs import rebuild_dirty_rollups

    project = ProjectFactory(raw_retention_days=KEEP)
    events = [RawEventFactory(project_id=project.pk, timestamp=_at("2024-02-02", "08:00"))]
    events_insert(events)
    # The flush would pass this through Redis; it must survive JSON.
    touched = json.loads(json.dumps({str(k): [d.isoformat() for d in v] for k, v in touched_days(events).items()}))
    rollups_mark_dirty(touched={int(k): {dt.date.fromisoformat(d) for d in v} for k, v in touched.items()})
    with django_capture_on_commit_callbacks(execute=True):
        get_queue("rollups").enqueue(rebuild_dirty_rollups)
    get_worker("rollups", worker_class=SimpleWorker).work(burst=True)
    assert DailyEventCount.objects.filter(project_id=project.pk).count() == 1
    assert {j.func.__name__ for j in PERIODIC_JOBS} >= {"rebuild_dirty_rollups", "catch_up_rollups"}


def test_duckdb_extension_installed_under_the_expected_name():
    path = extension_path()
    assert path.name == f"{EXTENSION_NAME}.duckdb_extension"
    loaded = (
        duckdb_cursor()
        .execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = ?", [EXTENSION_NAME])
        .fetchone()
    )
    assert loaded == (True,)


def test_libpq_dsn_from_a_unix_socket_url():
    import dj_database_url

    db = dj_database_url.parse("postgresql://postgres@/eventbase?host=/tmp/x y/run")
    assert libpq_dsn(db) == "dbname='eventbase' user='postgres' host='/tmp/x y/run'"
    db = dj_database_url.parse("postgresql://u:p%27w@db.example:6543/ev?sslmode=require")
    assert libpq_dsn(db) == "dbname='ev' user='u' password='p\\'w' host='db.example' port='6543' sslmode='require'"


def test_property_rollup_and_gap_fall_back_to_raw(monkeypatch):
    monkeypatch.setattr("analytics.rollups.PROPERTY_VALUES_CAP", 2)
    project = ProjectFactory(raw_retention_days=KEEP)
    rows = [("a", "x"), ("b", "x"), ("c", None), ("d", "y")]
    events = [
        RawEventFactory(
            project_id=project.pk,
            user_id=u,
            timestamp=_at("2024-05-01", "10:00"),
            properties={"plan": plan, "browser": plan or "z", "k": 1} if plan else {"k": 1},
        )
        for u, plan in rows
    ] + [
        RawEventFactory(project_id=project.pk, timestamp=_at("2024-05-02", "10:00"), properties={"browser": b})
        for b in ("p", "q", "r")
    ]
    events_insert(events)
    rollups_mark_dirty(touched=touched_days(events))
    rollups_process_dirty()
    args = {"project": project, "event": "pageview", "interval": "day"}
    day1 = {"date_from": dt.date(2024, 5, 1), "date_to": dt.date(2024, 5, 1)}
    both = {"date_from": dt.date(2024, 5, 1), "date_to": dt.date(2024, 5, 2)}
    # plan has 2 values on May 1 (within the cap) and the event without it counts as "(none)".
    rolled = trends._trend_breakdown_rollup(**args, **day1, key="plan")
    assert rolled == {
        "x": {dt.date(2024, 5, 1): 2},
        "(none)": {dt.date(2024, 5, 1): 1},
        "y": {dt.date(2024, 5, 1): 1},
    }
    assert rolled == trends._trend_breakdown_pg(**args, **day1, math="total", key="plan")
    # browser has 3 values on May 2: a gap, so the range falls back to the raw query.
    assert trends._trend_breakdown_rollup(**args, **both, key="browser") is None
    series = trends.trends_series(**args, **both, math="total", breakdown="browser")
    assert sum(point["value"] for s in series for point in s["data"]) == len(events)


def test_person_data_is_never_rolled_up_as_values():
    """Emails in $set, linked ids: only gaps, so no rollup keeps them past an erasure or raw retention."""
    project = ProjectFactory(raw_retention_days=KEEP)
    identify = {"plan": "pro", "$set": {"email": "a@example.com"}, "$anon_distinct_id": "anon-1"}
    events = [
        RawEventFactory(
            project_id=project.pk, event_name="$identify", timestamp=_at("2024-05-01", "10:00"), properties=p
        )
        for p in (identify, {"plan": "pro", "$set_once": {"name": "A"}, "$anonymous_id": "anon-2", "alias": "x"})
    ]
    events_insert(events)
    rollup_rebuild_days(project_id=project.pk, tz_name="UTC", days=[dt.date(2024, 5, 1)])
    values = DailyPropertyCount.objects.filter(project_id=project.pk)
    assert sorted(values.values_list("key", "value", "events")) == [("plan", "pro", 2)]
    gaps = PropertyRollupGap.objects.filter(project_id=project.pk).values_list("key", flat=True)
    assert sorted(gaps) == sorted(["$set", "$set_once", "$anon_distinct_id", "$anonymous_id", "alias"])
    # A breakdown on such a key still answers, from raw events.
    args = {"project": project, "event": "$identify", "interval": "day", "date_from": dt.date(2024, 5, 1)}
    assert trends._trend_breakdown_rollup(**args, date_to=dt.date(2024, 5, 1), key="$set") is None
    series = trends.trends_series(**args, date_to=dt.date(2024, 5, 1), math="total", breakdown="$set")
    assert sum(point["value"] for s in series for point in s["data"]) == 2

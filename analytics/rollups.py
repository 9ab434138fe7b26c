"""Rollups: per project, per LOCAL day aggregates of the raw ``events`` table.

How a day gets (re)built
    The ingestion flush calls ``rollups_mark_dirty`` inside each batch's transaction with the
    UTC dates it touched; that is one plain ``INSERT`` into the append-only
    ``analytics_dirty_day`` (no unique key, so it never waits on a lock). The periodic job
    ``rollups_process_dirty`` locks markers with ``FOR UPDATE SKIP LOCKED`` and, in ONE
    transaction per chunk, deletes exactly those markers and rebuilds every local day they overlap
    (a UTC date overlaps up to two local days) by deleting that day's rollup rows and
    re-inserting them from raw events. Rebuilding is therefore idempotent, late events correct
    the past day they belong to, and a crash mid-way rolls back both the markers' deletion and
    the half-built day (nothing to clean up: the markers are simply still there).

Why consuming markers inside the rebuild transaction is race-free
    A flush that commits events for the same day while we rebuild either committed before our
    read (its events are included) or after; its marker is a new row we did not lock, so it
    survives our delete and the day is rebuilt again by the next run. No event is left out of
    the rollups, and no flush ever waits for a rebuild.

The watermark (``FillState`` "rollups")
    A run reads ``flushed_until()`` = t0 before claiming anything. Every event received before
    t0 is stored and (the flush marks before it acknowledges a batch) marked dirty before t0.
    When the run ends with no marker older than t0 left, all events received before t0 are
    aggregated, and t0 becomes the watermark that ``complete_until`` reports.

Per-project serialisation
    User keys are dense per project (max + row_number), so two rebuilds of one project must not
    interleave: a transaction-scoped advisory lock per project serialises them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from psycopg import sql

from analytics import taxonomy
from analytics.bitmaps import bitmap_from_keys
from analytics.models import FillState
from analytics.registry import DERIVED_TABLES, PER_DAY_TABLES
from analytics.retention import raw_events_kept_from
from core import days as daysmod
from core import locks
from core.clock import EPOCH
from events.dirty import partition_mark_dirty
from events.partitions import list_partitions
from events.property_types import DATETIME_REGEX_SQL
from ingestion.selectors import flushed_until
from persons.identity import same_person_join
from persons.services import PERSON_DATA_PROPERTIES
from projects.models import Project

logger = logging.getLogger(__name__)

ROLLUPS_FILL_STATE = "rollups"
CATCHUP_FILL_STATE = "catchup"


# --- Building one local day -------------------------------------------------------------------

_UPSERT_USERS = """
WITH agg AS (
    SELECT user_id, bool_and(is_anonymous) AS anon, min("timestamp") AS f, max("timestamp") AS l
    FROM events
    WHERE project_id = %(p)s AND "timestamp" >= %(lo)s AND "timestamp" < %(hi)s
    GROUP BY user_id
), moved AS (
    UPDATE analytics_user u
    SET first_seen = LEAST(u.first_seen, agg.f), last_seen = GREATEST(u.last_seen, agg.l)
    FROM agg
    WHERE u.project_id = %(p)s AND u.user_id = agg.user_id AND (agg.f < u.first_seen OR agg.l > u.last_seen)
    RETURNING 1
), base AS (
    SELECT coalesce(max(user_key), 0) AS m FROM analytics_user WHERE project_id = %(p)s
)
INSERT INTO analytics_user (project_id, user_key, user_id, is_anonymous, first_seen, last_seen)
SELECT %(p)s, base.m + row_number() OVER (ORDER BY agg.f, agg.user_id), agg.user_id, agg.anon, agg.f, agg.l
FROM agg CROSS JOIN base
WHERE NOT EXISTS (SELECT 1 FROM analytics_user u WHERE u.project_id = %(p)s AND u.user_id = agg.user_id)
"""

# The day's raw rows with their user key, read once: the four aggregates below scan this
# temporary table instead of the partition four times.
_STAGE = """
CREATE TEMPORARY TABLE rollup_stage ON COMMIT DROP AS
SELECT e.event_name, e.source, e."timestamp" AS ts, u.user_key, e.properties
FROM events e
JOIN analytics_user u ON u.project_id = %(p)s AND u.user_id = e.user_id
WHERE e.project_id = %(p)s AND e."timestamp" >= %(lo)s AND e."timestamp" < %(hi)s
"""

# A breakdown answers "top 10 values + other": rolling up keys with a few values per day (plan,
# browser, country) makes it a read of a few hundred rows; keys with thousands of values per day
# (URLs, ids) would make this table as large as the raw one, so those days are recorded as gaps.
PROPERTY_VALUES_CAP = 100
# Keys whose values are person data: person properties and linked ids (persons.services), and the
# anonymous id the Segment adapter keeps. Their values are never rolled up, only recorded as gaps,
# so breakdowns on them read raw events: an erasure rebuilds the days it can from raw events, but
# a day past raw retention would keep the values (emails, names) until aggregate retention.
PERSON_DATA_KEYS = (*PERSON_DATA_PROPERTIES, "$anonymous_id")

# Identity merges (persons app): every id linked to a person counts under the person's lowest
# user key, so the day's users, bitmaps and retention count people, not ids. Linking ids marks
# the days of the ids whose key changes dirty (persons.services), and they are rebuilt here.
_PERSON_KEYS = f"""
UPDATE rollup_stage s SET user_key = m.person_key
FROM (
    SELECT u1.user_key AS own_key, min(u2.user_key) AS person_key
    FROM (SELECT DISTINCT user_key FROM rollup_stage) k
    JOIN analytics_user u1 ON u1.project_id = %(p)s AND u1.user_key = k.user_key
    {same_person_join(distinct_id="u1.user_id", project="%(p)s")}
    JOIN analytics_user u2 ON u2.project_id = %(p)s AND u2.user_id = d2.distinct_id
    GROUP BY u1.user_key
) m
WHERE s.user_key = m.own_key AND m.person_key <> m.own_key
"""

# Every per-day table of the registry, so a table added there is also emptied before its day is
# inserted again (a table this missed would count the day twice after each rebuild).
_DELETE_DAY: list[sql.Composable] = [
    sql.SQL("DELETE FROM {} WHERE project_id = %(p)s AND day = %(day)s").format(table.identifier)
    for table in PER_DAY_TABLES
]

_INSERT_DAY: list[str] = [
    """
    INSERT INTO analytics_user_day (project_id, day, user_key, events, first_at, last_at)
    SELECT %(p)s, %(day)s, user_key, count(*), min(ts), max(ts) FROM rollup_stage GROUP BY user_key
    """,
    """
    INSERT INTO analytics_daily_events (project_id, day, event_name, source, events)
    SELECT %(p)s, %(day)s, event_name, source, count(*) FROM rollup_stage GROUP BY event_name, source
    """,
    """
    INSERT INTO analytics_hourly_events (project_id, day, hour, event_name, events)
    SELECT %(p)s, %(day)s, date_trunc('hour', ts, %(tz)s), event_name, count(*)
    FROM rollup_stage GROUP BY 3, 4
    """,
    """
    INSERT INTO analytics_event_definition (project_id, event_name, first_seen_day, last_seen_day)
    SELECT DISTINCT %(p)s, event_name, %(day)s::date, %(day)s::date FROM rollup_stage
    ON CONFLICT (project_id, event_name) DO UPDATE
    SET first_seen_day = LEAST(analytics_event_definition.first_seen_day, EXCLUDED.first_seen_day),
        last_seen_day = GREATEST(analytics_event_definition.last_seen_day, EXCLUDED.last_seen_day)
    """,
    # The day's distinct values per event and key, with their JSON type for the taxonomy (5 and
    # "5" are one value of the rollup and two of the types), then per value as breakdowns read them.
    """
    CREATE TEMPORARY TABLE rollup_props_typed ON COMMIT DROP AS
    SELECT event_name, k.key, jsonb_typeof(k.value) AS json_type, k.value #>> '{}' AS value, count(*) AS n
    FROM rollup_stage, jsonb_each(properties) AS k(key, value)
    WHERE jsonb_typeof(properties) = 'object'
    GROUP BY 1, 2, 3, 4
    """,
    """
    CREATE TEMPORARY TABLE rollup_props ON COMMIT DROP AS
    SELECT event_name, key, value, sum(n)::bigint AS n, count(*) OVER (PARTITION BY event_name, key) AS n_values
    FROM rollup_props_typed
    GROUP BY 1, 2, 3
    """,
    """
    INSERT INTO analytics_property_definition (project_id, event_name, key)
    SELECT DISTINCT %(p)s, event_name, key FROM rollup_props
    ON CONFLICT DO NOTHING
    """,
    """
    INSERT INTO analytics_daily_props (project_id, day, event_name, key, value, events)
    SELECT %(p)s, %(day)s, event_name, key, value, n FROM rollup_props
    WHERE n_values <= %(cap)s AND value IS NOT NULL AND key <> ALL(%(person_keys)s)
    """,
    """
    INSERT INTO analytics_property_gap (project_id, day, event_name, key)
    SELECT DISTINCT %(p)s, %(day)s::date, event_name, key FROM rollup_props
    WHERE n_values > %(cap)s OR key = ANY(%(person_keys)s)
    """,
    *taxonomy.STATEMENTS,
]


def _rebuild_local_day(cur: CursorWrapper, *, project_id: int, tz_name: str, day: dt.date) -> None:
    tz = daysmod.zone(tz_name)
    lo, hi = daysmod.local_day_bounds(day, tz)
    params: dict[str, Any] = {
        "p": project_id,
        "day": day,
        "lo": lo,
        "hi": hi,
        "tz": tz_name,
        "cap": PROPERTY_VALUES_CAP,
        "person_keys": list(PERSON_DATA_KEYS),
        "datetime_re": DATETIME_REGEX_SQL,
    }
    cur.execute(_UPSERT_USERS, params)
    cur.execute(_STAGE, params)
    cur.execute(_PERSON_KEYS, params)
    cur.execute(taxonomy.BEFORE_DELETE, params)
    statements: list[str | sql.Composable] = [*_DELETE_DAY, *_INSERT_DAY]
    for statement in statements:
        cur.execute(statement, params)
    cur.execute("SELECT event_name, array_agg(DISTINCT user_key) FROM rollup_stage GROUP BY event_name")
    per_event = cur.fetchall()
    rows = []
    all_keys: set[int] = set()
    for event_name, keys in per_event:
        all_keys.update(keys)
        rows.append((project_id, day, event_name, bitmap_from_keys(keys), len(keys)))
    if all_keys:
        rows.append((project_id, day, "", bitmap_from_keys(all_keys), len(all_keys)))
        cur.executemany(
            "INSERT INTO analytics_day_users (project_id, day, event_name, users, user_count) "
            "VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
    cur.execute("DROP TABLE rollup_stage, rollup_props_typed, rollup_props, rollup_prop_pairs")


def rollup_rebuild_days(*, project_id: int, tz_name: str, days: Iterable[dt.date]) -> None:
    """Rebuild local days of one project from raw events, atomically (idempotent)."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [locks.ROLLUPS_PER_PROJECT, project_id])
        for day in sorted(set(days)):
            _rebuild_local_day(cur, project_id=project_id, tz_name=tz_name, day=day)


def derived_rows_delete(*, project_ids: list[int]) -> int:
    """Delete every row derived from these projects' events (all registry tables); returns the count.

    For a project that is gone, and for tests and benchmarks that commit their data. Retention only
    visits existing projects, so a table left out here would keep that project's rows for ever.
    """
    deleted = 0
    with transaction.atomic(), connection.cursor() as cur:
        for table in DERIVED_TABLES:
            cur.execute(
                sql.SQL("DELETE FROM {} WHERE project_id = ANY(%s)").format(table.identifier), [list(project_ids)]
            )
            deleted += cur.rowcount
    return deleted


# --- The dirty-day consumer -------------------------------------------------------------------


@dataclass(frozen=True)
class RollupRun:
    markers: int
    local_days: int
    watermark: dt.datetime | None


def _project_timezones(project_ids: Iterable[int]) -> dict[int, str]:
    return dict(Project.objects.filter(pk__in=set(project_ids)).values_list("pk", "timezone"))


def _claim_chunk(cur: CursorWrapper, *, chunk: int, up_to: int) -> list[tuple[int, dt.date]]:
    """Lock the markers (ids up to ``up_to``) of up to ``chunk`` days of one project, delete them,
    return the days.

    One project per chunk keeps a transaction's locks on one project; SKIP LOCKED lets a second
    worker take other markers instead of waiting. Only the locked rows are deleted: a marker a
    flush adds meanwhile is a new row and stays for the next run.
    """
    cur.execute(
        """
        SELECT id, project_id, utc_date FROM analytics_dirty_day
        WHERE project_id = (SELECT project_id FROM analytics_dirty_day WHERE id <= %(up_to)s
                            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
          AND id <= %(up_to)s
        ORDER BY utc_date, id
        LIMIT 10000
        FOR UPDATE SKIP LOCKED
        """,
        {"up_to": up_to},
    )
    rows = cur.fetchall()
    days = sorted({day for _, _, day in rows})[:chunk]
    ids = [row_id for row_id, _, day in rows if day in set(days)]
    if ids:
        cur.execute("DELETE FROM analytics_dirty_day WHERE id = ANY(%s)", [ids])
    return [(rows[0][1], day) for day in days] if rows else []


def rollups_process_dirty(*, chunk: int = 7, time_budget_s: float = 240.0) -> RollupRun:
    """Rebuild the local days behind dirty markers, then advance the watermark if all caught up.

    Only the markers that existed when the run began: under steady ingestion today is marked every
    flush, and a run chasing those would rebuild today back to back for its whole time budget (a
    core of PostgreSQL at 500 events/s); the next tick, seconds later, takes the new ones."""
    t0 = flushed_until()
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM analytics_dirty_day")
        up_to = cur.fetchone()[0]
    started = time.monotonic()
    markers = local_days = 0
    while time.monotonic() - started < time_budget_s:
        with transaction.atomic(), connection.cursor() as cur:
            claimed = _claim_chunk(cur, chunk=chunk, up_to=up_to)
            if not claimed:
                break
            project_id = claimed[0][0]
            tz_name = _project_timezones([project_id]).get(project_id)
            markers += len(claimed)
            if tz_name is None:  # project deleted: its markers are simply dropped
                continue
            tz = daysmod.zone(tz_name)
            days = set().union(*(daysmod.local_days_of_utc_date(d, tz) for _, d in claimed))
            first_kept = raw_events_kept_from(project_id)  # older days lost raw events to retention
            days = {day for day in days if day >= first_kept}
            rollup_rebuild_days(project_id=project_id, tz_name=tz_name, days=days)
            local_days += len(days)
    watermark = None
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM analytics_dirty_day WHERE marked_at <= %s)", [t0])
        if not cur.fetchone()[0]:
            state = FillState.objects.select_for_update().filter(name=ROLLUPS_FILL_STATE).first()
            if state is None:
                state = FillState(name=ROLLUPS_FILL_STATE, end_time=t0, state=FillState.DONE)
            state.end_time = max(state.end_time, t0)
            state.state = FillState.DONE
            state.save()
            watermark = state.end_time
    if markers:
        logger.info(
            "rollups rebuilt",
            extra={"markers": markers, "local_days": local_days, "watermark": str(watermark)},
        )
    return RollupRun(markers=markers, local_days=local_days, watermark=watermark)


def rollups_watermark() -> dt.datetime:
    """Every event received before this instant is in the rollups (the epoch before a first run)."""
    state = FillState.objects.filter(name=ROLLUPS_FILL_STATE).values_list("end_time", flat=True).first()
    return state or EPOCH


# --- Catch-up ---------------------------------------------------------------------------------


def rollups_catch_up(*, max_days: int = 7, today: dt.date | None = None) -> int:
    """Mark dirty every (project, UTC date) of closed partitions after the checkpoint.

    Covers raw rows that never got a marker (events loaded before rollups existed, a bulk
    import, a lost mark) and re-verifies each day once after it closes; the days of those
    partitions without a columnar file are marked for the columnar tier too. Works a few partitions
    per run, in order, and records how far it got in ``FillState`` "catchup", so it is
    restartable and cheap once caught up. Returns the number of partitions scanned.
    """
    today = today or timezone.now().date()
    state = FillState.objects.filter(name=CATCHUP_FILL_STATE).first()
    after = state.end_time.date() if state else dt.date.min
    pending = [p.day for p in list_partitions() if after <= p.day < today][:max_days]
    for day in pending:
        with transaction.atomic():
            partition_mark_dirty(day)
            FillState.objects.update_or_create(
                name=CATCHUP_FILL_STATE,
                defaults={
                    "end_time": dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
                    "state": FillState.DONE,
                },
            )
    return len(pending)

"""What several reports share: raw SQL access, the data-completeness watermark, the known
event/property lookups, date buckets and the per-day user bitmaps. Reports that scan raw events
count persons with ``persons.identity``'s SQL.

Distinct users over a range (active users, top events' users, trends math=users, retention) come
from per-day bitmaps in PostgreSQL (``analytics_day_users``): the union of N days is an OR of N
small byte strings, exact, a few ms. COUNT(DISTINCT) over the equivalent rows took 50-600 ms.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import orjson
from django.db import connections

from analytics.bitmaps import bitmap_to_int
from analytics.rollups import rollups_watermark
from core import days as daysmod
from core.replicas import read_alias
from ingestion.selectors import flushed_until
from persons.identity import project_links
from projects.models import Project


def project_tz(project: Project) -> zoneinfo.ZoneInfo:
    return daysmod.zone(project.timezone)


def fetchall(sql: str, params: dict | list) -> list[tuple]:
    """Rows of a read: from the request's replica inside ``replica_reads`` (core/replicas.py)."""
    with connections[read_alias()].cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def json_value(value: str | bytes | dict) -> dict:
    # Django's psycopg setup hands jsonb to raw cursors as text (JSONField decodes it itself).
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def complete_until_get() -> dt.datetime:
    """Up to when every accepted event is both stored and aggregated, in the database reads use.

    On a replica (inside ``replica_reads``) the watermark is the replica's own: ``FillState`` is
    read through the router, from the same replica as the report's rows. That never claims what
    the replica has not replayed: the rollup run that wrote watermark W first took W =
    ``flushed_until()``, so every event received before W had committed on the primary before the
    run began, and the run's rollups committed before (or with) W. A replica replays commits in
    the primary's WAL order, so one that shows W also holds those events and those rollups.
    ``flushed_until()`` (the Redis buffer, about the primary) can be ahead of the replica, but the
    minimum is at most the replica's W. The reporting view reads this before the report's own
    queries (reporting.base), and a replica only moves forward, so the rows read later hold at
    least what it claims.
    """
    pinned = _pinned_complete_until.get()
    return pinned if pinned is not None else min(flushed_until(), rollups_watermark())


_pinned_complete_until: ContextVar[dt.datetime | None] = ContextVar("complete_until", default=None)


@contextmanager
def complete_until_pinned() -> Iterator[dt.datetime]:
    """``complete_until_get()`` read now and answered inside: read before a report's queries, it
    claims no more than they see (and every part of one answer states the same instant)."""
    value = complete_until_get()
    token = _pinned_complete_until.set(value)
    try:
        yield value
    finally:
        _pinned_complete_until.reset(token)


def event_is_known(*, project: Project, event: str) -> bool:
    return bool(
        fetchall(
            "SELECT 1 FROM analytics_event_definition WHERE project_id = %s AND event_name = %s",
            [project.pk, event],
        )
    )


def unknown_events(*, project: Project, events: list[str]) -> list[str]:
    known = {
        row[0]
        for row in fetchall(
            "SELECT event_name FROM analytics_event_definition WHERE project_id = %s AND event_name = ANY(%s)",
            [project.pk, events],
        )
    }
    return [event for event in events if event not in known]


def property_is_known(*, project: Project, event: str, key: str) -> bool:
    return bool(
        fetchall(
            "SELECT 1 FROM analytics_property_definition WHERE project_id = %s AND event_name = %s AND key = %s",
            [project.pk, event, key],
        )
    )


# --- Buckets and day bitmaps ------------------------------------------------------------------


def buckets(first: dt.date, last: dt.date, interval: str) -> list[dt.date]:
    out: list[dt.date] = []
    for day in daysmod.days_between(first, last):
        start = daysmod.period_start(day, interval)
        if not out or out[-1] != start:
            out.append(start)
    return out


def bitmap_rows(*, project: Project, event: str, first: dt.date, last: dt.date) -> list[tuple]:
    return fetchall(
        "SELECT day, users FROM analytics_day_users "
        "WHERE project_id = %s AND event_name = %s AND day BETWEEN %s AND %s",
        [project.pk, event, first, last],
    )


# Persons as the day bitmaps key them: ids linked by identify/alias share the lowest user key of
# the person (analytics/rollups.py) and the person's earliest first_seen. Grouped by local day in
# SQL: 50k timestamps made into Python datetimes took ~300 ms of a 35 ms query.
_PERSONS_FIRST_SEEN = f"""
WITH linked AS (
    SELECT u.user_key, min(u.user_key) OVER w AS person_key, min(u.first_seen) OVER w AS person_first
    FROM {project_links(project="%(p)s")} d
    JOIN analytics_user u ON u.project_id = %(p)s AND u.user_id = d.distinct_id
    WINDOW w AS (PARTITION BY d.person_id)
),
born AS (
    SELECT u.user_key, u.first_seen FROM analytics_user u
    WHERE u.project_id = %(p)s AND u.first_seen >= %(lo)s AND u.first_seen < %(hi)s
      AND NOT EXISTS (SELECT 1 FROM linked WHERE linked.user_key = u.user_key)
    UNION
    SELECT person_key, person_first FROM linked WHERE person_first >= %(lo)s AND person_first < %(hi)s
)
SELECT (first_seen AT TIME ZONE %(tz)s)::date, array_agg(user_key) FROM born GROUP BY 1
"""


def persons_first_seen(*, project: Project, lo: dt.datetime, hi: dt.datetime) -> list[tuple[dt.date, list[int]]]:
    """Per local day, the bitmap keys of the persons whose first event ever is in [lo, hi) on it."""
    return fetchall(_PERSONS_FIRST_SEEN, {"p": project.pk, "lo": lo, "hi": hi, "tz": project.timezone})


def distinct_by_bucket(rows: list[tuple], interval: str) -> dict[dt.date, int]:
    acc: dict[dt.date, int] = defaultdict(int)
    for day, users in rows:
        acc[daysmod.period_start(day, interval)] |= bitmap_to_int(users)
    return {bucket: bits.bit_count() for bucket, bits in acc.items()}

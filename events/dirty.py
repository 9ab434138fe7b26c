"""Which days' raw events changed: the markers the rollup job rebuilds from (analytics.rollups)
and the columnar tier re-writes from (events.columnar).

Written by the ingestion flush inside each batch's transaction and by persons when a link moves
ids between user keys; read and deleted by ``analytics.rollups.rollups_process_dirty`` and
``events.columnar.columnar_write_dirty``, each from its own table.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from events.partitions import partition_name


def rollups_mark_dirty(*, touched: dict[int, set[dt.date]], columnar: bool = True) -> None:
    """Record that raw events changed for these (project, UTC date) pairs.

    Runs in the ingestion hot path inside each batch's transaction: one statement, no read, no
    lock to wait for. ``columnar=False`` when the events themselves did not change (a link moved
    ids between persons: the columnar files hold ids, persons are joined when a query runs).
    """
    pairs = sorted({(int(project_id), day) for project_id, days in touched.items() for day in days})
    if not pairs:
        return
    rollups = (
        "INSERT INTO analytics_dirty_day (project_id, utc_date, marked_at) "
        "SELECT p, d, clock_timestamp() FROM unnest(%s::int[], %s::date[]) AS t(p, d)"
    )
    if columnar:
        rollups = (
            f"WITH marked AS ({rollups} RETURNING project_id, utc_date, marked_at) "
            "INSERT INTO events_columnar_dirty (project_id, utc_date, marked_at) SELECT * FROM marked"
        )
    with connection.cursor() as cur:
        cur.execute(rollups, [[p for p, _ in pairs], [d for _, d in pairs]])


def partition_mark_dirty(day: dt.date) -> None:
    """Mark every project's ``day`` of the partition for the rollups, and for the columnar tier
    where the day has no file yet (the rollup catch-up: raw rows that never got a marker). One read
    of the partition for both."""
    with connection.cursor() as cur:
        cur.execute(
            "WITH marked AS ("
            "INSERT INTO analytics_dirty_day (project_id, utc_date, marked_at) "
            f"SELECT DISTINCT project_id, %(day)s::date, clock_timestamp() FROM {partition_name(day)} "
            "RETURNING project_id, utc_date, marked_at) "
            "INSERT INTO events_columnar_dirty (project_id, utc_date, marked_at) SELECT m.* FROM marked m "
            "WHERE NOT EXISTS (SELECT 1 FROM events_columnar_day c "
            "                  WHERE c.project_id = m.project_id AND c.utc_date = m.utc_date)",
            {"day": day},
        )

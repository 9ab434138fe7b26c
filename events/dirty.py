"""Which days' raw events changed: the markers the rollup job rebuilds from (analytics.rollups)
and the columnar tier re-writes from (events.columnar).

Written by the ingestion flush inside each batch's transaction and by persons when a link moves
ids between user keys; read and deleted by ``analytics.rollups.rollups_process_dirty`` and
``events.columnar.columnar_write_dirty``, each from its own table.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection


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

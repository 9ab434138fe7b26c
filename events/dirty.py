"""Which days' raw events changed: the markers the rollup job rebuilds from (analytics.rollups).

Written by the ingestion flush inside each batch's transaction and by persons when a link moves
ids between user keys; read and deleted by ``analytics.rollups.rollups_process_dirty``.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection


def rollups_mark_dirty(*, touched: dict[int, set[dt.date]]) -> None:
    """Record that raw events were inserted for these (project, UTC date) pairs.

    Runs in the ingestion hot path inside each batch's transaction: one plain INSERT, no read,
    no lock to wait for.
    """
    pairs = sorted({(int(project_id), day) for project_id, days in touched.items() for day in days})
    if not pairs:
        return
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO analytics_dirty_day (project_id, utc_date, marked_at) "
            "SELECT p, d, clock_timestamp() FROM unnest(%s::int[], %s::date[]) AS t(p, d)",
            [[p for p, _ in pairs], [d for _, d in pairs]],
        )

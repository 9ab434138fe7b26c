"""Funnels in DuckDB over the attached raw ``events``: ordered steps within a window are an ASOF
join in DuckDB (one sort per step); PostgreSQL has no ASOF join and its range self-join (kept as
bench/engines.py's ``funnel_compute_postgres``) was several times slower in the benchmark.
"""

from __future__ import annotations

import datetime as dt

from core import days as daysmod
from events.duck import ATTACHED_AS, duckdb_cursor
from persons.identity import person_join_duckdb, person_key_duckdb
from projects.models import Project
from reporting.queries.common import project_tz


def funnel_rows(counts: list[int], steps: list[str]) -> list[dict]:
    """Each step's users and conversions; shared with bench/engines.py's PostgreSQL funnel."""
    out = []
    for i, (step, users) in enumerate(zip(steps, counts, strict=True)):
        start, previous = counts[0], counts[i - 1] if i else counts[0]
        out.append(
            {
                "event": step,
                "users": users,
                "conversion_from_start": round(100.0 * users / start, 2) if start else 0.0,
                "conversion_from_previous": round(100.0 * users / previous, 2) if previous else 0.0,
            }
        )
    return out


def funnel_compute(
    *, project: Project, steps: list[str], date_from: dt.date, date_to: dt.date, window_hours: int
) -> list[dict]:
    """Users reaching each step, in order, each step within ``window_hours`` of the first.

    A user counts for step k if some occurrence of step 1 in the range is followed (timestamps
    non-decreasing) by steps 2..k, all inside the range and within the window of that step 1.
    For a fixed start, taking the earliest next step is optimal, so each step is an ASOF join
    (nearest following event of the same user) from every candidate start.
    """
    lo, hi = daysmod.local_range_bounds(date_from, date_to, project_tz(project))
    # Literals, not parameters: DuckDB pushes a literal IN list down to PostgreSQL, a list of
    # parameters it does not (the scan then copied every event of the range).
    names = ", ".join("'" + step.replace("'", "''") + "'" for step in steps)
    steps_params = {f"s{i}": step for i, step in enumerate(steps)}
    ctes = ["s0 AS (SELECT DISTINCT user_id, ts AS t0, ts AS t FROM funnel_ev WHERE event_name = $s0)"]
    for i in range(1, len(steps)):
        ctes.append(
            f"e{i} AS (SELECT user_id, ts FROM funnel_ev WHERE event_name = $s{i}), "
            f"s{i} AS (SELECT s.user_id, s.t0, e.ts AS t FROM s{i - 1} s ASOF JOIN e{i} e "
            f"ON s.user_id = e.user_id AND e.ts >= s.t WHERE e.ts <= s.t0 + $w)"
        )
    counts_sql = ", ".join(f"(SELECT count(DISTINCT user_id) FROM s{i})" for i in range(len(steps)))
    # The raw rows are copied out of PostgreSQL once into a temporary table of this cursor: as a
    # CTE, DuckDB re-planned the scan for each reference and the funnel took 100+ s at 10M events
    # instead of ~1.5 s (MATERIALIZED did not change that).
    cur = duckdb_cursor()
    try:
        cur.execute(
            f'CREATE TEMPORARY TABLE funnel_ev AS SELECT {person_key_duckdb()} AS user_id, "timestamp" AS ts, '
            f"event_name FROM pg.public.events e {person_join_duckdb(catalog=ATTACHED_AS)} "
            'WHERE e.project_id = $p AND "timestamp" >= $lo AND "timestamp" < $hi '
            f"AND event_name IN ({names})",
            {"p": project.pk, "lo": lo, "hi": hi},
        )
        row = cur.execute(
            f"WITH {', '.join(ctes)} SELECT {counts_sql}",
            {"w": dt.timedelta(hours=window_hours), **steps_params},
        ).fetchone()
    finally:
        cur.close()
    assert row is not None  # one row of aggregates, always
    return funnel_rows(list(row), steps)

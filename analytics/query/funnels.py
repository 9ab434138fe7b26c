"""Funnels over the query layer's events: persons reaching each step, in order, within a window.

A person counts for step k if some occurrence of step 1 in the range is followed (timestamps
non-decreasing) by steps 2..k, all inside the range and within the window of that step 1. For a
fixed start, taking the earliest next step is optimal, so each step is an ASOF join (nearest
following event of the same person) from every candidate start. A step matches its event name
and its own filters; the query's filters apply to every step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.predicates import Relation, filters_predicate, uses_person_properties
from analytics.query.source import EventScope, events_relation, sql_string
from events.duck import duckdb_cursor


@dataclass(frozen=True)
class FunnelStepSpec:
    event: str
    filters: Filters = NO_FILTERS


@dataclass(frozen=True)
class FunnelResult:
    """Persons reaching each step; for steps after the first, the mean and median seconds from the
    previous step; and the first-to-last-step seconds of each person who completed the funnel.

    A person's times are those of their deepest path with the earliest start (for a fixed start the
    earliest next steps are taken, as for the counts)."""

    counts: list[int]
    average_seconds: list[float | None]
    median_seconds: list[float | None]
    completed_seconds: list[float]


def funnel_counts(scope: EventScope, *, steps: list[FunnelStepSpec], window: dt.timedelta) -> FunnelResult:
    """The funnel over ``scope``'s range and filters (``scope.events`` is ignored: the steps name
    the events)."""
    needs_person = any(uses_person_properties(step.filters) for step in steps)
    scope = EventScope(
        scope.project_id,
        scope.tz,
        scope.date_from,
        scope.date_to,
        events=tuple(dict.fromkeys(step.event for step in steps)),
        filters=scope.filters,
        person_properties=scope.person_properties or needs_person,
    )
    relation, relation_params = events_relation(scope)
    flags, params = [], []
    for i, step in enumerate(steps):
        predicate = filters_predicate(
            step.filters, tz=scope.tz, relation=Relation(alias="ev", person_properties="ev.person_properties")
        )
        flags.append(f"(ev.event_name = {sql_string(step.event)} AND {predicate.sql}) AS f{i}")
        params.extend(predicate.params)
    n = len(steps)
    times = [f"c{i}" for i in range(n)]
    ctes = ["s0 AS (SELECT DISTINCT user_id, ts AS c0 FROM funnel_ev WHERE f0)"]
    for i in range(1, n):
        carried = ", ".join(f"s.c{j}" for j in range(i))
        ctes.append(
            f"e{i} AS (SELECT user_id, ts FROM funnel_ev WHERE f{i}), "
            f"s{i} AS (SELECT s.user_id, {carried}, e.ts AS c{i} FROM s{i - 1} s ASOF JOIN e{i} e "
            f"ON s.user_id = e.user_id AND e.ts >= s.c{i - 1} WHERE e.ts <= s.c0 + ?)"
        )
    paths = " UNION ALL ".join(
        f"SELECT user_id, {i} AS d, "
        + ", ".join(times[: i + 1] + [f"CAST(NULL AS TIMESTAMPTZ) AS c{j}" for j in range(i + 1, n)])
        + f" FROM s{i}"
        for i in range(n)
    )
    ctes.append(f"paths AS ({paths})")
    ctes.append("best AS (SELECT DISTINCT ON (user_id) * FROM paths ORDER BY user_id, d DESC, c0)")
    gaps = " UNION ALL ".join(
        f"SELECT {k} AS k, (epoch_us(c{k}) - epoch_us(c{k - 1})) / 1e6 AS secs FROM best WHERE d >= {k}"
        for k in range(1, n)
    )
    # The rows are copied out of PostgreSQL once into a temporary table of this cursor: as a
    # CTE, DuckDB re-planned the scan for each reference and the funnel took 100+ s at 10M events
    # instead of ~1.5 s (MATERIALIZED did not change that).
    cur = duckdb_cursor()
    try:
        cur.execute(f"SET TimeZone = '{scope.tz.key}'")
        cur.execute(
            f"CREATE TEMPORARY TABLE funnel_ev AS SELECT ev.person AS user_id, ev.ts, {', '.join(flags)} "
            f"FROM ({relation}) ev",
            [*params, *relation_params],
        )
        cur.execute(
            f"CREATE TEMPORARY TABLE funnel_best AS WITH {', '.join(ctes)} SELECT * FROM best", [window] * (n - 1)
        )
        depths = dict(cur.execute("SELECT d, count(*) FROM funnel_best GROUP BY d").fetchall())
        stats = {
            k: (avg, median)
            for k, avg, median in cur.execute(
                f"WITH best AS (SELECT * FROM funnel_best) "
                f"SELECT k, avg(secs), quantile_cont(secs, 0.5) FROM ({gaps}) GROUP BY k"
            ).fetchall()
        } if n > 1 else {}  # fmt: skip
        completed = [
            row[0]
            for row in cur.execute(
                f"SELECT (epoch_us(c{n - 1}) - epoch_us(c0)) / 1e6 FROM funnel_best WHERE d = {n - 1} ORDER BY 1"
            ).fetchall()
        ]
    finally:
        cur.close()
    counts = [sum(count for d, count in depths.items() if d >= i) for i in range(n)]
    return FunnelResult(
        counts=counts,
        average_seconds=[None] + [stats.get(k, (None, None))[0] for k in range(1, n)],
        median_seconds=[None] + [stats.get(k, (None, None))[1] for k in range(1, n)],
        completed_seconds=completed,
    )

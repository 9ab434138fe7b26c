"""Funnels over the query layer's events: persons reaching each step, in order, within a window.

A person counts for step k if some occurrence of step 1 in the range is followed (timestamps
non-decreasing) by steps 2..k, all inside the range and within the window of that step 1. For a
fixed start, taking the earliest next step is optimal, so each step is an ASOF join (nearest
following event of the same person) from every candidate start. A step matches its event name
and its own filters; the query's filters apply to every step.

When two steps name the same event (``pageview`` → ``pageview``), one event cannot be both: each
step must then be a later event than the previous step's, in the order of (timestamp, event id),
as PostHog counts such funnels. (Without repeated names a step may also be an event at the very
same microsecond as the previous step's, whatever their ids, as before.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from analytics.query.filters import NO_FILTERS, CohortFilter, Filters
from analytics.query.predicates import Relation, event_property_keys, filters_predicate, uses_person_properties
from analytics.query.series import (
    NONE_LABEL,
    OTHER_LABEL,
    Breakdown,
    breakdown_scope,
    breakdown_value_sql,
    top_label_sql,
)
from analytics.query.source import EventScope, events_relation
from events.duck import duckdb_cursor, duckdb_sql_string
from persons.cohorts import cohort_names


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
    overall, _ = _funnels(scope, steps=steps, window=window, breakdown=None)
    return overall


def funnel_breakdown(
    scope: EventScope, *, steps: list[FunnelStepSpec], window: dt.timedelta, breakdown: Breakdown
) -> tuple[FunnelResult, list[tuple[str, FunnelResult]]]:
    """The funnel overall, and one per value of the breakdown on the step-1 event that starts the
    path: the ``limit`` values with the most persons at step 1 (ties by value, NULL last),
    "(none)" for starts without it, "other" for the rest; ordered by persons at step 1, "other"
    last. One pass: both come from the same paths. A cohort breakdown is one funnel per cohort
    (its members' paths; a person in two cohorts is in both)."""
    if breakdown.type == "cohort":
        overall, _ = _funnels(scope, steps=steps, window=window, breakdown=None)
        names = cohort_names(project_id=scope.project_id, cohort_ids=breakdown.cohorts)
        parts: dict[str | None, FunnelResult] = {}
        for cohort_id in breakdown.cohorts:
            members = scope.narrowed(CohortFilter(cohort_id))
            parts[names.get(cohort_id, str(cohort_id))] = _funnels(members, steps=steps, window=window, breakdown=None)[
                0
            ]
    else:
        overall, parts = _funnels(scope, steps=steps, window=window, breakdown=breakdown)
    ordered = sorted(parts.items(), key=lambda item: (item[0] == OTHER_LABEL, -item[1].counts[0], item[0] or ""))
    return overall, [(label or NONE_LABEL, result) for label, result in ordered]


def _empty(n: int) -> FunnelResult:
    return FunnelResult([0] * n, [None] * n, [None] * n, [])


def _funnels(
    scope: EventScope, *, steps: list[FunnelStepSpec], window: dt.timedelta, breakdown: Breakdown | None
) -> tuple[FunnelResult, dict[str | None, FunnelResult]]:
    needs_person = any(uses_person_properties(step.filters) for step in steps)
    scope = breakdown_scope(
        replace(
            scope,
            events=tuple(dict.fromkeys(step.event for step in steps)),
            person_properties=scope.person_properties or needs_person,
        ).reading(*(key for step in steps for key in event_property_keys(step.filters))),
        breakdown,
    )
    relation, relation_params = events_relation(scope)
    # Placeholders bind in the order they appear: the breakdown value's, then each step's flag's.
    flags: list[str] = []
    params: list = []
    value = "NULL"
    if breakdown is not None:
        value = breakdown_value_sql(breakdown, params, alias="ev.")
    for i, step in enumerate(steps):
        predicate = filters_predicate(
            step.filters,
            tz=scope.tz,
            relation=Relation(
                alias="ev",
                person_properties="ev.person_properties",
                typed=frozenset(scope.typed_keys),
                person="ev.person",
            ),
        )
        flags.append(f"(ev.event_name = {duckdb_sql_string(step.event)} AND {predicate.sql}) AS f{i}")
        params.extend(predicate.params)
    n = len(steps)
    distinct = len({step.event for step in steps}) < n
    # With repeated names, ``r`` is the event's rank in (timestamp, event id) order per person.
    rank = ", row_number() OVER (PARTITION BY ev.person ORDER BY ev.ts, ev.event_id) AS r" if distinct else ""
    times = [f"c{i}" for i in range(n)]
    label, label_params = "NULL", []  # g: NULL without a breakdown
    ctes = []
    if breakdown is not None:
        ctes.append(
            "top AS (SELECT v FROM funnel_ev WHERE f0 GROUP BY v ORDER BY count(DISTINCT user_id) DESC, v NULLS LAST "
            "LIMIT ?)"
        )
        label_params = [breakdown.limit]
        label = top_label_sql(label_params)
    r0 = ", r AS r0" if distinct else ""
    ctes.append(f"s0 AS (SELECT DISTINCT user_id, {label} AS g, ts AS c0{r0} FROM funnel_ev WHERE f0)")
    for i in range(1, n):
        carried = ", ".join(f"s.c{j}" for j in range(i))
        later = f"e.r > s.r{i - 1}" if distinct else f"e.ts >= s.c{i - 1}"
        r = f", e.r AS r{i}" if distinct else ""
        ctes.append(
            f"e{i} AS (SELECT user_id, ts{', r' if distinct else ''} FROM funnel_ev WHERE f{i}), "
            f"s{i} AS (SELECT s.user_id, s.g, {carried}, e.ts AS c{i}{r} FROM s{i - 1} s ASOF JOIN e{i} e "
            f"ON s.user_id = e.user_id AND {later} WHERE e.ts <= s.c0 + ?)"
        )
    paths = " UNION ALL ".join(
        f"SELECT user_id, g, {i} AS d, "
        + ", ".join(times[: i + 1] + [f"CAST(NULL AS TIMESTAMPTZ) AS c{j}" for j in range(i + 1, n)])
        + f" FROM s{i}"
        for i in range(n)
    )
    ctes.append(f"paths AS ({paths})")
    # The rows are copied out of PostgreSQL once into a temporary table of this cursor: as a
    # CTE, DuckDB re-planned the scan for each reference and the funnel took 100+ s at 10M events
    # instead of ~1.5 s (MATERIALIZED did not change that).
    cur = duckdb_cursor()
    try:
        cur.execute(f"SET TimeZone = '{scope.tz.key}'")
        cur.execute(
            f"CREATE TEMPORARY TABLE funnel_ev AS SELECT ev.person AS user_id, ev.ts, {value} AS v, "
            f"{', '.join(flags)}{rank} FROM ({relation}) ev",
            [*params, *relation_params],
        )
        cur.execute(
            f"CREATE TEMPORARY TABLE funnel_paths AS WITH {', '.join(ctes)} SELECT * FROM paths",
            [*label_params, *([window] * (n - 1))],
        )
        overall = _results(cur, n, by="NULL").get(None) or _empty(n)
        parts = _results(cur, n, by="g") if breakdown is not None else {}
    finally:
        cur.close()
    return overall, parts


def _results(cur: Any, n: int, *, by: str) -> dict[str | None, FunnelResult]:
    """The funnel per ``by`` (``g``: per breakdown label; ``NULL``: overall) from ``funnel_paths``:
    each person's deepest path with the earliest start, per group."""
    key = "user_id" if by == "NULL" else f"user_id, {by}"
    best = (
        f"WITH best AS (SELECT DISTINCT ON ({key}) {by} AS g, d, "
        + ", ".join(f"c{i}" for i in range(n))
        + f" FROM funnel_paths ORDER BY {key}, d DESC, c0)"
    )
    gaps = " UNION ALL ".join(
        f"SELECT g, {k} AS k, (epoch_us(c{k}) - epoch_us(c{k - 1})) / 1e6 AS secs FROM best WHERE d >= {k}"
        for k in range(1, n)
    )
    cur.execute(f"CREATE OR REPLACE TEMPORARY TABLE funnel_best AS {best} SELECT * FROM best")
    depths = cur.execute("SELECT g, d, count(*) FROM funnel_best GROUP BY g, d").fetchall()
    stats = (
        cur.execute(
            f"WITH best AS (SELECT * FROM funnel_best) "
            f"SELECT g, k, avg(secs), quantile_cont(secs, 0.5) FROM ({gaps}) GROUP BY g, k"
        ).fetchall()
        if n > 1
        else []
    )
    completed = cur.execute(
        f"SELECT g, (epoch_us(c{n - 1}) - epoch_us(c0)) / 1e6 FROM funnel_best WHERE d = {n - 1} ORDER BY 2"
    ).fetchall()
    groups = {g for g, _, _ in depths}
    out: dict[str | None, FunnelResult] = {}
    for g in groups:
        by_depth = {d: count for gg, d, count in depths if gg == g}
        times_of = {k: (avg, median) for gg, k, avg, median in stats if gg == g}
        out[g] = FunnelResult(
            counts=[sum(count for d, count in by_depth.items() if d >= i) for i in range(n)],
            average_seconds=[None] + [times_of.get(k, (None, None))[0] for k in range(1, n)],
            median_seconds=[None] + [times_of.get(k, (None, None))[1] for k in range(1, n)],
            completed_seconds=[secs for gg, secs in completed if gg == g],
        )
    return out

"""Retention over the query layer's events, for cohorts the rollups cannot form.

A person's cohort is the period of their first *start* event ever (any event by default; the
start event's filters and the query's filters apply): all history is read, so a person first seen
before the range is in no cohort of it. A person is retained in a period when they did a *return*
event in it (any event by default; its filters and the query's apply). Period 0 is counted the
same way as every other period.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from analytics.query.filters import NO_FILTERS, CohortFilter, Filters
from analytics.query.local_days import local_date_sql
from analytics.query.series import Breakdown, breakdown_scope, breakdown_value_sql, top_label_sql
from analytics.query.source import EventScope, events_relation, query_rows
from core import days as daysmod
from persons.cohorts import cohort_names


@dataclass(frozen=True)
class RetentionEvents:
    """What starts a cohort and what counts as coming back; None is any event."""

    start_event: str | None = None
    start_filters: Filters = NO_FILTERS
    return_event: str | None = None
    return_filters: Filters = NO_FILTERS

    @property
    def is_default(self) -> bool:
        return self == ANY_EVENTS


ANY_EVENTS = RetentionEvents()


Sizes = dict[tuple[str | None, int], int]  # (breakdown label, cohort index) -> persons
Retained = dict[tuple[str | None, int, int], int]  # (label, cohort index, period index) -> persons


def retention_counts(
    scope: EventScope,
    *,
    spec: RetentionEvents,
    cohort_starts: list[dt.date],
    step_days: int,
    last_day: dt.date,
    breakdown: Breakdown | None = None,
) -> tuple[Sizes, Retained]:
    """Cohort sizes and retained persons, by breakdown label (None without a breakdown).

    ``scope`` gives the project, zone and the query's filters; its dates are not used. A person's
    breakdown value is the one on their first start event (or their person property); the
    ``limit`` values with the largest cohorts are kept, "(none)" and "other" as in trends. With a
    cohort breakdown, one table per cohort: its members' retention, labelled with its name.
    """
    if breakdown is not None and breakdown.type == "cohort":
        return _per_cohort(scope, spec=spec, cohort_starts=cohort_starts, step_days=step_days, last_day=last_day,
                           cohorts=breakdown.cohorts)  # fmt: skip
    first = cohort_starts[0]
    cohort_end = cohort_starts[-1] + dt.timedelta(days=step_days - 1)
    starts = breakdown_scope(
        EventScope(
            scope.project_id,
            scope.tz,
            daysmod.EARLIEST_DAY,
            cohort_end,
            events=(spec.start_event,) if spec.start_event else (),
            filters=(*scope.filters, *spec.start_filters),
            group_index=scope.group_index,
        ),
        breakdown,
    )
    returns = EventScope(
        scope.project_id,
        scope.tz,
        first,
        last_day,
        events=(spec.return_event,) if spec.return_event else (),
        filters=(*scope.filters, *spec.return_filters),
        group_index=scope.group_index,
    )
    start_sql, params = events_relation(starts)
    # Every instant bucketed below is within these: cohort starts (from the first return day on)
    # and returns.
    lo, hi = returns.bounds[0], max(returns.bounds[1], starts.bounds[1])
    day_of = {column: local_date_sql(column, lo=lo, hi=hi, tz=scope.tz) for column in ("t0", "ts")}
    return_sql, return_params = events_relation(returns)
    # Placeholders bind in the order they appear in the text below.
    value = "NULL" if breakdown is None else breakdown_value_sql(breakdown, params)
    params += [returns.bounds[0], first, step_days]
    top, label = "", "NULL"
    if breakdown is not None:
        top = "top AS (SELECT v FROM c1 GROUP BY v ORDER BY count(*) DESC, v NULLS LAST LIMIT ?),"
        params.append(breakdown.limit)
        label = top_label_sql(params)
    params += [*return_params, first, step_days]
    # arg_min_null, not arg_min: a first event without the key is "(none)", not the next event's value.
    rows = query_rows(
        f"""
        WITH s AS ({start_sql}),
        c0 AS (SELECT person, min(ts) AS t0, arg_min_null({value}, ts) AS v FROM s GROUP BY person HAVING min(ts) >= ?),
        c1 AS (SELECT person, v, ({day_of["t0"]} - ?::DATE) // ? AS ci FROM c0),
        {top}
        cohort AS (SELECT person, ci, {label} AS g FROM c1),
        r AS ({return_sql}),
        active AS (SELECT DISTINCT person, ({day_of["ts"]} - ?::DATE) // ? AS ai FROM r)
        SELECT g, ci, NULL, count(*) FROM cohort GROUP BY g, ci
        UNION ALL
        SELECT c.g, c.ci, a.ai - c.ci, count(*) FROM cohort c JOIN active a ON a.person = c.person AND a.ai >= c.ci
        GROUP BY 1, 2, 3
        """,
        params,
        tz=scope.tz,
    )
    sizes: Sizes = {}
    retained: Retained = defaultdict(int)
    for g, ci, k, n in rows:
        if k is None:
            sizes[(g, int(ci))] = n
        else:
            retained[(g, int(ci), int(k))] = n
    return sizes, retained


def _per_cohort(
    scope: EventScope,
    *,
    spec: RetentionEvents,
    cohort_starts: list[dt.date],
    step_days: int,
    last_day: dt.date,
    cohorts: tuple[int, ...],
) -> tuple[Sizes, Retained]:
    names = cohort_names(project_id=scope.project_id, cohort_ids=cohorts)
    sizes: Sizes = {}
    retained: Retained = defaultdict(int)
    for cohort_id in cohorts:
        label = names.get(cohort_id, str(cohort_id))
        members = scope.narrowed(CohortFilter(cohort_id))
        part_sizes, part_retained = retention_counts(
            members, spec=spec, cohort_starts=cohort_starts, step_days=step_days, last_day=last_day
        )
        # Every cohort asked for gets its rows, an empty one too (size 0).
        sizes.update({(label, index): part_sizes.get((None, index), 0) for index in range(len(cohort_starts))})
        for (_, index, k), n in part_retained.items():
            retained[(label, index, k)] = n
    return sizes, retained

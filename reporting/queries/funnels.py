"""Funnels, computed by the query layer (analytics/query/funnels.py): ordered steps within a window
are an ASOF join in DuckDB (one sort per step); PostgreSQL has no ASOF join and its range self-join
(kept as bench/engines.py's ``funnel_compute_postgres``) was several times slower in the benchmark.
"""

from __future__ import annotations

import datetime as dt

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.funnels import FunnelResult, FunnelStepSpec, funnel_breakdown, funnel_counts
from analytics.query.series import Breakdown
from analytics.query.source import EventScope
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
    *,
    project: Project,
    steps: list[str] | list[FunnelStepSpec],
    date_from: dt.date,
    date_to: dt.date,
    window_hours: int,
    filters: Filters = NO_FILTERS,
) -> list[dict]:
    """Users reaching each step, in order, each step within ``window_hours`` of the first."""
    return funnel_report(
        project=project, steps=steps, date_from=date_from, date_to=date_to, window_hours=window_hours, filters=filters
    )["results"]


def funnel_report(
    *,
    project: Project,
    steps: list[str] | list[FunnelStepSpec],
    date_from: dt.date,
    date_to: dt.date,
    window_hours: int,
    filters: Filters = NO_FILTERS,
    times: bool = False,
    breakdown: Breakdown | None = None,
    group_index: int | None = None,
) -> dict:
    """The funnel's steps and, with ``times``, each step's mean and median seconds from the previous
    one and the histogram of first-to-last-step seconds (``time_to_convert``). ``group_index``: the
    groups of that type move through the steps, not persons."""
    specs = [step if isinstance(step, FunnelStepSpec) else FunnelStepSpec(step) for step in steps]
    scope = EventScope(project.pk, project_tz(project), date_from, date_to, filters=filters, group_index=group_index)
    window = dt.timedelta(hours=window_hours)
    names = [step.event for step in specs]
    parts: list[tuple[str, FunnelResult]] = []
    if breakdown is not None and times:
        result, parts = funnel_breakdown(scope, steps=specs, window=window, breakdown=breakdown)
    else:
        result = funnel_counts(scope, steps=specs, window=window)
    if not times:
        return {"results": funnel_rows(result.counts, names)}
    answer: dict = {
        "results": _rows_with_times(result, names),
        "time_to_convert": time_histogram(result.completed_seconds),
    }
    if breakdown is not None:
        answer["breakdown"] = [{"value": value, "results": _rows_with_times(part, names)} for value, part in parts]
    return answer


def _rows_with_times(result: FunnelResult, names: list[str]) -> list[dict]:
    rows = funnel_rows(result.counts, names)
    for row, average, median in zip(rows, result.average_seconds, result.median_seconds, strict=True):
        row["average_conversion_seconds"] = None if average is None else round(average, 3)
        row["median_conversion_seconds"] = None if median is None else round(median, 3)
    return rows


TIME_BINS = 10


def time_histogram(seconds: list[float]) -> list[dict]:
    """Ten bins of equal width from 0 to the slowest conversion (that one in the last bin)."""
    if not seconds:
        return []
    width = max(seconds) / TIME_BINS or 1.0
    counts = [0] * TIME_BINS
    for value in seconds:
        counts[min(int(value // width), TIME_BINS - 1)] += 1
    return [
        {"from_seconds": round(i * width, 3), "to_seconds": round((i + 1) * width, 3), "persons": n}
        for i, n in enumerate(counts)
    ]

"""Funnels, computed by the query layer (analytics/query/funnels.py): ordered steps within a window
are an ASOF join in DuckDB (one sort per step); PostgreSQL has no ASOF join and its range self-join
(kept as bench/engines.py's ``funnel_compute_postgres``) was several times slower in the benchmark.
"""

from __future__ import annotations

import datetime as dt

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.funnels import FunnelStepSpec, funnel_counts
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
    specs = [step if isinstance(step, FunnelStepSpec) else FunnelStepSpec(step) for step in steps]
    scope = EventScope(project.pk, project_tz(project), date_from, date_to, filters=filters)
    counts = funnel_counts(scope, steps=specs, window=dt.timedelta(hours=window_hours))
    return funnel_rows(counts, [step.event for step in specs])

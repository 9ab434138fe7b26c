"""Paths, computed by the query layer (analytics/query/paths.py) in one DuckDB query."""

from __future__ import annotations

import datetime as dt

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.paths import PathSpec, path_counts
from analytics.query.source import EventScope
from projects.models import Project
from reporting.queries.common import project_tz


def paths_get(
    *, project: Project, spec: PathSpec, date_from: dt.date, date_to: dt.date, filters: Filters = NO_FILTERS,
    group_index: int | None = None,
) -> dict:  # fmt: skip
    """Nodes (step, name, users), edges with their mean seconds between the steps, and drop-offs;
    with ``group_index``, of the groups of that type (a group's path: its members' events)."""
    scope = EventScope(project.pk, project_tz(project), date_from, date_to, filters=filters, group_index=group_index)
    counts = path_counts(scope, spec)
    nodes = sorted(counts.nodes, key=lambda n: (n[0], -n[2], n[1]))
    edges = sorted(counts.edges, key=lambda e: (e[0], -e[3], e[1], e[2]))
    drops = sorted(counts.dropoffs, key=lambda d: (d[0], -d[2], d[1]))
    return {
        "nodes": [{"step": step, "name": name, "users": users} for step, name, users in nodes],
        "edges": [
            {
                "source_step": step,
                "source": source,
                "target": target,
                "users": users,
                "average_conversion_seconds": round(us / users / 1e6, 1),
            }
            for step, source, target, users, us in edges
        ],
        "dropoffs": [{"step": step, "name": name, "users": users} for step, name, users in drops],
    }

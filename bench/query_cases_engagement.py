"""Issue 16's questions for the query benchmark: stickiness, lifecycle, paths and active companies.

Stickiness counts per-person intervals over the events; unfiltered lifecycle is set operations on
the day bitmaps, the filtered one reads every event up to ``to``; paths are one DuckDB query of
per-person windows; active companies count ``group_0`` from the files with the group columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from bench.query_case_kit import Case, Period, Request, filter_exact, naive
from projects.models import Project


def engagement_cases(
    *, project: Project, period: Period, get: Callable[..., Request], post: Callable[[str, dict], Request]
) -> list[Case]:
    start, end, tz, lo30, hi30 = period.start, period.end, period.tz, period.lo30, period.hi30
    rng30 = {"from": period.d30.isoformat(), "to": end.isoformat()}
    rng90 = {"from": start.isoformat(), "to": end.isoformat()}
    return [
        Case("stickiness 30 days (day)", 300, get("stickiness", **rng30, event="$pageview"), None),
        Case(
            "lifecycle 90 days (week)",
            500,
            get("lifecycle", event="$pageview", interval="week", **rng90),
            None,
        ),
        Case(
            "lifecycle 90 days (week), filtered",
            None,
            get(
                "lifecycle",
                event="$pageview",
                interval="week",
                filters=json.dumps([filter_exact("event", "browser", "chrome")]),
                **rng90,
            ),
            None,
        ),
        Case(
            "paths 5 steps pages 30 days",
            1000,
            post("paths", {**rng30, "event_types": ["$pageview"], "path_key": "pathname", "steps": 5}),
            None,
        ),
        Case(
            "active companies 30 days",
            200,
            get("trends", event="$pageview", math="users", aggregation_group_type="company", **rng30),
            naive(
                'SELECT ("timestamp" AT TIME ZONE %s)::date, count(DISTINCT group_0) FROM events '
                "WHERE project_id = %s AND event_name = '$pageview' AND \"timestamp\" >= %s "
                'AND "timestamp" < %s GROUP BY 1',
                [tz, project.pk, lo30, hi30],
            ),
        ),
    ]

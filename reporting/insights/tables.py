"""An insight's answer as one table (header, rows): what CSV export writes and e-mailed reports show.

``insight_table(kind, result)`` takes ``result`` as ``insight_results`` gives it (the report
endpoint's answer body, without ``complete_until``) and flattens it without losing a number:

- trends: ``series, label, breakdown_value, date, value``; a formula's rows have series
  ``formula``; with ``compare`` the previous period's rows follow, series ``<letter> (previous)``;
- funnels: ``step, event, users, conversion_from_start, conversion_from_previous,
  average_conversion_seconds, median_conversion_seconds, breakdown_value`` (the whole funnel's
  rows first, breakdown_value empty; then each breakdown value's);
- retention: one row per cohort and period: ``start_date, cohort_size, period, period_start,
  retained_users, retention_rate``;
- stickiness, lifecycle, active-users, sessions, top-events: their rows, their columns;
- paths: the edges (``source_step, source, target, users, average_conversion_seconds``);
- web: ``section, name, metric, value``: the six numbers (section ``numbers``, and ``previous``
  with compare), the daily series (name = the day) and each list (name = the row's value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Table = tuple[list[str], list[list[Any]]]


def _columns(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    return [[row.get(column) for column in columns] for row in rows]


def _simple(columns: list[str]) -> Callable[[dict[str, Any]], Table]:
    def table(result: dict[str, Any]) -> Table:
        return list(columns), _columns(result.get("results") or [], columns)

    return table


def _trends(result: dict[str, Any]) -> Table:
    header = ["series", "label", "breakdown_value", "date", "value"]
    rows: list[list[Any]] = []

    def add(series: Sequence[dict[str, Any]], suffix: str = "") -> None:
        for s in series:
            name = f"{s.get('series')}{suffix}"
            rows.extend([name, s.get("label"), s.get("breakdown_value"), p["date"], p["value"]] for p in s["data"])

    add(result.get("series") or [])
    add(result.get("formula") or [])
    add(result.get("compare") or [], " (previous)")
    return header, rows


FUNNEL_COLUMNS = [
    "step",
    "event",
    "users",
    "conversion_from_start",
    "conversion_from_previous",
    "average_conversion_seconds",
    "median_conversion_seconds",
]


def _funnels(result: dict[str, Any]) -> Table:
    rows: list[list[Any]] = []

    def add(steps: Sequence[dict[str, Any]], breakdown_value: Any) -> None:
        for number, step in enumerate(steps, start=1):
            rows.append([number, *(step.get(c) for c in FUNNEL_COLUMNS[1:]), breakdown_value])

    add(result.get("results") or [], None)
    for group in result.get("breakdown") or []:
        add(group["results"], group["value"])
    return [*FUNNEL_COLUMNS, "breakdown_value"], rows


def _retention(result: dict[str, Any]) -> Table:
    header = ["start_date", "cohort_size", "period", "period_start", "retained_users", "retention_rate"]
    rows = [
        [cohort["start_date"], cohort["cohort_size"], p["period"], p["start"], p["retained_users"], p["retention_rate"]]
        for cohort in result.get("results") or []
        for p in cohort["retention"]
    ]
    return header, rows


def _paths(result: dict[str, Any]) -> Table:
    columns = ["source_step", "source", "target", "users", "average_conversion_seconds"]
    return columns, _columns(result.get("edges") or [], columns)


WEB_NUMBERS = ["visitors", "pageviews", "visits", "views_per_visit", "bounce_rate", "visit_duration_seconds"]
WEB_LISTS = [
    "pages",
    "entry_pages",
    "exit_pages",
    "referrers",
    "channels",
    "utm_sources",
    "utm_campaigns",
    "countries",
    "devices",
    "browsers",
    "os",
]


def _web(result: dict[str, Any]) -> Table:
    rows: list[list[Any]] = [["numbers", "", metric, result.get(metric)] for metric in WEB_NUMBERS]
    if result.get("compare"):
        rows.extend(["previous", "", metric, result["compare"].get(metric)] for metric in WEB_NUMBERS)
    for day in result.get("series") or []:
        rows.extend(["series", day["date"], metric, day[metric]] for metric in ("visitors", "pageviews"))
    for section in WEB_LISTS:
        for row in result.get(section) or []:
            rows.extend([section, row["value"], metric, v] for metric, v in row.items() if metric != "value")
    for goal in result.get("goals") or []:
        rows.extend(["goals", goal["name"], metric, v] for metric, v in goal.items() if metric != "name")
    return ["section", "name", "metric", "value"], rows


TABLES: dict[str, Callable[[dict[str, Any]], Table]] = {
    "trends": _trends,
    "funnels": _funnels,
    "retention": _retention,
    "stickiness": _simple(["intervals", "persons"]),
    "lifecycle": _simple(["date", "new", "returning", "resurrecting", "dormant"]),
    "paths": _paths,
    "active-users": _simple(["date", "users"]),
    "top-events": _simple(["event", "count", "users"]),
    "sessions": _simple(["date", "sessions", "avg_duration_seconds", "avg_events_per_session"]),
    "web": _web,
}


def insight_table(kind: str, result: dict[str, Any]) -> Table:
    """``(header, rows)`` of an insight's answer; KeyError for a kind without a table."""
    return TABLES[kind](result)

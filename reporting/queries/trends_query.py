"""``POST trends``: several series with their maths, a formula and the previous period, over the
query layer (analytics/query/trends.py). The GET form stays in trends.py."""

from __future__ import annotations

import ast
import datetime as dt

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.series import Breakdown
from analytics.query.source import EventScope
from analytics.query.trends import SeriesSpec, Values, formula_values, previous_period, series_values
from projects.models import Project
from reporting.queries.common import buckets, project_tz
from reporting.queries.trends import bucket_label, hour_buckets, series_order

FORMULA = "formula"


def trends_query(
    *,
    project: Project,
    series: list[SeriesSpec],
    date_from: dt.date,
    date_to: dt.date,
    interval: str,
    filters: Filters = NO_FILTERS,
    breakdown: Breakdown | None = None,
    formula: tuple[str, ast.Expression] | None = None,
    compare: bool = False,
    group_index: int | None = None,
) -> dict:
    """``{"series": [...], "formula": [...] | None, "compare": [...] | None}``, entries shaped
    ``{"label", "series", "breakdown_value", "data": [{"date", "value"}]}``."""
    where = (filters, group_index)
    current, current_formula = _period(project, series, date_from, date_to, interval, where, breakdown, formula)
    previous = None
    if compare:
        first, last = previous_period(date_from, date_to)
        entries, formula_entries = _period(project, series, first, last, interval, where, breakdown, formula)
        previous = entries + (formula_entries or [])
    return {"series": current, "formula": current_formula, "compare": previous}


def _period(
    project: Project,
    series: list[SeriesSpec],
    date_from: dt.date,
    date_to: dt.date,
    interval: str,
    where: tuple[Filters, int | None],
    breakdown: Breakdown | None,
    formula: tuple[str, ast.Expression] | None,
) -> tuple[list[dict], list[dict] | None]:
    tz = project_tz(project)
    keys: list = hour_buckets(date_from, date_to, tz) if interval == "hour" else buckets(date_from, date_to, interval)
    filters, group_index = where
    scope = EventScope(project.pk, tz, date_from, date_to, filters=filters, group_index=group_index)
    by_name = {spec.name: series_values(scope, spec, interval=interval, breakdown=breakdown) for spec in series}

    def entries(label: str, name: str, values: Values) -> list[dict]:
        ordered = sorted(values.items(), key=lambda item: series_order((item[0] or "", item[1])))
        return [
            {
                "label": label,
                "series": name,
                "breakdown_value": value,
                "data": [{"date": bucket_label(b, tz), "value": data.get(b, 0)} for b in keys],
            }
            for value, data in ordered
        ]

    out = [entry for spec in series for entry in entries(spec.event, spec.name, by_name[spec.name])]
    if formula is None:
        return out, None
    text, tree = formula
    return out, entries(text, FORMULA, formula_values(tree, by_name, keys))

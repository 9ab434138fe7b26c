"""Trends with several series: each series' values per bucket (and breakdown value), a formula
over them, and the same for the period before (``compare``).

Each series is its own question over the events (its event, its math, the query's filters and its
own); a breakdown ranks values per series. A formula is evaluated per bucket and breakdown value,
a series without that value counting 0.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.formula import formula_eval
from analytics.query.series import Breakdown, series_counts
from analytics.query.source import EventScope

Values = dict[str | None, dict[dt.date | dt.datetime, int | float]]  # breakdown value -> bucket -> value


@dataclass(frozen=True)
class SeriesSpec:
    name: str
    event: str
    math: str = "total"
    math_property: str | None = None
    filters: Filters = NO_FILTERS


def series_values(scope: EventScope, spec: SeriesSpec, *, interval: str, breakdown: Breakdown | None) -> Values:
    """One series: values by breakdown value (None without a breakdown) and bucket."""
    query = EventScope(
        scope.project_id,
        scope.tz,
        scope.date_from,
        scope.date_to,
        events=(spec.event,),
        filters=(*scope.filters, *spec.filters),
        group_index=scope.group_index,
    )
    values: Values = defaultdict(dict)
    if breakdown is None:
        values[None] = {}
    rows = series_counts(
        query, math=spec.math, interval=interval, breakdown=breakdown, math_property=spec.math_property
    )
    for bucket, label, value in rows:
        values[label][bucket] = value
    return dict(values)


def formula_values(tree: ast.Expression, by_name: dict[str, Values], buckets: list) -> Values:
    """The formula per breakdown value present in any series, per bucket."""
    labels: dict[str | None, None] = {}
    for values in by_name.values():
        labels.update(dict.fromkeys(values))
    out: Values = {}
    for label in labels:
        out[label] = {
            bucket: formula_eval(tree, {name: values.get(label, {}).get(bucket, 0) for name, values in by_name.items()})
            for bucket in buckets
        }
    return out


def previous_period(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """The same number of days, ending the day before ``date_from``."""
    days = (date_to - date_from).days + 1
    return date_from - dt.timedelta(days=days), date_from - dt.timedelta(days=1)

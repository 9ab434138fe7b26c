"""Running a saved insight: its stored query validated as its endpoint would, for the days its
date range means today (the project's today), with a dashboard's filters and range on top."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core import days as daysmod
from projects.models import Project
from reporting.insights.dates import DateRangeError, date_range_check, date_range_resolve
from reporting.insights.kinds import KINDS
from reporting.models import Dashboard, Insight

RANGE_KEYS = ("from", "to")


def project_today(project: Project) -> dt.date:
    return daysmod.local_date(timezone.now(), daysmod.zone(project.timezone))


def insight_params(
    *,
    project: Project,
    kind: str,
    query: dict[str, Any],
    date_range: dict[str, Any],
    extra_filters: list[Any] | None = None,
) -> dict[str, Any]:
    """The report's validated input, or a ValidationError keyed ``kind``, ``query.<field>`` or
    ``date_range`` (what a client sent when saving, so the 400 says where to look)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise serializers.ValidationError({"kind": f"unknown kind {kind!r}; use one of {', '.join(KINDS)}."})
    if not isinstance(query, dict):
        raise serializers.ValidationError({"query": "the query is a JSON object: the report's input."})
    if any(key in query for key in RANGE_KEYS):
        raise serializers.ValidationError({"query": "from/to go in date_range (it may be relative), not the query."})
    try:
        first, last = date_range_resolve(date_range, today=project_today(project))
    except DateRangeError as exc:
        raise serializers.ValidationError({"date_range": str(exc)}) from None
    data = {**query, "from": first.isoformat(), "to": last.isoformat()}
    if extra_filters:
        own = query.get("filters") or []
        if isinstance(own, str):
            # A GET report's filters may be saved as its query string takes them: JSON text.
            with contextlib.suppress(ValueError):
                own = json.loads(own)
        # (Filters that are not a list stay as they are: the report's serializer names the error.)
        data["filters"] = [*own, *extra_filters] if isinstance(own, list) else own
    serializer = spec.input(data=data, context={"project": project})
    if not serializer.is_valid():
        raise serializers.ValidationError(_prefixed(serializer.errors))
    return dict(serializer.validated_data)


def _prefixed(errors: Any) -> Any:
    if not isinstance(errors, dict):
        return {"query": errors}
    return {("date_range" if key in RANGE_KEYS else f"query.{key}"): value for key, value in errors.items()}


def insight_results(insight: Insight, *, dashboard: Dashboard | None = None) -> dict[str, Any]:
    """The insight's answer now: ``kind``, the resolved ``date_from``/``date_to`` and ``result``
    (the report endpoint's answer body). A dashboard adds its filters, and its range replaces
    the insight's when it has one."""
    date_range = insight.date_range
    extra: list[Any] = []
    if dashboard is not None:
        date_range = dashboard.date_range or date_range
        extra = list(dashboard.filters or [])
    spec = KINDS[insight.kind]
    p = insight_params(
        project=insight.project, kind=insight.kind, query=insight.query, date_range=date_range, extra_filters=extra
    )
    result = dict(spec.output({**spec.run(insight.project, p), "complete_until": None}).data)
    result.pop("complete_until")  # (the caller's answer carries it once, for every tile)
    return {
        "kind": insight.kind,
        "date_from": p["date_from"],
        "date_to": p["date_to"],
        "result": result,
    }


def date_range_valid(value: Any) -> dict[str, Any]:
    """``value`` in its stored shape, or a ValidationError saying what to fix."""
    try:
        return date_range_check(value)
    except DateRangeError as exc:
        raise serializers.ValidationError(str(exc)) from None

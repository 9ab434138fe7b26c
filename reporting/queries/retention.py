"""Retention: cohorts by first-seen period, activity per period from the per-day user bitmaps
in PostgreSQL (``retained = popcount(cohort & active)``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

from analytics.bitmaps import bitmap_to_int, int_from_keys
from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.retention import ANY_EVENTS, RetentionEvents, retention_counts
from analytics.query.series import OTHER_LABEL, Breakdown
from analytics.query.source import EventScope
from core import days as daysmod
from projects.models import Project
from reporting.queries.common import bitmap_rows, persons_first_seen, project_tz


def _period_days(period: str) -> int:
    return 7 if period == "week" else 1


def _retention_table(
    *,
    project: Project,
    cohort_starts: list[dt.date],
    periods: int,
    period: str,
    last_day: dt.date,
    filters: Filters = NO_FILTERS,
    spec: RetentionEvents = ANY_EVENTS,
    breakdown: Breakdown | None = None,
    group_index: int | None = None,
) -> list[dict]:
    """Cohorts by first-seen period and their retention (with a breakdown: per value, each cohort
    row carrying its ``breakdown_value``, values ordered by cohort size, "other" last).

    Unfiltered, from two queries: cohort membership from ``analytics_user.first_seen`` (first event
    ever, converted to the project's local day), activity per period as the OR of its day bitmaps,
    so ``retained = popcount(cohort & active)``. With filters, start/return events or a breakdown,
    the query layer counts the same table over the events; also for groups (``group_index``):
    the retention of the groups of that type.
    """
    step_days = _period_days(period)
    sizes: dict[tuple[str | None, int], int]
    retained: Mapping[tuple[str | None, int, int], int]
    if filters or not spec.is_default or breakdown is not None or group_index is not None:
        scope = EventScope(
            project.pk, project_tz(project), cohort_starts[0], last_day, filters=filters, group_index=group_index
        )
        sizes, retained = retention_counts(
            scope, spec=spec, cohort_starts=cohort_starts, step_days=step_days, last_day=last_day, breakdown=breakdown
        )
    else:
        sizes, retained = _bitmap_counts(project=project, cohort_starts=cohort_starts, step_days=step_days,
                                         periods=periods, last_day=last_day)  # fmt: skip
    labels: list[str | None] = [None]
    if breakdown is not None:
        totals: dict[str | None, int] = defaultdict(int)
        for (label, _), n in sizes.items():
            totals[label] += n
        labels = sorted(totals, key=lambda label: (label == OTHER_LABEL, -totals[label], label or ""))
    step = dt.timedelta(days=step_days)
    out = []
    for label in labels:
        for index, start in enumerate(cohort_starts):
            size = sizes.get((label, index), 0)
            rows = []
            for k in range(periods + 1):
                period_start = start + k * step
                if period_start > last_day:
                    break
                kept = retained.get((label, index, k), 0)
                rows.append(
                    {
                        "period": k,
                        "start": period_start,
                        "retained_users": kept,
                        "retention_rate": round(100.0 * kept / size, 2) if size else 0.0,
                    }
                )
            row = {"start_date": start, "cohort_size": size, "retention": rows}
            if breakdown is not None:
                row["breakdown_value"] = label
            out.append(row)
    return out


def _bitmap_counts(
    *, project: Project, cohort_starts: list[dt.date], step_days: int, periods: int, last_day: dt.date
) -> tuple[dict[tuple[str | None, int], int], dict[tuple[str | None, int, int], int]]:
    tz = project_tz(project)
    first, end = cohort_starts[0], cohort_starts[-1] + dt.timedelta(days=step_days)
    lo, hi = daysmod.local_range_bounds(first, end - dt.timedelta(days=1), tz)
    keys_by_cohort: dict[int, list[int]] = defaultdict(list)
    for day, keys in persons_first_seen(project=project, lo=lo, hi=hi):
        keys_by_cohort[(day - first).days // step_days].extend(keys)
    active_by_period: dict[int, int] = defaultdict(int)
    for day, users in bitmap_rows(project=project, event="", first=first, last=last_day):
        active_by_period[(day - first).days // step_days] |= bitmap_to_int(users)
    sizes: dict[tuple[str | None, int], int] = {}
    retained: dict[tuple[str | None, int, int], int] = {}
    for index in range(len(cohort_starts)):
        cohort = int_from_keys(keys_by_cohort.get(index, []))
        sizes[(None, index)] = cohort.bit_count()
        for k in range(periods + 1):
            retained[(None, index, k)] = (cohort & active_by_period.get(index + k, 0)).bit_count()
    return sizes, retained


def retention_get(
    *,
    project: Project,
    start_date: dt.date,
    windows: int,
    period: str,
    filters: Filters = NO_FILTERS,
    spec: RetentionEvents = ANY_EVENTS,
    breakdown: Breakdown | None = None,
    group_index: int | None = None,
) -> dict:
    """The cohort of ``start_date``'s period; with a breakdown, also a cohort row per value."""
    step = dt.timedelta(days=_period_days(period))
    last_day = start_date + step * (windows + 1) - dt.timedelta(days=1)

    def table(split: Breakdown | None) -> list[dict]:
        return _retention_table(
            project=project,
            cohort_starts=[start_date],
            periods=windows,
            period=period,
            last_day=last_day,
            filters=filters,
            spec=spec,
            breakdown=split,
            group_index=group_index,
        )

    answer = table(None)[0]
    if breakdown is not None:
        answer["breakdown"] = table(breakdown)
    return answer


def retention_cohorts(
    *,
    project: Project,
    date_from: dt.date,
    date_to: dt.date,
    period: str,
    filters: Filters = NO_FILTERS,
    spec: RetentionEvents = ANY_EVENTS,
) -> list[dict]:
    """The cohort triangle: one cohort per period starting at ``date_from``, periods up to ``date_to``."""
    step = dt.timedelta(days=_period_days(period))
    starts, current = [], date_from
    while current <= date_to:
        starts.append(current)
        current += step
    return _retention_table(
        project=project,
        cohort_starts=starts,
        periods=len(starts),
        period=period,
        last_day=date_to,
        filters=filters,
        spec=spec,
    )

"""Raw export: every event of a range from PostgreSQL, keyset-paginated on (timestamp, event_id)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from analytics.query.export import EXPORT_COLUMNS, export_iter, export_page
from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.source import EventScope
from core import days as daysmod
from events.models import WEB_COLUMNS
from projects.models import Project
from reporting.queries.common import fetchall, json_value, project_tz

# ``events``' columns of EXPORT_COLUMNS, in its order (a person's timeline reads them too).
EXPORT_SQL = (
    'event_id, event_name, source, user_id, is_anonymous, session_id, "timestamp", received_at, properties, '
    + ", ".join(WEB_COLUMNS)
)
_PROPERTIES = EXPORT_COLUMNS.index("properties")


@dataclass(frozen=True)
class ExportCursor:
    timestamp: dt.datetime
    event_id: str


def export_row(row: tuple) -> dict[str, Any]:
    """A row of ``SELECT {EXPORT_SQL}`` as the export renders it."""
    values = list(row)
    values[_PROPERTIES] = json_value(values[_PROPERTIES])
    return dict(zip(EXPORT_COLUMNS, values, strict=True))


def events_page(
    *,
    project: Project,
    date_from: dt.date,
    date_to: dt.date,
    event: str | None,
    limit: int,
    after: ExportCursor | None = None,
    filters: Filters = NO_FILTERS,
) -> tuple[list[dict], ExportCursor | None]:
    """One page of raw events in (timestamp, event_id) order; keyset pagination, no OFFSET."""
    if filters:
        scope = _scope(project, date_from, date_to, event, filters)
        keyset = (after.timestamp, after.event_id) if after else None
        page, more = export_page(scope, limit=limit, after=keyset)
        last = page[-1] if page else None
        return page, (ExportCursor(last["timestamp"], str(last["event_id"])) if more and last else None)
    lo, hi = daysmod.local_range_bounds(date_from, date_to, project_tz(project))
    where = ["project_id = %(p)s", '"timestamp" >= %(lo)s', '"timestamp" < %(hi)s']
    params: dict = {"p": project.pk, "lo": lo, "hi": hi, "n": limit + 1}
    if event:
        where.append("event_name = %(event)s")
        params["event"] = event
    if after is not None:
        where.append('("timestamp", event_id) > (%(ts)s, %(eid)s::uuid)')
        params.update(ts=after.timestamp, eid=after.event_id)
    rows = fetchall(
        f'SELECT {EXPORT_SQL} FROM events WHERE {" AND ".join(where)} ORDER BY "timestamp", event_id LIMIT %(n)s',
        params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    results = [export_row(row) for row in rows]
    next_cursor = ExportCursor(rows[-1][6], str(rows[-1][0])) if more else None
    return results, next_cursor


def _scope(project: Project, date_from: dt.date, date_to: dt.date, event: str | None, filters: Filters) -> EventScope:
    return EventScope(
        project.pk, project_tz(project), date_from, date_to, events=(event,) if event else (), filters=filters
    )


def events_iter(
    *,
    project: Project,
    date_from: dt.date,
    date_to: dt.date,
    event: str | None,
    chunk: int = 5000,
    filters: Filters = NO_FILTERS,
) -> Iterator[dict]:
    """Every matching event, read in keyset chunks so a large export never sits in memory."""
    if filters:
        yield from export_iter(_scope(project, date_from, date_to, event, filters), chunk=chunk)
        return
    after = None
    while True:
        rows, after = events_page(
            project=project, date_from=date_from, date_to=date_to, event=event, limit=chunk, after=after
        )
        yield from rows
        if after is None:
            return

"""The events a query reads, as one DuckDB relation: scoped, filtered, with each row's person.

Every report that the rollups cannot answer (a filter, a person breakdown) reads this relation:
the project's events in a local date range, optionally of some event names, with the filters'
predicate applied and ``person`` the identity-merged key (persons.identity). Person properties
are joined only when a filter or breakdown needs them.

Today the rows come from PostgreSQL through DuckDB's postgres extension (the project and time
bounds reach PostgreSQL, so partitions are pruned and the (project, timestamp) index is used).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.predicates import Relation, filters_predicate, uses_person_properties
from core import days as daysmod
from events.duck import ATTACHED_AS, duckdb_cursor
from persons.identity import person_join_duckdb, person_key_duckdb, person_properties_join_duckdb

PERSON_PROPERTIES = "person_properties"


@dataclass(frozen=True)
class EventScope:
    """Which events a question is about: a project, local days, event names, filters."""

    project_id: int
    tz: zoneinfo.ZoneInfo
    date_from: dt.date
    date_to: dt.date
    events: tuple[str, ...] = ()  # empty: every event
    filters: Filters = NO_FILTERS
    person_properties: bool = False  # also when no filter needs them (a person breakdown)

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return daysmod.local_range_bounds(self.date_from, self.date_to, self.tz)


def events_relation(scope: EventScope) -> tuple[str, list[Any]]:
    """``SELECT … FROM events …`` with columns event_id, event_name, source, user_id, is_anonymous,
    session_id, ts, received_at, properties (JSON text), person and, when needed,
    person_properties (JSON text). DuckDB reads only the columns a query uses."""
    lo, hi = scope.bounds
    with_person_properties = scope.person_properties or uses_person_properties(scope.filters)
    predicate = filters_predicate(
        scope.filters, tz=scope.tz, relation=Relation(alias="e", person_properties="CAST(pp.properties AS VARCHAR)")
    )
    params: list[Any] = [scope.project_id, lo, hi]
    names = ""
    if scope.events:
        # Literals, not parameters: DuckDB pushes a literal IN list down to PostgreSQL (and so
        # the (project, timestamp, event_name) index), a list of parameters it does not.
        names = f" AND e.event_name IN ({', '.join(sql_string(name) for name in scope.events)})"
    params.extend(predicate.params)
    joins = person_join_duckdb(catalog=ATTACHED_AS, events="e", link="d")
    person_columns = ""
    if with_person_properties:
        joins += "\n" + person_properties_join_duckdb(catalog=ATTACHED_AS, link="d", person="pp")
        person_columns = f", CAST(pp.properties AS VARCHAR) AS {PERSON_PROPERTIES}"
    sql = (
        'SELECT e.event_id, e.event_name, e.source, e.user_id, e.is_anonymous, e.session_id, e."timestamp" AS ts, '
        "e.received_at, "
        f"CAST(e.properties AS VARCHAR) AS properties, {person_key_duckdb(events='e', link='d')} AS person"
        f"{person_columns}\n"
        f"FROM {ATTACHED_AS}.public.events e\n{joins}\n"
        f'WHERE e.project_id = ? AND e."timestamp" >= ? AND e."timestamp" < ?{names} AND ({predicate.sql})'
    )
    return sql, params


def sql_string(value: str) -> str:
    """A SQL string literal (for the few values that must be literals to reach PostgreSQL)."""
    return "'" + value.replace("'", "''") + "'"


def query_rows(sql: str, params: list[Any], *, tz: zoneinfo.ZoneInfo) -> list[tuple]:
    """Run a query in the project's time zone (date_trunc, date casts and naive texts follow it)."""
    cur = duckdb_cursor()
    try:
        cur.execute(f"SET TimeZone = '{tz.key}'")
        return cur.execute(sql, params).fetchall()
    finally:
        cur.close()

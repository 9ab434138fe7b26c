"""The events a query reads, as one DuckDB relation: scoped, filtered, with each row's person.

Every report that the rollups cannot answer (a filter, a person breakdown) reads this relation:
the project's events in a local date range, optionally of some event names, with the filters'
predicate applied and ``person`` the identity-merged key (persons.identity). Person properties
are joined only when a filter or breakdown needs them.

The rows of a UTC day come from its columnar file when it has a current one (events.columnar),
otherwise from PostgreSQL through DuckDB's postgres extension (the project and time bounds reach
PostgreSQL as literals, so partitions are pruned and the (project, timestamp) index is used).

The event property keys a question reads (its filters', and the scope's ``property_keys``: a
breakdown's, a math property's) are columns of the relation, a text and a number each
(events.columnar's ``text_column``/``number_column``): read from the file where it has them as
typed columns, else extracted from the JSON, so the rest of the query does not care which.

A question that counts groups (``EventScope.group_index``: "active companies") gets the events'
key of that group type as ``person``, the unit every report counts, and only events with a group
of that type: trends, funnels, retention, stickiness, lifecycle and paths then count groups with
no change of theirs. Only columnar files of a layout with the group columns serve it
(events.columnar.GROUPS_LAYOUT); the days of older files are read from PostgreSQL until the job
has rewritten them, while every other question keeps reading them.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, replace
from typing import Any

from analytics.query.filters import NO_FILTERS, Filters, Leaf
from analytics.query.predicates import (
    Relation,
    event_property_keys,
    filters_predicate,
    group_filter_indexes,
    uses_person_properties,
)
from core import days as daysmod
from events.columnar import (
    BASE_COLUMNS,
    COLUMNS,
    GROUPS_LAYOUT,
    READABLE_LAYOUT,
    columnar_clean_days,
    columnar_path,
    json_path,
    number_column,
    text_column,
)
from events.duck import ATTACHED_AS, duckdb_cursor, duckdb_sql_string
from events.models import GROUP_COLUMNS, WEB_COLUMNS
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
    property_keys: tuple[str, ...] = ()  # event property keys read besides the filters'
    group_index: int | None = None  # count groups of this type (persons.groups) instead of persons

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return daysmod.local_range_bounds(self.date_from, self.date_to, self.tz)

    @property
    def typed_keys(self) -> tuple[str, ...]:
        """The event property keys with a text and a number column in the relation."""
        return tuple(dict.fromkeys((*event_property_keys(self.filters), *self.property_keys)))

    def narrowed(self, *filters: Leaf) -> EventScope:
        """The same scope, with these filters AND-ed to its own."""
        return replace(self, filters=(*self.filters, *filters))

    def reading(self, *keys: str) -> EventScope:
        """The same scope, also reading these event property keys."""
        return replace(self, property_keys=tuple(dict.fromkeys((*self.property_keys, *keys))))

    @property
    def group_column(self) -> str | None:
        """The events' column holding the key of the counted group type, if groups are counted."""
        return None if self.group_index is None else GROUP_COLUMNS[self.group_index]

    @property
    def group_indexes(self) -> tuple[int, ...]:
        """The group columns the question reads: the counted type's, and the group filters'."""
        counted = () if self.group_index is None else (self.group_index,)
        return tuple(sorted({*counted, *group_filter_indexes(self.filters)}))


def events_relation(scope: EventScope) -> tuple[str, list[Any]]:
    """``SELECT … FROM events …`` with columns event_id, event_name, source, user_id, is_anonymous,
    session_id, ts, received_at, properties (JSON text), the web columns (events.models.WEB_COLUMNS),
    person, a text and a number column per
    key of ``scope.typed_keys`` and, when needed, person_properties (JSON text). DuckDB reads only
    the columns a query uses.

    The rows of UTC days with a current columnar file come from the files, the others from
    PostgreSQL (events.columnar): the same rows either way."""
    lo, hi = scope.bounds
    keys = scope.typed_keys
    with_person_properties = scope.person_properties or uses_person_properties(scope.filters)
    predicate = filters_predicate(
        scope.filters,
        tz=scope.tz,
        relation=Relation(
            alias="e",
            person_properties="CAST(pp.properties AS VARCHAR)",
            typed=frozenset(keys),
            person=person_key_duckdb(events="e", link="d"),
            group_properties="CAST(g{index}.properties AS VARCHAR)",
        ),
    )
    person = person_key_duckdb(events="e", link="d")
    joins, grouped = person_join_duckdb(catalog=ATTACHED_AS, events="e", link="d"), ""
    if scope.group_column is not None:
        # Counting groups needs persons only for a cohort filter (the predicate names the person
        # key) or person properties: otherwise no join through PostgreSQL's links table.
        if not with_person_properties and person not in predicate.sql:
            joins = ""
        person, grouped = f"e.{scope.group_column}", f" AND e.{scope.group_column} IS NOT NULL"
    person_columns = ""
    if with_person_properties:
        joins += "\n" + person_properties_join_duckdb(catalog=ATTACHED_AS, link="d", person="pp")
        person_columns = f", CAST(pp.properties AS VARCHAR) AS {PERSON_PROPERTIES}"
    for index in group_filter_indexes(scope.filters):  # one group per (type, key): no row is doubled
        joins += (
            f"\nLEFT JOIN {ATTACHED_AS}.public.persons_group g{index} ON g{index}.project_id = {int(scope.project_id)} "
            f"AND g{index}.group_type_index = {index} AND g{index}.group_key = e.{GROUP_COLUMNS[index]}"
        )
    typed = "".join(f", e.{text_column(key)}, e.{number_column(key)}" for key in keys)
    sql = (
        'SELECT e.event_id, e.event_name, e.source, e.user_id, e.is_anonymous, e.session_id, e."timestamp" AS ts, '
        f"e.received_at, e.properties, {_WEB}, "
        f"{person} AS person{person_columns}{typed}\n"
        f"FROM ({_stored_rows(scope, lo, hi, keys)}) e\n{joins}\n"
        f"WHERE ({predicate.sql}){grouped}"
    )
    return sql, predicate.params


def _stored_rows(scope: EventScope, lo: dt.datetime, hi: dt.datetime, keys: tuple[str, ...]) -> str:
    """The scope's stored rows: a ``read_parquet`` per set of the files that have the same of
    ``keys`` as typed columns, and a PostgreSQL scan per run of consecutive other days. Every
    bound is a literal, so DuckDB hands it to PostgreSQL (its index, its partitions) and to the
    Parquet reader (row groups skipped by their statistics, typed columns' too)."""
    first, last = lo.astimezone(dt.UTC).date(), (hi - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
    # A file gone from the disk (a lost volume, a hand clean-up) is read from PostgreSQL instead.
    layout = GROUPS_LAYOUT if scope.group_indexes else READABLE_LAYOUT
    clean = {
        day: typed
        for day, typed in columnar_clean_days(
            project_id=scope.project_id, first=first, last=last, layout=layout
        ).items()
        if columnar_path(scope.project_id, day).exists()
    }
    names = ""
    if scope.events:
        names = f" AND event_name IN ({', '.join(duckdb_sql_string(name) for name in scope.events)})"
    group = "".join(f", {GROUP_COLUMNS[index]}" for index in scope.group_indexes)
    if scope.group_column is not None:  # in the scans too: rows of no group are skipped early
        names += f" AND {scope.group_column} IS NOT NULL"
    by_keys: dict[frozenset[str], list[dt.date]] = {}
    for day in sorted(clean):
        by_keys.setdefault(clean[day].intersection(keys), []).append(day)
    branches = []
    for typed, days in by_keys.items():
        files = ", ".join(duckdb_sql_string(str(columnar_path(scope.project_id, day))) for day in days)
        branches.append(
            f"SELECT {int(scope.project_id)} AS project_id, {BASE_COLUMNS}{group}{_typed_columns(keys, typed)} "
            f"FROM read_parquet([{files}], union_by_name = true) WHERE {_between(lo, hi)}{names}"
        )
    for start, end in _runs([day for day in daysmod.days_between(first, last) if day not in clean]):
        run_lo = max(lo, dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC))
        run_hi = min(hi, dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC))
        branches.append(
            f"SELECT *{_typed_columns(keys, frozenset())} FROM (SELECT project_id, {COLUMNS}{group} "
            f"FROM {ATTACHED_AS}.public.events WHERE project_id = {int(scope.project_id)} "
            f"AND {_between(run_lo, run_hi)}{names})"
        )
    return "\nUNION ALL\n".join(branches)


def _typed_columns(keys: tuple[str, ...], stored: frozenset[str]) -> str:
    """Each key's text and number columns, as stored in the file or extracted from ``properties``
    as the file writer extracts them (one JSON parse per row for all keys)."""
    missing = [key for key in keys if key not in stored]
    paths = ", ".join(duckdb_sql_string(json_path(key)) for key in missing)
    extracted = {key: f"json_extract_string(properties, [{paths}])[{i}]" for i, key in enumerate(missing, start=1)}
    columns = []
    for key in keys:
        if key in stored:
            columns.append(f"{text_column(key)}, {number_column(key)}")
        else:
            text = extracted[key]
            columns.append(f"{text} AS {text_column(key)}, TRY_CAST({text} AS DOUBLE) AS {number_column(key)}")
    return "".join(", " + column for column in columns)


_WEB = ", ".join(f"e.{name}" for name in WEB_COLUMNS)


def _between(lo: dt.datetime, hi: dt.datetime) -> str:
    return f"\"timestamp\" >= TIMESTAMPTZ '{lo.isoformat()}' AND \"timestamp\" < TIMESTAMPTZ '{hi.isoformat()}'"


def _runs(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) pairs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in days:
        if runs and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def query_rows(sql: str, params: list[Any], *, tz: zoneinfo.ZoneInfo) -> list[tuple]:
    """Run a query in the project's time zone (date_trunc, date casts and naive texts follow it)."""
    cur = duckdb_cursor()
    try:
        cur.execute(f"SET TimeZone = '{tz.key}'")
        return cur.execute(sql, params).fetchall()
    finally:
        cur.close()

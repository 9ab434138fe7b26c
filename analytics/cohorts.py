"""Cohorts: who belongs, computed from a definition over the project's events and persons.

A dynamic cohort is persons matching its person filters and its behaviour rows ("did ``purchase``
at least twice in the last 30 days, with these filters"), all of them (``match: all``) or any.
The persons considered are those with at least one stored event in the project (identity-merged:
a person whose ids merged is one member, with every id's events). Days are the project's local
days: "the last 30 days" are today and the 29 before it. A static cohort is a list of ids, each
counted as its person. Members are stored by persons.cohorts; this module decides them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from analytics.query.filters import NO_FILTERS, CohortFilter, FilterError, Filters, filter_leaves, filters_parse
from analytics.query.predicates import Relation, event_property_keys, filters_predicate, uses_person_properties
from analytics.query.source import EventScope, events_relation, query_rows
from core import days as daysmod
from core import locks
from events.duck import duckdb_sql_string
from persons.cohorts import cohort_exists, cohort_members_replace, person_keys_of_ids
from persons.models import Cohort
from projects.models import Project

logger = logging.getLogger(__name__)

OPERATORS = {"gte": ">=", "lte": "<=", "exact": "="}
MATCHES = ("all", "any")
MAX_BEHAVIOUR_DAYS = 3660


class CohortError(ValueError):
    """A definition that cannot be computed: ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Behaviour:
    event: str
    operator: str  # gte | lte | exact
    count: int
    days: int
    filters: Filters = NO_FILTERS


@dataclass(frozen=True)
class Definition:
    filters: Filters = NO_FILTERS  # person properties and other cohorts
    behaviour: tuple[Behaviour, ...] = ()
    match: str = "all"
    user_ids: tuple[str, ...] = field(default=())  # static cohorts


def definition_parse(
    project: Project, kind: str, raw: Mapping[str, Any], *, cohort_id: int | None = None
) -> Definition:
    """Check a cohort's definition (the request body's fields); CohortError names the field."""

    def known(other: int) -> bool:
        if cohort_id is not None and other == cohort_id:
            raise CohortError("filters", f"a cohort cannot reference itself (cohort {other}).")
        return cohort_exists(project_id=project.pk, cohort_id=other)

    if kind == Cohort.STATIC:
        ids = raw.get("user_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and 0 < len(i) <= 200 for i in ids):
            raise CohortError("user_ids", "a static cohort needs user_ids: a non-empty list of ids (strings).")
        return Definition(user_ids=tuple(dict.fromkeys(ids)))
    try:
        filters = filters_parse(raw.get("filters"), path="filters", cohort_exists=known)
    except FilterError as exc:
        raise CohortError("filters", str(exc)) from None
    for leaf in filter_leaves(filters):
        if not isinstance(leaf, CohortFilter) and leaf.type != "person":
            raise CohortError("filters", "a cohort's filters are person properties or cohorts; events go in behaviour.")
    rows = raw.get("behaviour") or []
    if not isinstance(rows, list):
        raise CohortError("behaviour", "behaviour is a list of {event, operator, count, days, filters}.")
    behaviour = tuple(_behaviour(row, f"behaviour[{i}]", known) for i, row in enumerate(rows))
    match = raw.get("match", "all")
    if match not in MATCHES:
        raise CohortError("match", "match is 'all' or 'any'.")
    if not filters and not behaviour:
        raise CohortError("filters", "a dynamic cohort needs filters, behaviour, or both.")
    return Definition(filters=filters, behaviour=behaviour, match=match)


def _behaviour(row: Any, path: str, known: Callable[[int], bool]) -> Behaviour:
    """One behaviour row, checked (whether its event exists is the caller's: reporting knows)."""
    if not isinstance(row, dict):
        raise CohortError(path, "a behaviour row is {event, operator, count, days, filters}.")
    extra = set(row) - {"event", "operator", "count", "days", "filters"}
    if extra:
        raise CohortError(path, f"unknown key(s) {sorted(extra)}.")
    event = row.get("event")
    if not isinstance(event, str) or not event:
        raise CohortError(f"{path}.event", "an event name is required.")
    operator = row.get("operator", "gte")
    if operator not in OPERATORS:
        raise CohortError(f"{path}.operator", "operator is 'gte', 'lte' or 'exact'.")
    count, days = row.get("count", 1), row.get("days", 30)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 1_000_000:
        raise CohortError(f"{path}.count", "count is an integer from 0 to 1000000.")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_BEHAVIOUR_DAYS:
        raise CohortError(f"{path}.days", f"days is an integer from 1 to {MAX_BEHAVIOUR_DAYS}.")
    try:
        filters = filters_parse(row.get("filters"), path=f"{path}.filters", cohort_exists=known)
    except FilterError as exc:
        raise CohortError(f"{path}.filters", str(exc)) from None
    return Behaviour(event=event, operator=operator, count=count, days=days, filters=filters)


def definition_of(cohort: Cohort) -> Definition:
    """The stored definition (it was checked when saved)."""
    raw = cohort.definition
    if cohort.kind == Cohort.STATIC:
        return Definition(user_ids=tuple(raw.get("user_ids", ())))
    behaviour = tuple(
        Behaviour(
            event=row["event"],
            operator=row.get("operator", "gte"),
            count=row.get("count", 1),
            days=row.get("days", 30),
            filters=filters_parse(row.get("filters"), cohort_exists=lambda _id: True),
        )
        for row in raw.get("behaviour") or []
    )
    filters = filters_parse(raw.get("filters"), cohort_exists=lambda _id: True)
    return Definition(filters=filters, behaviour=behaviour, match=raw.get("match", "all"))


def cohort_members(project: Project, definition: Definition, *, now: dt.datetime | None = None) -> list[str]:
    """The person keys of the cohort's members as of ``now``."""
    if definition.user_ids:
        return person_keys_of_ids(project_id=project.pk, user_ids=definition.user_ids)
    tz = daysmod.zone(project.timezone)
    today = daysmod.local_date(now or timezone.now(), tz)
    keys = [key for row in definition.behaviour for key in event_property_keys(row.filters)]
    needs_person = uses_person_properties(definition.filters) or any(
        uses_person_properties(row.filters) for row in definition.behaviour
    )
    scope = EventScope(project.pk, tz, daysmod.EARLIEST_DAY, today, person_properties=needs_person).reading(*keys)
    relation, params = events_relation(scope)
    row_relation = Relation(
        alias="ev", person_properties="ev.person_properties", typed=frozenset(scope.typed_keys), person="ev.person"
    )
    tests: list[str] = []
    having_params: list[Any] = []
    if definition.filters:
        predicate = filters_predicate(definition.filters, tz=tz, relation=row_relation)
        tests.append(f"coalesce(bool_or({predicate.sql}), FALSE)")
        having_params.extend(predicate.params)
    for row in definition.behaviour:
        since = daysmod.local_midnight(today - dt.timedelta(days=row.days - 1), tz)
        predicate = filters_predicate(row.filters, tz=tz, relation=row_relation)
        tests.append(
            f"count(*) FILTER (WHERE ev.event_name = {duckdb_sql_string(row.event)} "
            f"AND ev.ts >= TIMESTAMPTZ '{since.isoformat()}' AND ({predicate.sql})) {OPERATORS[row.operator]} ?"
        )
        having_params.extend([*predicate.params, row.count])
    joiner = " AND " if definition.match == "all" else " OR "
    rows = query_rows(
        f"SELECT ev.person FROM ({relation}) ev GROUP BY ev.person HAVING {joiner.join(tests)}",
        [*params, *having_params],
        tz=tz,
    )
    return [row[0] for row in rows]


def cohorts_compute_due(*, deadline_seconds: float = 50.0, now: dt.datetime | None = None) -> int:
    """Compute the cohorts that are new or changed (``computed_at`` unset), then those computed
    longer than COHORT_REFRESH_SECONDS ago, oldest first, until the deadline; returns how many.
    One computer at a time (an advisory lock): two could otherwise interleave a cohort's members."""
    started = time.monotonic()
    refresh = dt.timedelta(seconds=settings.EVENTBASE["COHORT_REFRESH_SECONDS"])
    stale = (now or timezone.now()) - refresh
    done = 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [locks.COHORTS])
        if not cur.fetchone()[0]:
            return 0
        due = Cohort.objects.filter(Q(computed_at__isnull=True) | Q(computed_at__lt=stale)).order_by(
            F("computed_at").asc(nulls_first=True), "pk"
        )
        for cohort in due:
            if time.monotonic() - started > deadline_seconds:
                break
            try:
                with transaction.atomic():
                    cohort_compute(cohort)
            except Exception:  # one broken cohort must not starve the others
                logger.exception("cohort not computed", extra={"cohort": cohort.pk})
            done += 1
    return done


def cohort_compute(cohort: Cohort) -> int:
    """Compute and store the cohort's members; returns how many."""
    project = Project.objects.get(pk=cohort.project_id)
    started = timezone.now()
    members = cohort_members(project, definition_of(cohort), now=started)
    count = cohort_members_replace(cohort=cohort, persons=members, computed_at=started)
    logger.info("cohort computed", extra={"cohort": cohort.pk, "members": count})
    return count

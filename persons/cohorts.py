"""Cohorts' members: stored, replaced and read here, where persons' tables live.

A member is a person key (persons.identity: ``person:<id>`` for an id linked to a person, else
the id itself), the same key the query layer counts persons by, so a cohort filter is one
``IN`` over this table. What decides membership (a definition over events) is computed above,
in analytics.cohorts; this module only stores the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from persons.identity import person_key
from persons.models import Cohort, CohortMember

_TABLE = CohortMember._meta.db_table


def cohort_members_duckdb(*, catalog: str) -> str:
    """DuckDB: the person keys of the cohort whose id is the one ``?`` placeholder."""
    return f"SELECT person FROM {catalog}.public.{_TABLE} WHERE cohort_id = ?"


def cohorts_members_duckdb(*, catalog: str, cohort_ids: Iterable[int]) -> str:
    """DuckDB: ``(cohort_id, person)`` of these cohorts' members."""
    ids = ", ".join(str(int(cohort_id)) for cohort_id in cohort_ids)
    return f"SELECT cohort_id, person FROM {catalog}.public.{_TABLE} WHERE cohort_id IN ({ids})"


def cohort_names(*, project_id: int, cohort_ids: Iterable[int]) -> dict[int, str]:
    """The names of these cohorts of the project, by id (a breakdown's labels)."""
    return dict(Cohort.objects.filter(project_id=project_id, pk__in=list(cohort_ids)).values_list("pk", "name"))


def cohort_exists(*, project_id: int, cohort_id: int) -> bool:
    return Cohort.objects.filter(project_id=project_id, pk=cohort_id).exists()


def person_keys_of_ids(*, project_id: int, user_ids: Iterable[str]) -> list[str]:
    """The person key of each id (an id of no person is its own key), once each."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT DISTINCT {person_key(events='ids')} "
            "FROM (SELECT %s::int AS project_id, unnest(%s::text[]) AS user_id) ids",
            [project_id, ids],
        )
        return [row[0] for row in cur.fetchall()]


def cohort_members_replace(*, cohort: Cohort, persons: Iterable[str], computed_at: dt.datetime | None = None) -> int:
    """Make ``persons`` the cohort's members (one transaction: a reader sees the old set or the new)."""
    members = sorted(set(persons))
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {_TABLE} WHERE cohort_id = %s", [cohort.pk])
        with cur.connection.cursor().copy(f"COPY {_TABLE} (cohort_id, person) FROM STDIN") as copy:
            for person in members:
                copy.write_row((cohort.pk, person))
        Cohort.objects.filter(pk=cohort.pk).update(count=len(members), computed_at=computed_at or timezone.now())
    return len(members)


def cohort_members_page(*, cohort: Cohort, limit: int, after: str | None) -> list[str]:
    """Up to ``limit`` members in key order, after the key ``after``."""
    members = CohortMember.objects.filter(cohort_id=cohort.pk)
    if after is not None:
        members = members.filter(person__gt=after)
    return list(members.order_by("person").values_list("person", flat=True)[:limit])


def cohorts_of_person(*, project_id: int, person: str) -> list[Cohort]:
    ids = CohortMember.objects.filter(person=person).values("cohort_id")
    return list(Cohort.objects.filter(project_id=project_id, pk__in=ids).order_by("pk"))


def cohort_members_forget(*, project_id: int, keys: Iterable[str], ids: Iterable[str]) -> None:
    """An erased person leaves every cohort of the project now (not at the next computation), and
    their ids leave static cohorts' lists."""
    erased = set(ids)
    with connection.cursor() as cur:
        cur.execute(
            f"DELETE FROM {_TABLE} m USING {Cohort._meta.db_table} c "
            "WHERE c.id = m.cohort_id AND c.project_id = %s AND m.person = ANY(%s)",
            [project_id, sorted(set(keys))],
        )
    for cohort in Cohort.objects.filter(project_id=project_id, kind=Cohort.STATIC):
        kept = [i for i in cohort.definition.get("user_ids", []) if i not in erased]
        if len(kept) != len(cohort.definition.get("user_ids", [])):
            Cohort.objects.filter(pk=cohort.pk).update(definition={**cohort.definition, "user_ids": kept})

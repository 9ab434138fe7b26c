"""Reading persons."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from persons.identity import PERSON_KEY_PREFIX
from persons.models import Person, PersonDistinctId


def person_get(*, project_id: int, distinct_id: str) -> dict[str, Any] | None:
    """The person an id belongs to: its id, properties and every id linked to it."""
    link = (
        PersonDistinctId.objects.select_related("person").filter(project_id=project_id, distinct_id=distinct_id).first()
    )
    if link is None:
        return None
    ids = sorted(
        PersonDistinctId.objects.filter(project_id=project_id, person_id=link.person_id).values_list(
            "distinct_id", flat=True
        )
    )
    return {"id": link.person_id, "properties": link.person.properties, "distinct_ids": ids}


def person_distinct_ids(*, project_id: int, distinct_id: str) -> list[str]:
    """Every id of the person ``distinct_id`` belongs to; ``[distinct_id]`` for an id of no person."""
    ids = PersonDistinctId.objects.filter(
        project_id=project_id,
        person_id__in=PersonDistinctId.objects.filter(project_id=project_id, distinct_id=distinct_id).values(
            "person_id"
        ),
    ).values_list("distinct_id", flat=True)
    return sorted({distinct_id, *ids})


@dataclass(frozen=True)
class PersonRecord:
    """A person as the persons endpoints name it: ``key`` is the identity rule's person key
    (``persons.identity``): ``person:<id>`` for a person row, the id itself for an id of no person."""

    key: str
    person_id: int | None
    distinct_ids: list[str]
    properties: dict[str, Any]


def persons_load(*, project_id: int, person_ids: Collection[int]) -> dict[int, PersonRecord]:
    """The person rows ``person_ids`` of the project with their properties and every linked id."""
    ids: dict[int, list[str]] = {}
    for person_id, distinct_id in PersonDistinctId.objects.filter(
        project_id=project_id, person_id__in=person_ids
    ).values_list("person_id", "distinct_id"):
        ids.setdefault(person_id, []).append(distinct_id)
    return {
        pk: PersonRecord(f"{PERSON_KEY_PREFIX}{pk}", pk, sorted(ids.get(pk, [])), properties)
        for pk, properties in Person.objects.filter(project_id=project_id, id__in=person_ids).values_list(
            "id", "properties"
        )
    }


# A person id is a bigint; a longer run of digits is no person's (and would not fit the column).
_PERSON_ID = re.compile(r"[0-9]{1,18}")


def person_resolve(*, project_id: int, key: str) -> PersonRecord:
    """The person a key names: ``person:<id>`` is that person row, an id linked to a person is its
    person (a person can be looked up by any of its ids); any other text is an id of no person,
    whose existence the caller checks against its events. A key of a person row that does not
    exist (merged away, erased) is an id of no person too, so it is found only if events have it."""
    person_id: int | None = None
    if key.startswith(PERSON_KEY_PREFIX) and _PERSON_ID.fullmatch(key[len(PERSON_KEY_PREFIX) :]):
        person_id = int(key[len(PERSON_KEY_PREFIX) :])
        if not Person.objects.filter(project_id=project_id, id=person_id).exists():
            person_id = None
    if person_id is None:
        person_id = (
            PersonDistinctId.objects.filter(project_id=project_id, distinct_id=key)
            .values_list("person_id", flat=True)
            .first()
        )
    if person_id is None:
        return PersonRecord(key, None, [key], {})
    return persons_load(project_id=project_id, person_ids=[person_id])[person_id]

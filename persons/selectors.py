"""Reading persons."""

from __future__ import annotations

from typing import Any

from persons.models import PersonDistinctId


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

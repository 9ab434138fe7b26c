"""A project's annotations: dated notes the time-series charts draw as markers.

The API validates the fields (reporting.annotation_serializers); these functions store and read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from analytics.models import Annotation


def annotations_in_range(*, project_id: int, first: dt.date | None, last: dt.date | None) -> QuerySet[Annotation]:
    """The project's annotations from ``first`` to ``last`` (inclusive; None: no bound), by date."""
    annotations = Annotation.objects.filter(project_id=project_id).select_related("created_by")
    if first is not None:
        annotations = annotations.filter(date__gte=first)
    if last is not None:
        annotations = annotations.filter(date__lte=last)
    return annotations.order_by("date", "id")


def annotation_get(*, project_id: int, annotation_id: int) -> Annotation | None:
    """The annotation of that id in that project: another project's id is None, as a missing one."""
    return Annotation.objects.filter(project_id=project_id, pk=annotation_id).select_related("created_by").first()


def annotation_create(*, project_id: int, date: dt.date, text: str, user_id: int | None) -> Annotation:
    return Annotation.objects.create(project_id=project_id, date=date, text=text, created_by_id=user_id)


def annotation_update(*, annotation: Annotation, changes: dict[str, Any]) -> Annotation:
    """Change the date and/or text; the author stays the one who wrote it first."""
    fields = [name for name in ("date", "text") if name in changes]
    for name in fields:
        setattr(annotation, name, changes[name])
    annotation.save(update_fields=[*fields, "updated_at"])
    return annotation

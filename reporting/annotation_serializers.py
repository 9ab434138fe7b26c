"""The annotations API's shapes: a dated note's body, the range a list is asked for, and the answers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from analytics.models import Annotation
from reporting.serializers import _date_field


class AnnotationInput(serializers.Serializer):
    """POST (both fields required) and PATCH (the fields to change) bodies."""

    date = _date_field(help_text="The project's local day (YYYY-MM-DD) the note is about.")
    # Trimmed first, so a note of blanks is refused as empty ("may not be blank"), not stored.
    text = serializers.CharField(max_length=Annotation.MAX_TEXT, help_text="The note, at most 400 characters.")


class AnnotationRangeInput(serializers.Serializer):
    """``from`` and ``to``: inclusive local dates, each optional (no bound on that side)."""

    def get_fields(self) -> dict:
        fields = super().get_fields()
        # "from" is a Python keyword, so the field is added under its wire name here.
        fields["from"] = _date_field(required=False, help_text="First day (YYYY-MM-DD), inclusive.")
        fields["to"] = _date_field(required=False, help_text="Last day (YYYY-MM-DD), inclusive.")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "from" in attrs and "to" in attrs and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": f"must not be after to ({attrs['to'].isoformat()})."})
        return attrs


class AnnotationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    text = serializers.CharField()
    created_by = serializers.CharField(allow_null=True, help_text="The author's username; null for a deleted account.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AnnotationListOutput(serializers.Serializer):
    results = AnnotationOutput(many=True, help_text="By date, then by creation.")


def annotation_out(annotation: Annotation) -> dict:
    author = annotation.created_by
    return AnnotationOutput(
        {
            "id": annotation.pk,
            "date": annotation.date,
            "text": annotation.text,
            "created_by": author.get_username() if author is not None else None,
            "created_at": annotation.created_at,
            "updated_at": annotation.updated_at,
        }
    ).data

"""The cohorts API's shapes: what a client sends to define a cohort, and what it gets back."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from analytics.cohorts import CohortError, definition_parse
from persons.models import Cohort
from reporting.cursors import decode_cursor
from reporting.queries.common import unknown_events


class CohortInput(serializers.Serializer):
    """POST (every field but name optional) and PATCH (every field optional) bodies."""

    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=[Cohort.DYNAMIC, Cohort.STATIC], default=Cohort.DYNAMIC)
    filters = serializers.JSONField(required=False, help_text="Person-property (or cohort) filters.")
    behaviour = serializers.JSONField(
        required=False, help_text='[{"event", "operator": "gte"|"lte"|"exact", "count", "days", "filters"}]'
    )
    match = serializers.ChoiceField(choices=["all", "any"], default="all")
    user_ids = serializers.ListField(
        child=serializers.CharField(max_length=200, trim_whitespace=False), required=False, max_length=1_000_000
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        project = self.context["project"]
        instance: Cohort | None = self.context.get("cohort")
        defining = {"filters", "behaviour", "match", "user_ids", "kind"} & set(self.initial_data or {})
        if instance is not None and not defining:
            return {"name": attrs.get("name", instance.name)}
        kind = attrs.get("kind", instance.kind if instance else Cohort.DYNAMIC)
        # A PATCH changes the fields it sends; the rest of the definition stays (unless the kind changes).
        raw = dict(instance.definition) if instance is not None and kind == instance.kind else {}
        raw.update({key: attrs[key] for key in ("filters", "behaviour", "match", "user_ids") if key in attrs})
        try:
            definition = definition_parse(project, kind, raw, cohort_id=instance.pk if instance else None)
        except CohortError as exc:
            raise serializers.ValidationError({exc.field: exc.message}) from None
        unknown = unknown_events(project=project, events=[row.event for row in definition.behaviour])
        if unknown:
            raise serializers.ValidationError({"behaviour": f"unknown event(s) in this project: {', '.join(unknown)}."})
        if kind == Cohort.STATIC:
            stored: dict[str, Any] = {"user_ids": list(definition.user_ids)}
        else:
            stored = {"filters": raw.get("filters") or [], "behaviour": raw.get("behaviour") or []}
            stored["match"] = definition.match
        return {"name": attrs.get("name", instance.name if instance else None), "kind": kind, "definition": stored}


class CohortMembersInput(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    cursor = serializers.CharField(required=False)

    def validate_cursor(self, raw: str) -> str:
        return decode_cursor(raw)


class CohortOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    count = serializers.IntegerField(allow_null=True, help_text="Members as of computed_at; null until computed.")
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the members were computed; null while a new or changed cohort is computed."
    )
    definition = serializers.JSONField()


class CohortListOutput(serializers.Serializer):
    results = CohortOutput(many=True)


class CohortMember(serializers.Serializer):
    person_id = serializers.CharField(help_text="The person key, as persons/<id> takes it.")


class CohortMembersOutput(serializers.Serializer):
    results = CohortMember(many=True)
    next = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page.")

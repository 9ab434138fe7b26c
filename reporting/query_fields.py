"""Input fields shared by every request that reaches the query layer: filters and breakdowns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from analytics.query.filters import COLUMN_KEYS, NO_FILTERS, FilterError, Filters, filters_parse, filters_parse_json
from analytics.query.series import BREAKDOWN_TYPES, Breakdown
from persons.cohorts import cohort_exists
from persons.groups import group_type_index


def cohort_check(field: serializers.Field) -> Callable[[int], bool] | None:
    """Whether a cohort id is one of the request's project (a cohort filter names it)."""
    project = field.context.get("project")
    if project is None:
        return None
    return lambda cohort_id: cohort_exists(project_id=project.pk, cohort_id=cohort_id)


def group_type_check(field: serializers.Field) -> Callable[[str], int | None] | None:
    """A group type's index in the request's project (None for an unknown type)."""
    project = field.context.get("project")
    if project is None:
        return None
    return lambda name: group_type_index(project_id=project.pk, group_type=name)


class FiltersField(serializers.Field):
    """``filters``: a JSON list (POST) or URL-encoded JSON (GET), checked by the filter contract.
    ``groups``: group filters are taken (where the filters reach the events relation, which joins
    the groups they test); elsewhere they are a 400."""

    def __init__(self, *, groups: bool = False, **kwargs: Any) -> None:
        self.groups = groups
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", NO_FILTERS)
        kwargs.setdefault(
            "help_text",
            'Filters, AND-ed: [{"type": "event", "key": "plan", "operator": "exact", '
            '"value": "pro"}, {"any": [...]}]; see the README.',
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Filters:
        known = cohort_check(self)
        groups = group_type_check(self) if self.groups else None
        try:
            if isinstance(data, str):
                return filters_parse_json(data, path=self.field_name, cohort_exists=known, group_types=groups)
            return filters_parse(data, path=self.field_name, cohort_exists=known, group_types=groups)
        except FilterError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: Any) -> Any:
        return value


class BreakdownInput(serializers.Serializer):
    """``{"type": "event"|"person"|"column", "key": k}``, or ``{"type": "cohort", "values": [ids]}``
    (one series per cohort; POST trends only)."""

    type = serializers.ChoiceField(choices=[*BREAKDOWN_TYPES, "cohort"], default="event")
    key = serializers.CharField(max_length=200, required=False)
    values = serializers.ListField(child=serializers.IntegerField(), required=False, min_length=1, max_length=20)

    def validate(self, attrs: dict) -> dict:
        if attrs["type"] == "cohort":
            values = attrs.get("values")
            if not values:
                raise serializers.ValidationError({"values": "a cohort breakdown lists cohort ids in values."})
            known = cohort_check(self)
            unknown = [value for value in values if known is None or not known(value)]
            if unknown:
                raise serializers.ValidationError({"values": f"unknown cohort(s) {unknown}."})
            return attrs
        if not attrs.get("key"):
            raise serializers.ValidationError({"key": "a breakdown names a property key or column in key."})
        if attrs["type"] == "column" and attrs["key"] not in COLUMN_KEYS:
            raise serializers.ValidationError(
                {"key": f"unknown column {attrs['key']!r}; use one of {', '.join(COLUMN_KEYS)}."}
            )
        return attrs


def breakdown_of(split: dict | None, limit: int) -> Breakdown | None:
    """The query layer's breakdown from a validated BreakdownInput."""
    if not split:
        return None
    return Breakdown(split["type"], split.get("key", ""), limit, tuple(dict.fromkeys(split.get("values", ()))))


class GroupTypeField(serializers.CharField):
    """``aggregation_group_type``: count groups of this type (``company``) instead of persons;
    validated to the type's index (persons.groups), or None when absent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", "A group type (GET groups/types): count its groups (events without one are left out)."
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        # (No max_length: validators run on the index this returns.)
        name = super().to_internal_value(data)
        if len(name) > 200 or "\x00" in name:  # (PostgreSQL text cannot hold a NUL)
            raise serializers.ValidationError("a group type has at most 200 characters, and no NUL.")
        project = self.context.get("project")
        index = None if project is None else group_type_index(project_id=project.pk, group_type=name)
        if index is None:
            raise serializers.ValidationError(f"unknown group type {name!r} in this project.")
        return index

    def to_representation(self, value: Any) -> Any:
        return value


def group_index_check(attrs: dict, breakdown: Breakdown | None) -> int | None:
    """The validated group index, refused with a cohort breakdown: cohorts hold persons, not groups."""
    index = attrs.pop("aggregation_group_type", None)
    if index is not None and breakdown is not None and breakdown.type == "cohort":
        raise serializers.ValidationError(
            {"aggregation_group_type": "cannot count groups with a cohort breakdown (cohorts hold persons)."}
        )
    return index

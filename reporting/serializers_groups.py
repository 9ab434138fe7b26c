"""Input and output of the groups endpoints (``groups/types``, ``groups``, ``groups/<type>/<key>``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from persons.groups import group_type_index
from reporting import outputs as o
from reporting.cursors import decode_cursor, encode_cursor

MAX_SEARCH = 200


def groups_cursor_encode(key: str) -> str:
    return encode_cursor(key)


class GroupTypeInput(serializers.Serializer):
    """``type``: a group type of the project (``company``); validated to ``index`` besides."""

    type = serializers.CharField(max_length=200, help_text="A group type (GET groups/types lists them).")

    def validate_type(self, name: str) -> str:
        if group_type_index(project_id=self.context["project"].pk, group_type=name) is None:
            raise serializers.ValidationError(f"unknown group type {name!r} in this project.")
        return name

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        attrs["index"] = group_type_index(project_id=self.context["project"].pk, group_type=attrs["type"])
        return attrs


class GroupsInput(GroupTypeInput):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    cursor = serializers.CharField(required=False, max_length=1000, help_text="The `next` of the previous page.")
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_SEARCH,
        help_text="Case-insensitive text contained in the group's key or one of its property values.",
    )

    def validate_cursor(self, raw: str) -> str:
        key = decode_cursor(raw)
        if "\x00" in key:
            raise serializers.ValidationError("malformed cursor.")
        return key


class GroupDetailInput(GroupTypeInput):
    key = serializers.CharField(trim_whitespace=False, max_length=1000)

    def validate_key(self, key: str) -> str:
        if "\x00" in key:  # no stored key holds one; PostgreSQL text cannot either
            raise serializers.ValidationError("a group key cannot contain the NUL character.")
        return key


class GroupTypeRow(serializers.Serializer):
    group_type = serializers.CharField()
    index = serializers.IntegerField(help_text="Events keep the key of their group of this type in group_<index>.")


class GroupTypesOutput(o._Out):
    results = GroupTypeRow(many=True)


class GroupRow(serializers.Serializer):
    group_type = serializers.CharField()
    group_key = serializers.CharField()
    properties = serializers.JSONField(help_text="Merged from $groupidentify's $group_set (Segment group traits).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GroupsOutput(o._Out):
    results = GroupRow(many=True)
    next = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page.")


class GroupDetailOutput(GroupRow, o._Out):
    pass


def groups_payload(rows: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    return {"results": rows, "next": groups_cursor_encode(after) if after is not None else None}

"""The insights, dashboards and share links API's shapes: bodies in, answers out.

``kind``, ``query`` and ``date_range`` of an insight are checked as a whole by
``reporting.insights.run.insight_params`` (the report's own input serializer), so a 400 names
``kind``, ``query.<field>`` or ``date_range``; these serializers check the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from reporting.insights.run import date_range_valid
from reporting.models import Dashboard, DashboardTile, Insight
from reporting.query_fields import FiltersField

TILE_WIDTHS = (3, 12)
TILE_HEIGHTS = (1, 4)


class InsightInput(serializers.Serializer):
    """POST (name, kind and query required) and PATCH (the fields to change) bodies."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    kind = serializers.CharField(max_length=32, help_text="trends, funnels, retention, stickiness, … (README).")
    query = serializers.JSONField(help_text="The report's input, as its endpoint takes it, without from/to.")
    date_range = serializers.JSONField(
        required=False,
        help_text='{"last_days": N}, {"period": name} or {"from": day, "to": day}; default last 30 days.',
    )
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="PATCH: the version you read; another one answers 409."
    )


class UserRef(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class InsightOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    query = serializers.JSONField()
    date_range = serializers.JSONField()
    created_by = UserRef(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField()
    dashboards = serializers.ListField(child=serializers.IntegerField(), help_text="Dashboards that show it.")


class InsightListOutput(serializers.Serializer):
    results = InsightOutput(many=True, help_text="Newest first.")


class InsightListInput(serializers.Serializer):
    kind = serializers.CharField(required=False, max_length=32)
    search = serializers.CharField(required=False, max_length=200, help_text="Part of the name, any case.")


class ResultsInput(serializers.Serializer):
    dashboard = serializers.IntegerField(required=False, min_value=1, help_text="Apply this dashboard's context.")
    format = serializers.ChoiceField(choices=["json", "csv"], default="json")


class InsightResultsOutput(serializers.Serializer):
    insight = serializers.JSONField(help_text="The insight (its public shape when read through a share link).")
    kind = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    result = serializers.JSONField(help_text="The report endpoint's answer for this query and range.")
    complete_until = serializers.DateTimeField()


def _user(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "username": user.get_username()}


def insight_out(insight: Insight) -> dict[str, Any]:
    return {
        "id": insight.pk,
        "name": insight.name,
        "description": insight.description,
        "kind": insight.kind,
        "query": insight.query,
        "date_range": insight.date_range,
        "created_by": _user(insight.created_by),
        "created_at": insight.created_at,
        "updated_at": insight.updated_at,
        "version": insight.version,
        # Read through the prefetched tiles when there are (lists), one query otherwise.
        "dashboards": sorted({tile.dashboard_id for tile in insight.tiles.all()}),
    }


def insight_public(insight: Insight) -> dict[str, Any]:
    """What a share link shows of an insight: no query internals' authors, no account names."""
    return {
        "id": insight.pk,
        "name": insight.name,
        "description": insight.description,
        "kind": insight.kind,
        "date_range": insight.date_range,
    }


# --- Dashboards --------------------------------------------------------------------------------


class TileInput(serializers.Serializer):
    insight = serializers.IntegerField(min_value=1)
    width = serializers.IntegerField(min_value=TILE_WIDTHS[0], max_value=TILE_WIDTHS[1], default=6)
    height = serializers.IntegerField(min_value=TILE_HEIGHTS[0], max_value=TILE_HEIGHTS[1], default=2)


class DashboardFilters(serializers.Serializer):
    # Without group filters: a dashboard's filters are AND-ed into every tile, and some reports
    # (web, sessions, top events) do not take group filters, so such a tile would always fail.
    filters = FiltersField()


class DashboardInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    filters = serializers.JSONField(required=False, help_text="Filters AND-ed into every tile (README).")
    date_range = serializers.JSONField(required=False, allow_null=True, help_text="null: each tile's own range.")
    is_default = serializers.BooleanField(required=False)
    tiles = TileInput(many=True, required=False, help_text="PATCH: the whole layout, in order; replaces it.")
    version = serializers.IntegerField(required=False, min_value=1)

    def validate_filters(self, value: Any) -> Any:
        if value is None:
            return []
        checked = DashboardFilters(data={"filters": value}, context=self.context)
        if not checked.is_valid():
            raise serializers.ValidationError(checked.errors["filters"])
        return value  # stored as sent: the tiles' reports parse it again, with their own filters

    def validate_date_range(self, value: Any) -> Any:
        return None if value is None else date_range_valid(value)

    def validate_tiles(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [tile["insight"] for tile in value]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise serializers.ValidationError(f"insight {repeated[0]} is in the layout more than once.")
        known = set(Insight.objects.filter(project=self.context["project"], pk__in=ids).values_list("pk", flat=True))
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise serializers.ValidationError(f"insight {unknown[0]} is not an insight of this project.")
        return value


class TileAddInput(TileInput):
    def validate_insight(self, value: int) -> int:
        if not Insight.objects.filter(project=self.context["project"], pk=value).exists():
            raise serializers.ValidationError(f"insight {value} is not an insight of this project.")
        return value


class TileOutput(serializers.Serializer):
    id = serializers.IntegerField()
    insight = InsightOutput()
    position = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class DashboardOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    is_default = serializers.BooleanField()
    filters = serializers.JSONField()
    date_range = serializers.JSONField(allow_null=True)
    created_by = UserRef(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField()
    tiles = TileOutput(many=True)


class DashboardListOutput(serializers.Serializer):
    results = DashboardOutput(many=True)


def tile_out(tile: DashboardTile) -> dict[str, Any]:
    return {
        "id": tile.pk,
        "insight": insight_out(tile.insight),
        "position": tile.position,
        "width": tile.width,
        "height": tile.height,
    }


def dashboard_out(dashboard: Dashboard) -> dict[str, Any]:
    return {
        "id": dashboard.pk,
        "name": dashboard.name,
        "description": dashboard.description,
        "is_default": dashboard.is_default,
        "filters": dashboard.filters,
        "date_range": dashboard.date_range,
        "created_by": _user(dashboard.created_by),
        "created_at": dashboard.created_at,
        "updated_at": dashboard.updated_at,
        "version": dashboard.version,
        "tiles": [tile_out(tile) for tile in dashboard.tiles.all()],
    }


def dashboard_public(dashboard: Dashboard, tiles: Iterable[DashboardTile]) -> dict[str, Any]:
    """What a share link shows of a dashboard: its context and its tiles' insights (without queries)."""
    return {
        "name": dashboard.name,
        "description": dashboard.description,
        "filters": dashboard.filters,
        "date_range": dashboard.date_range,
        "tiles": [
            {"id": t.pk, "insight": insight_public(t.insight), "width": t.width, "height": t.height} for t in tiles
        ],
    }


# --- Share links -------------------------------------------------------------------------------


class ShareInput(serializers.Serializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="A future time; null: never.")

    def validate_expires_at(self, value: Any) -> Any:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("must be in the future.")
        return value


class ShareCreatedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    token = serializers.CharField(help_text="Shown once: only its SHA-256 is kept.")
    url = serializers.CharField()
    embed_url = serializers.CharField()
    embed_html = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class ShareTarget(serializers.Serializer):
    type = serializers.ChoiceField(choices=["dashboard", "insight"])
    id = serializers.IntegerField()
    name = serializers.CharField()


class ShareLinkOutput(serializers.Serializer):
    id = serializers.IntegerField()
    target = ShareTarget()
    token_prefix = serializers.CharField()
    created_by = UserRef(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField()


class ShareLinkListOutput(serializers.Serializer):
    results = ShareLinkOutput(many=True, help_text="Newest first.")

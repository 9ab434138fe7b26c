"""Saving insights and dashboards: creation, versioned changes, layouts, the default dashboard.

Every change bumps ``version``; a change that names the version it was made from is refused
(409) when the stored one moved on, so two editors do not silently overwrite each other. The row
is locked while it is compared and written.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max, Prefetch, QuerySet
from rest_framework import exceptions, serializers

from projects.models import Project
from reporting.insights.dates import date_range_check
from reporting.insights.run import insight_params
from reporting.models import Dashboard, DashboardTile, Insight

DEFAULT_DATE_RANGE = {"last_days": 30}


class VersionConflict(exceptions.APIException):
    status_code = 409
    default_code = "version_conflict"


def _version_check(stored: int, sent: int | None, what: str) -> None:
    if sent is not None and sent != stored:
        raise VersionConflict(
            f"This {what} changed since you read it (version {sent}; it is now {stored}): "
            "reload it and apply your change again."
        )


def _checked_query(*, project: Project, kind: str, query: Any, date_range: Any) -> dict[str, Any]:
    """The date range in its stored shape, once the whole query is valid for its report."""
    insight_params(project=project, kind=kind, query=query, date_range=date_range)
    return date_range_check(date_range)


# --- Insights ----------------------------------------------------------------------------------


def insights_of(*, project: Project) -> QuerySet[Insight]:
    return (
        Insight.objects.filter(project=project)
        .select_related("created_by")
        .prefetch_related(Prefetch("tiles", queryset=DashboardTile.objects.only("id", "insight_id", "dashboard_id")))
    )


def insights_list(*, project: Project, kind: str | None = None, search: str | None = None) -> QuerySet[Insight]:
    found = insights_of(project=project)
    if kind:
        found = found.filter(kind=kind)
    if search:
        found = found.filter(name__icontains=search)
    return found.order_by("-created_at", "-id")


def insight_get(*, project: Project, insight_id: int) -> Insight | None:
    return insights_of(project=project).filter(pk=insight_id).first()


def insight_create(*, project: Project, user_id: int | None, data: dict[str, Any]) -> Insight:
    date_range = data.get("date_range", DEFAULT_DATE_RANGE)
    stored_range = _checked_query(project=project, kind=data["kind"], query=data["query"], date_range=date_range)
    return Insight.objects.create(
        project=project,
        name=data["name"],
        description=data.get("description", ""),
        kind=data["kind"],
        query=data["query"],
        date_range=stored_range,
        created_by_id=user_id,
    )


INSIGHT_FIELDS = ("name", "description", "kind", "query", "date_range")


@transaction.atomic
def insight_update(*, insight: Insight, changes: dict[str, Any]) -> Insight:
    locked = Insight.objects.select_for_update().get(pk=insight.pk)
    _version_check(locked.version, changes.get("version"), "insight")
    for field in INSIGHT_FIELDS:
        if field in changes:
            setattr(locked, field, changes[field])
    if {"kind", "query", "date_range"} & set(changes):
        locked.date_range = _checked_query(
            project=locked.project, kind=locked.kind, query=locked.query, date_range=locked.date_range
        )
    locked.version += 1
    locked.save()
    return locked


# --- Dashboards --------------------------------------------------------------------------------


def dashboards_of(*, project: Project) -> QuerySet[Dashboard]:
    tiles = DashboardTile.objects.select_related("insight__created_by").prefetch_related(
        Prefetch("insight__tiles", queryset=DashboardTile.objects.only("id", "insight_id", "dashboard_id"))
    )
    return (
        Dashboard.objects.filter(project=project)
        .select_related("created_by")
        .prefetch_related(Prefetch("tiles", queryset=tiles))
        .order_by("-is_default", "name", "id")
    )


def dashboard_get(*, project: Project, dashboard_id: int) -> Dashboard | None:
    return dashboards_of(project=project).filter(pk=dashboard_id).first()


def _clear_other_defaults(dashboard: Dashboard) -> None:
    # The project row is locked first, so two requests that each make a dashboard the default
    # take turns instead of both passing the check and one failing on the unique constraint.
    Project.objects.select_for_update().filter(pk=dashboard.project_id).first()
    Dashboard.objects.filter(project_id=dashboard.project_id, is_default=True).exclude(pk=dashboard.pk).update(
        is_default=False
    )


@transaction.atomic
def dashboard_create(*, project: Project, user_id: int | None, data: dict[str, Any]) -> Dashboard:
    dashboard = Dashboard(
        project=project,
        name=data["name"],
        description=data.get("description", ""),
        filters=data.get("filters") or [],
        date_range=data.get("date_range"),
        is_default=bool(data.get("is_default", False)),
        created_by_id=user_id,
    )
    if dashboard.is_default:
        _clear_other_defaults(dashboard)
    dashboard.save()
    if data.get("tiles"):
        _tiles_replace(dashboard, data["tiles"])
    return dashboard


DASHBOARD_FIELDS = ("name", "description", "filters", "date_range", "is_default")


@transaction.atomic
def dashboard_update(*, dashboard: Dashboard, changes: dict[str, Any]) -> None:
    locked = Dashboard.objects.select_for_update().get(pk=dashboard.pk)
    _version_check(locked.version, changes.get("version"), "dashboard")
    for field in DASHBOARD_FIELDS:
        if field in changes:
            setattr(locked, field, changes[field] if field != "filters" else changes[field] or [])
    if changes.get("is_default"):
        _clear_other_defaults(locked)
    if "tiles" in changes:
        _tiles_replace(locked, changes["tiles"])
    locked.version += 1
    locked.save()


def _tiles_replace(dashboard: Dashboard, tiles: list[dict[str, Any]]) -> None:
    """The layout becomes ``tiles``, in order; a tile that stays keeps its id (and its size, unless given)."""
    existing = {tile.insight_id: tile for tile in DashboardTile.objects.filter(dashboard=dashboard)}
    keep = {tile["insight"] for tile in tiles}
    DashboardTile.objects.filter(dashboard=dashboard).exclude(insight_id__in=keep).delete()
    for position, spec in enumerate(tiles):
        tile = existing.get(spec["insight"]) or DashboardTile(dashboard=dashboard, insight_id=spec["insight"])
        # A size left out keeps the tile's own (the model's default for a new tile).
        tile.position, tile.width, tile.height = (
            position,
            spec.get("width", tile.width),
            spec.get("height", tile.height),
        )
        tile.save()


@transaction.atomic
def dashboard_tile_add(*, dashboard: Dashboard, spec: dict[str, Any]) -> DashboardTile:
    locked = Dashboard.objects.select_for_update().get(pk=dashboard.pk)
    if DashboardTile.objects.filter(dashboard=locked, insight_id=spec["insight"]).exists():
        raise serializers.ValidationError({"insight": f"insight {spec['insight']} is already on this dashboard."})
    last = DashboardTile.objects.filter(dashboard=locked).aggregate(last=Max("position"))["last"]
    tile = DashboardTile.objects.create(
        dashboard=locked,
        insight_id=spec["insight"],
        position=0 if last is None else last + 1,
        width=spec["width"],
        height=spec["height"],
    )
    locked.version += 1
    locked.save(update_fields=["version", "updated_at"])
    return tile


def dashboard_holding(*, project: Project, dashboard_id: int, insight: Insight) -> Dashboard | None:
    """The project's dashboard ``dashboard_id`` if it shows ``insight``, else None."""
    return Dashboard.objects.filter(project=project, pk=dashboard_id, tiles__insight=insight).first()

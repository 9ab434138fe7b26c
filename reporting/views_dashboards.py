"""The dashboards API (ordered grids of insights with a filter and range of their own), their
share links, and the project's list of share links (editors: a link is a way in)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from projects.audit import audit_actor
from projects.models import Project, ProjectRole
from reporting import insight_serializers as i
from reporting.base import ReportingAPIView
from reporting.insights import services, sharing
from reporting.models import Dashboard, ShareLink
from reporting.views_insights import share_created, user_id_of

TAG = ["dashboards"]


class DashboardsView(ReportingAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, responses=i.DashboardListOutput, operation_id="v1_projects_dashboards_list")
    def get(self, request: Request, slug: str) -> Response:
        """The project's dashboards: the default first, then by name."""
        return Response({"results": [i.dashboard_out(d) for d in services.dashboards_of(project=self.project)]})

    @extend_schema(tags=TAG, request=i.DashboardInput, responses={201: i.DashboardOutput})
    def post(self, request: Request, slug: str) -> Response:
        """A new dashboard (tiles are added with ``tiles`` or a PATCH of the layout)."""
        p = self.validated(i.DashboardInput, request.data)
        dashboard = services.dashboard_create(project=self.project, user_id=user_id_of(request), data=p)
        found = services.dashboard_get(project=self.project, dashboard_id=dashboard.pk)
        assert found is not None
        return Response(i.dashboard_out(found), status=status.HTTP_201_CREATED)


class DashboardMixin:
    project: Project

    def _dashboard(self, dashboard_id: int) -> Dashboard:
        dashboard = services.dashboard_get(project=self.project, dashboard_id=dashboard_id)
        if dashboard is None:
            raise Http404("No such dashboard in this project.")
        return dashboard


class DashboardView(DashboardMixin, ReportingAPIView):
    writes: tuple[str, ...] = ("patch", "delete")

    @extend_schema(tags=TAG, responses=i.DashboardOutput)
    def get(self, request: Request, slug: str, dashboard_id: int) -> Response:
        """One dashboard with its tiles, in order, each with its insight."""
        return Response(i.dashboard_out(self._dashboard(dashboard_id)))

    @extend_schema(tags=TAG, request=i.DashboardInput, responses={200: i.DashboardOutput, 409: None})
    def patch(self, request: Request, slug: str, dashboard_id: int) -> Response:
        """Change name, description, filters, date_range, is_default, or the whole layout
        (``tiles``, in order); ``version`` as for insights (409 when it moved on)."""
        dashboard = self._dashboard(dashboard_id)
        changes = self.validated(i.DashboardInput, request.data, partial=True)
        services.dashboard_update(dashboard=dashboard, changes=changes)
        return Response(i.dashboard_out(self._dashboard(dashboard_id)))

    @extend_schema(tags=TAG, responses={204: None})
    def delete(self, request: Request, slug: str, dashboard_id: int) -> Response:
        """Delete a dashboard (its insights stay)."""
        self._dashboard(dashboard_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class DashboardTilesView(DashboardMixin, ReportingAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, request=i.TileInput, responses={201: i.TileOutput})
    def post(self, request: Request, slug: str, dashboard_id: int) -> Response:
        """Add an insight of the project at the end of the dashboard (400 if it is already there)."""
        dashboard = self._dashboard(dashboard_id)
        p = self.validated(i.TileAddInput, request.data)
        tile = services.dashboard_tile_add(dashboard=dashboard, spec=p)
        found = self._dashboard(dashboard_id).tiles.all()
        return Response(i.tile_out(next(t for t in found if t.pk == tile.pk)), status=status.HTTP_201_CREATED)


class DashboardShareView(DashboardMixin, ReportingAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, request=i.ShareInput, responses={201: i.ShareCreatedOutput})
    def post(self, request: Request, slug: str, dashboard_id: int) -> Response:
        """A share link to this dashboard (read-only, no account, its tiles only); the token is shown once."""
        dashboard = self._dashboard(dashboard_id)
        p = self.validated(i.ShareInput, request.data)
        issued = sharing.share_link_create(
            project=self.project,
            dashboard=dashboard,
            user_id=user_id_of(request),
            actor=audit_actor(request.user),
            expires_at=p.get("expires_at"),
        )
        return share_created(issued)


def share_link_out(link: ShareLink) -> dict[str, object]:
    author = link.created_by
    return {
        "id": link.pk,
        "target": sharing.share_target(link),
        "token_prefix": link.token_prefix,
        "created_by": None if author is None else {"id": author.pk, "username": author.get_username()},
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "active": sharing.share_link_active(link),
    }


class ShareLinksView(ReportingAPIView):
    # A link lets anyone in: who may see the list is who may make and revoke them.
    read_role = ProjectRole.EDITOR

    @extend_schema(tags=["share links"], responses=i.ShareLinkListOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The project's share links, newest first, revoked and expired ones too (``active`` says)."""
        links = sharing.share_links_of(project=self.project)
        return Response(i.ShareLinkListOutput({"results": [share_link_out(link) for link in links]}).data)


class ShareLinkView(ReportingAPIView):
    writes: tuple[str, ...] = ("delete",)

    @extend_schema(tags=["share links"], responses={204: None})
    def delete(self, request: Request, slug: str, link_id: int) -> Response:
        """Revoke a share link: it answers 410 from now on."""
        link = sharing.share_links_of(project=self.project).filter(pk=link_id).first()
        if link is None:
            raise Http404("No such share link in this project.")
        sharing.share_link_revoke(link=link, actor=audit_actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)

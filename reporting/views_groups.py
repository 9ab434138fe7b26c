"""The groups endpoints: a project's group types, a type's groups, one group (persons.groups)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from persons.groups import group_types
from reporting import serializers_groups as s
from reporting.base import ReportingAPIView
from reporting.queries import groups

TAG = ["reporting"]


class GroupTypesView(ReportingAPIView):
    @extend_schema(tags=TAG, responses=s.GroupTypesOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The project's group types and their indexes (assigned on first sight, at most 5)."""
        return self.answer(s.GroupTypesOutput, {"results": group_types(project_id=self.project.pk)})


class GroupsView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[s.GroupsInput], responses=s.GroupsOutput)
    def get(self, request: Request, slug: str) -> Response:
        """A type's groups by key (cursor-paginated), optionally searched."""
        p = self.validated(s.GroupsInput, request.query_params)
        rows, after = groups.groups_page(
            project_id=self.project.pk,
            group_type=p["type"],
            index=p["index"],
            limit=p["limit"],
            after=p.get("cursor"),
            search=p.get("search"),
        )
        return self.answer(s.GroupsOutput, s.groups_payload(rows, after))


class GroupDetailView(ReportingAPIView):
    @extend_schema(tags=TAG, responses=s.GroupDetailOutput, operation_id="v1_projects_group_retrieve")
    def get(self, request: Request, slug: str, group_type: str, key: str) -> Response:
        """One group: its key and properties."""
        p = self.validated(s.GroupDetailInput, {"type": group_type, "key": key})
        group = groups.group_get(project_id=self.project.pk, group_type=p["type"], index=p["index"], key=p["key"])
        if group is None:
            raise NotFound("No such group in this project.")
        return self.answer(s.GroupDetailOutput, group)

"""The persons endpoints: the identity-merged people behind the ids, and one person's timeline."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from reporting import serializers_persons as s
from reporting.base import ReportingAPIView
from reporting.queries import persons

TAG = ["reporting"]


class PersonsView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[s.PersonsInput], responses=s.PersonsOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Persons (ids merged by identify/alias) by last seen, newest first (cursor-paginated)."""
        p = self.validated(s.PersonsInput, request.query_params)
        rows, after = persons.persons_page(
            project=self.project,
            limit=p["limit"],
            after=p.get("cursor"),
            filters=p["filters"],
            date_from=p["date_from"],
            date_to=p["date_to"],
            search=p.get("search"),
        )
        next_cursor = s.persons_cursor_encode(after) if after else None
        return self.answer(s.PersonsOutput, {"results": rows, "next": next_cursor})


class PersonDetailView(ReportingAPIView):
    @extend_schema(
        tags=TAG,
        parameters=[s.TimelineInput],
        responses=s.PersonDetailOutput,
        operation_id="v1_projects_person_retrieve",
    )
    def get(self, request: Request, slug: str, person_id: str) -> Response:
        """One person: properties, ids, first/last seen, event count and its events, newest first."""
        p = self.validated(s.PersonDetailInput, {**request.query_params.dict(), "person_id": person_id})
        detail = persons.person_detail(
            project=self.project, key=p["person_id"], limit=p["limit"], after=p.get("timeline_cursor")
        )
        if detail is None:
            raise NotFound("No such person in this project.")
        return self.answer(s.PersonDetailOutput, s.person_detail_payload(detail))

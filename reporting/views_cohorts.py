"""The cohorts API: define, list, change and delete cohorts, and page through their members.

Members are computed by a job (analytics.cohorts, every 10 s for new and changed cohorts, then
every COHORT_REFRESH_SECONDS): a cohort answers ``count``/``computed_at`` null until then.
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from persons.cohorts import cohort_members_page
from persons.models import Cohort
from reporting import cohort_serializers as c
from reporting.base import ReportingAPIView
from reporting.cohort_upload import ids_from_csv
from reporting.cursors import encode_cursor

TAG = ["cohorts"]


def _out(cohort: Cohort) -> dict:
    return c.CohortOutput(
        {
            "id": cohort.pk,
            "name": cohort.name,
            "kind": cohort.kind,
            "count": cohort.count,
            "computed_at": cohort.computed_at,
            "definition": cohort.definition,
        }
    ).data


class CohortsView(ReportingAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, responses=c.CohortListOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The project's cohorts, newest first."""
        cohorts = Cohort.objects.filter(project_id=self.project.pk).order_by("-pk")
        return Response({"results": [_out(cohort) for cohort in cohorts]})

    @extend_schema(tags=TAG, request=c.CohortInput, responses={201: c.CohortOutput})
    def post(self, request: Request, slug: str) -> Response:
        """Define a cohort (dynamic: person filters and behaviour; static: user ids, or a
        multipart upload of ``name`` and a CSV ``file`` whose first column is the ids)."""
        data = request.data
        if "file" in request.FILES:
            ids = ids_from_csv(request.FILES["file"])
            data = {"name": request.data.get("name"), "kind": Cohort.STATIC, "user_ids": ids}
        p = self.validated(c.CohortInput, data)
        cohort = Cohort.objects.create(project_id=self.project.pk, **p)
        return Response(_out(cohort), status=status.HTTP_201_CREATED)


class CohortView(ReportingAPIView):
    writes: tuple[str, ...] = ("patch", "delete")

    def _cohort(self, cohort_id: int) -> Cohort:
        cohort = Cohort.objects.filter(project_id=self.project.pk, pk=cohort_id).first()
        if cohort is None:
            raise Http404("No such cohort in this project.")
        return cohort

    @extend_schema(tags=TAG, responses=c.CohortOutput)
    def get(self, request: Request, slug: str, cohort_id: int) -> Response:
        """One cohort: its definition, size and when that was computed."""
        return Response(_out(self._cohort(cohort_id)))

    @extend_schema(tags=TAG, request=c.CohortInput, responses=c.CohortOutput)
    def patch(self, request: Request, slug: str, cohort_id: int) -> Response:
        """Rename or redefine a cohort; a new definition is computed again by the job."""
        cohort = self._cohort(cohort_id)
        changes = self.validated(c.CohortInput, request.data, partial=True, cohort=cohort)
        with transaction.atomic():
            cohort.name = changes["name"]
            fields = ["name", "updated_at"]
            if "definition" in changes:
                cohort.kind, cohort.definition, cohort.computed_at = changes["kind"], changes["definition"], None
                fields += ["kind", "definition", "computed_at"]
            cohort.save(update_fields=fields)
        return Response(_out(cohort))

    @extend_schema(tags=TAG, responses={204: None})
    def delete(self, request: Request, slug: str, cohort_id: int) -> Response:
        """Delete a cohort and its members; filters naming it are then answered 400."""
        self._cohort(cohort_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class CohortPersonsView(CohortView):
    # It inherits CohortView's lookup, not its PATCH and DELETE: those change the cohort, at /cohorts/<id>.
    http_method_names = ["get", "head", "options"]
    writes = ()

    @extend_schema(tags=TAG, parameters=[c.CohortMembersInput], responses=c.CohortMembersOutput)
    def get(self, request: Request, slug: str, cohort_id: int) -> Response:
        """The cohort's members as of computed_at, in person-key order (cursor-paginated)."""
        cohort = self._cohort(cohort_id)
        p = self.validated(c.CohortMembersInput, request.query_params)
        members = cohort_members_page(cohort=cohort, limit=p["limit"] + 1, after=p.get("cursor"))
        more = len(members) > p["limit"]
        members = members[: p["limit"]]
        next_cursor = encode_cursor(members[-1]) if more else None
        return Response({"results": [{"person_id": person} for person in members], "next": next_cursor})

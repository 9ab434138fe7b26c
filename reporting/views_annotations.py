"""The annotations API: dated notes of a project, listed by range, written by editors."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.annotations import annotation_create, annotation_get, annotation_update, annotations_in_range
from analytics.models import Annotation
from reporting import annotation_serializers as a
from reporting.base import ReportingAPIView

TAG = ["annotations"]


class AnnotationsView(ReportingAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, parameters=[a.AnnotationRangeInput], responses=a.AnnotationListOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The project's annotations from ``from`` to ``to``, by date."""
        p = self.validated(a.AnnotationRangeInput, request.query_params)
        found = annotations_in_range(project_id=self.project.pk, first=p.get("from"), last=p.get("to"))
        return Response({"results": [a.annotation_out(annotation) for annotation in found]})

    @extend_schema(tags=TAG, request=a.AnnotationInput, responses={201: a.AnnotationOutput})
    def post(self, request: Request, slug: str) -> Response:
        """Add a note to a day of the project; its author is the session's or the personal key's user."""
        p = self.validated(a.AnnotationInput, request.data)
        # A project read key has no user, but it never gets here: it does not write.
        user_id = request.user.pk if request.user is not None and request.user.is_authenticated else None
        annotation = annotation_create(project_id=self.project.pk, date=p["date"], text=p["text"], user_id=user_id)
        return Response(a.annotation_out(annotation), status=status.HTTP_201_CREATED)


class AnnotationView(ReportingAPIView):
    writes: tuple[str, ...] = ("patch", "delete")

    def _annotation(self, annotation_id: int) -> Annotation:
        annotation = annotation_get(project_id=self.project.pk, annotation_id=annotation_id)
        if annotation is None:
            raise Http404("No such annotation in this project.")
        return annotation

    @extend_schema(tags=TAG, responses=a.AnnotationOutput)
    def get(self, request: Request, slug: str, annotation_id: int) -> Response:
        """One annotation."""
        return Response(a.annotation_out(self._annotation(annotation_id)))

    @extend_schema(tags=TAG, request=a.AnnotationInput, responses=a.AnnotationOutput)
    def patch(self, request: Request, slug: str, annotation_id: int) -> Response:
        """Change an annotation's date or text."""
        annotation = self._annotation(annotation_id)
        changes = self.validated(a.AnnotationInput, request.data, partial=True)
        return Response(a.annotation_out(annotation_update(annotation=annotation, changes=changes)))

    @extend_schema(tags=TAG, responses={204: None})
    def delete(self, request: Request, slug: str, annotation_id: int) -> Response:
        """Delete an annotation."""
        self._annotation(annotation_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

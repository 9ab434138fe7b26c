"""The destinations API: webhooks a project's events are forwarded to (project settings, with a
secret: admins only, for reading too), their batches, and the replay of dead ones."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ingestion.destination_services import (
    NotDead,
    batches_of,
    batches_replay,
    destination_create,
    destination_delete,
    destination_get,
    destination_update,
    destinations_of,
)
from ingestion.models import Destination
from projects.access import ProjectAPIView
from projects.audit import audit_actor
from projects.models import ProjectRole
from reporting import destination_serializers as d

TAG = ["destinations"]


class _DestinationsAPIView(ProjectAPIView):
    read_role = ProjectRole.ADMIN
    write_role = ProjectRole.ADMIN

    def _destination(self, destination_id: int) -> Destination:
        destination = destination_get(project_id=self.project.pk, destination_id=destination_id)
        if destination is None:
            raise Http404("No such destination in this project.")
        return destination


class DestinationsView(_DestinationsAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, responses=d.DestinationListOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The project's destinations (without their secrets)."""
        return Response({"results": [d.destination_out(x) for x in destinations_of(project_id=self.project.pk)]})

    @extend_schema(tags=TAG, request=d.DestinationInput, responses={201: d.DestinationOutput})
    def post(self, request: Request, slug: str) -> Response:
        """Add a destination; the answer holds its signing secret, shown this once."""
        p = self.validated(d.DestinationInput, request.data)
        destination = destination_create(project=self.project, actor=audit_actor(request.user), **p)
        return Response(d.destination_out(destination, with_secret=True), status=status.HTTP_201_CREATED)


class DestinationView(_DestinationsAPIView):
    writes: tuple[str, ...] = ("patch", "delete")

    @extend_schema(tags=TAG, responses=d.DestinationOutput)
    def get(self, request: Request, slug: str, destination_id: int) -> Response:
        """One destination (without its secret)."""
        return Response(d.destination_out(self._destination(destination_id)))

    @extend_schema(tags=TAG, request=d.DestinationInput, responses=d.DestinationOutput)
    def patch(self, request: Request, slug: str, destination_id: int) -> Response:
        """Change a destination's name, URL, filters, batch size or whether it is enabled."""
        destination = self._destination(destination_id)
        changes = self.validated(d.DestinationInput, request.data, partial=True)
        return Response(d.destination_out(destination_update(destination=destination, changes=changes)))

    @extend_schema(tags=TAG, responses={204: None})
    def delete(self, request: Request, slug: str, destination_id: int) -> Response:
        """Delete a destination with its batches, delivered, waiting or dead."""
        destination_delete(destination=self._destination(destination_id), actor=audit_actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DestinationBatchesView(_DestinationsAPIView):
    @extend_schema(tags=TAG, parameters=[d.BatchesInput], responses=d.BatchListOutput)
    def get(self, request: Request, slug: str, destination_id: int) -> Response:
        """The destination's batches, newest first (``?status=dead``: the dead letters)."""
        destination = self._destination(destination_id)
        p = self.validated(d.BatchesInput, request.query_params)
        found = batches_of(destination=destination, status=p.get("status"), limit=p["limit"])
        return Response({"results": [d.batch_out(batch) for batch in found]})


class DestinationReplayView(_DestinationsAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, request=d.ReplayInput, responses=d.ReplayOutput)
    def post(self, request: Request, slug: str, destination_id: int) -> Response:
        """Send dead batches again: those named in ``batch_ids``, or all of the destination's."""
        destination = self._destination(destination_id)
        p = self.validated(d.ReplayInput, request.data)
        ids = [str(batch_id) for batch_id in p["batch_ids"]] if "batch_ids" in p else None
        try:
            replayed = batches_replay(destination=destination, batch_ids=ids, actor=audit_actor(request.user))
        except NotDead as exc:
            raise serializers.ValidationError(
                {"batch_ids": [f"not dead batches of this destination: {', '.join(exc.batch_ids)}"]}
            ) from None
        return Response({"replayed": replayed})

"""What the reporting endpoints add to ``projects.access.ProjectAPIView``: timing and ``complete_until``.

Who may read or write a project is not decided here: the base view resolves ``self.project``
(a key or a session) for the reporting API, the ledger endpoint and the dashboard alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import duckdb
from django.http import HttpRequest, HttpResponseBase
from rest_framework.request import Request
from rest_framework.response import Response

from core.http import store_unavailable
from core.replicas import (
    current_replica,
    fence_after_write,
    mark_failed,
    primary_reads,
    project_fence,
    replica_aliases,
    replica_reads,
)
from events.duck import duckdb_reset
from projects.access import ProjectAPIView
from reporting.metrics import REPORT_QUERY_SECONDS
from reporting.queries.common import complete_until_get, complete_until_pinned


class ReportingAPIView(ProjectAPIView):
    """Base of every reporting endpoint: the request timed, answers stamped with ``complete_until``.

    Reading handlers (those not in ``writes``) read from a replica when replicas are configured
    (core/replicas.py), after authentication and the access check, which stay on the primary (a
    key or a membership just created must work at once). ``complete_until`` is then read first,
    from the same replica, so it never claims more than the report's rows hold. A replica that
    fails during a request is marked down and the handler runs again on the primary. A write
    leaves a fence so that the project's next reads see it (core.replicas.fence_after_write).
    """

    # False for a view whose reads must see the primary (it writes then reads, or compares stored
    # rows with live counters: the ingestion ledger).
    replica_reads_allowed = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Timed here, around authentication, the query and serialisation: what a client waits for.
        started = time.perf_counter()
        self._reads = ExitStack()
        self._retried_on_primary = False
        try:
            with self._reads:
                response = super().dispatch(request, *args, **kwargs)
            project = getattr(self, "project", None)
            if str(request.method).lower() in self.writes and response.status_code < 400 and project is not None:
                fence_after_write(project.pk)  # committed by now: the client's next reads see it
            return response
        finally:
            match = getattr(request, "resolver_match", None)
            endpoint = (match.url_name if match else None) or type(self).__name__
            REPORT_QUERY_SECONDS.labels(endpoint=endpoint).observe(time.perf_counter() - started)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        reading = bool(request.method) and str(request.method).lower() not in self.writes
        if reading and self.replica_reads_allowed and replica_aliases():
            project = getattr(self, "project", None)
            fence = project_fence(project.pk) if project is not None else 0
            self._reads.enter_context(replica_reads(min_lsn=fence))
            self._reads.enter_context(complete_until_pinned())

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, duckdb.Error) and store_unavailable(exc):
            duckdb_reset()  # its PostgreSQL attachment is broken: the next query attaches anew
        replica = current_replica()
        if replica is not None and store_unavailable(exc) and not self._retried_on_primary:
            mark_failed(replica, exc)
            self._retried_on_primary = True
            self._reads.close()  # the replica scope and what was pinned from it
            self._reads.enter_context(primary_reads())
            self._reads.enter_context(complete_until_pinned())
            request = self.request
            handler: Callable[..., Response] = getattr(self, str(request.method).lower())
            try:
                return handler(request, *self.args, **self.kwargs)
            except Exception as again:
                return self.handle_exception(again)
        return super().handle_exception(exc)

    def answer(self, output_class: Any, payload: dict[str, Any]) -> Response:
        return Response(output_class({**payload, "complete_until": complete_until_get()}).data)

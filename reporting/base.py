"""What the reporting endpoints add to ``projects.access.ProjectAPIView``: timing and ``complete_until``.

Who may read or write a project is not decided here: the base view resolves ``self.project``
(a key or a session) for the reporting API, the ledger endpoint and the dashboard alike.
"""

from __future__ import annotations

import time
from typing import Any

import duckdb
from django.http import HttpRequest, HttpResponseBase
from rest_framework.response import Response

from core.http import store_unavailable
from events.duck import duckdb_reset
from projects.access import ProjectAPIView
from reporting.metrics import REPORT_QUERY_SECONDS
from reporting.queries.common import complete_until_get


class ReportingAPIView(ProjectAPIView):
    """Base of every reporting endpoint: the request timed, answers stamped with ``complete_until``."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Timed here, around authentication, the query and serialisation: what a client waits for.
        started = time.perf_counter()
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            match = getattr(request, "resolver_match", None)
            endpoint = (match.url_name if match else None) or type(self).__name__
            REPORT_QUERY_SECONDS.labels(endpoint=endpoint).observe(time.perf_counter() - started)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, duckdb.Error) and store_unavailable(exc):
            duckdb_reset()  # its PostgreSQL attachment is broken: the next query attaches anew
        return super().handle_exception(exc)

    def answer(self, output_class: Any, payload: dict[str, Any]) -> Response:
        return Response(output_class({**payload, "complete_until": complete_until_get()}).data)

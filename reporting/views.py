"""The reporting API: one class per operation; validate, call one selector, serialize."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import orjson
from django.http import Http404, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from reporting import outputs as o
from reporting import serializers as s
from reporting.base import ReportingAPIView
from reporting.cursors import encode_cursor, export_cursor_encode
from reporting.insights import kinds
from reporting.queries import export, live, retention, trends, users
from reporting.queries.common import complete_until_get

TAG = ["reporting"]


class ActiveUsersView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[s.ActiveUsersInput], responses=o.ActiveUsersOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Distinct active users per day, week (Monday) or month (DAU/WAU/MAU)."""
        p = self.validated(s.ActiveUsersInput, request.query_params)
        return self.answer(o.ActiveUsersOutput, kinds.active_users_run(self.project, p))


class TopEventsView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[s.TopEventsInput], responses=o.TopEventsOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The most frequent events in the range, with their distinct users."""
        p = self.validated(s.TopEventsInput, request.query_params)
        return self.answer(o.TopEventsOutput, kinds.top_events_run(self.project, p))


class TrendsView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[s.TrendsInput], responses=o.TrendsOutput)
    def get(self, request: Request, slug: str) -> Response:
        """One event over time (count or distinct users), optionally broken down by a property."""
        p = self.validated(s.TrendsInput, request.query_params)
        series = trends.trends_series(
            project=self.project,
            event=p["event"],
            date_from=p["date_from"],
            date_to=p["date_to"],
            interval=p["interval"],
            math=p["math"],
            breakdown=p.get("breakdown"),
            breakdown_type=p["breakdown_type"],
            breakdown_limit=p["breakdown_limit"],
            filters=p["filters"],
            group_index=p["group_index"],
        )
        return self.answer(o.TrendsOutput, {"series": series})

    @extend_schema(tags=TAG, request=s.TrendsQueryInput, responses=o.TrendsQueryOutput)
    def post(self, request: Request, slug: str) -> Response:
        """Several series (each with its event, math and filters), a formula, a breakdown, compare."""
        p = self.validated(s.TrendsQueryInput, request.data)
        return self.answer(o.TrendsQueryOutput, kinds.trends_run(self.project, p))


class FunnelsView(ReportingAPIView):
    @extend_schema(tags=TAG, request=s.FunnelInput, responses=o.FunnelOutput)
    def post(self, request: Request, slug: str) -> Response:
        """Users completing ordered steps, each within window_hours of the first step."""
        p = self.validated(s.FunnelInput, request.data)
        return self.answer(o.FunnelOutput, kinds.funnels_run(self.project, p))


class RetentionView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[s.RetentionInput], responses=o.RetentionOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Of the users first seen in the period beginning at start_date, who came back later."""
        p = self.validated(s.RetentionInput, request.query_params)
        cohort = retention.retention_get(
            project=self.project,
            start_date=p["start_date"],
            windows=p["windows"],
            period=p["period"],
            filters=p["filters"],
            spec=p["spec"],
            breakdown=p["breakdown"],
            group_index=p["group_index"],
        )
        return self.answer(o.RetentionOutput, cohort)


class RetentionCohortsView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[s.RetentionCohortsInput], responses=o.RetentionCohortsOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The cohort triangle: a cohort per period from `from`, each followed up to `to`."""
        p = self.validated(s.RetentionCohortsInput, request.query_params)
        return self.answer(o.RetentionCohortsOutput, kinds.retention_run(self.project, p))


class LiveView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[s.LiveInput], responses=o.LiveOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Active users in the last 5 minutes, events per minute (15 min), top events (1 h)."""
        p = self.validated(s.LiveInput, request.query_params)
        return self.answer(o.LiveOutput, live.live_get(project=self.project, now=timezone.now(), filters=p["filters"]))


class UsersView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[s.UsersInput], responses=o.UsersOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Users in first-seen order with first/last seen and event counts (cursor-paginated)."""
        p = self.validated(s.UsersInput, request.query_params)
        rows, next_key = users.users_page(
            project=self.project, limit=p["limit"], after_key=p.get("cursor", 0), filters=p["filters"]
        )
        next_cursor = encode_cursor(str(next_key)) if next_key is not None else None
        return self.answer(o.UsersOutput, {"results": rows, "next": next_cursor})


class UserDetailView(ReportingAPIView):
    @extend_schema(tags=TAG, responses=o.UserDetailOutput, operation_id="v1_projects_user_retrieve")
    def get(self, request: Request, slug: str, user_id: str) -> Response:
        """One user's daily event counts and most recent events."""
        p = self.validated(s.UserDetailInput, {"user_id": user_id})
        detail = users.user_detail(project=self.project, user_id=p["user_id"])
        if detail is None:
            raise Http404("No such user in this project.")
        return self.answer(o.UserDetailOutput, detail)


def _csv_lines(rows: Iterator[dict]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(export.EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([orjson.dumps(row[c]).decode() if c == "properties" else row[c] for c in export.EXPORT_COLUMNS])
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _ndjson_lines(rows: Iterator[dict]) -> Iterator[bytes]:
    for row in rows:
        yield orjson.dumps(row, default=str) + b"\n"


class EventsView(ReportingAPIView):
    @extend_schema(
        tags=TAG,
        parameters=[s.EventsInput, OpenApiParameter("format", enum=["json", "csv", "ndjson"])],
        responses=o.EventsOutput,
    )
    def get(self, request: Request, slug: str) -> HttpResponseBase:
        """Raw events: json pages (cursor) or a streamed csv / ndjson file of the whole range."""
        p = self.validated(s.EventsInput, request.query_params)
        scope = {
            "project": self.project,
            "date_from": p["date_from"],
            "date_to": p["date_to"],
            "event": p.get("event"),
            "filters": p["filters"],
        }
        if p["format"] == "json":
            page, after = export.events_page(**scope, limit=p["limit"], after=p.get("cursor"))
            next_cursor = export_cursor_encode(after) if after else None
            return self.answer(o.EventsOutput, {"results": page, "next": next_cursor})
        # Streams cannot carry complete_until in a body; it goes in a header, read before the rows.
        complete_until = complete_until_get().isoformat()
        rows = export.events_iter(**scope)
        if p["format"] == "csv":
            response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
        else:
            response = StreamingHttpResponse(_ndjson_lines(rows), content_type="application/x-ndjson")
        response["X-Complete-Until"] = complete_until
        response["Content-Disposition"] = f'attachment; filename="{self.project.slug}-events.{p["format"]}"'
        return response


class SessionsView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[s.SessionsInput], responses=o.SessionsOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Sessions per day (by first event), average duration and events per session."""
        p = self.validated(s.SessionsInput, request.query_params)
        return self.answer(o.SessionsOutput, kinds.sessions_run(self.project, p))

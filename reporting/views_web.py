"""The web analytics API: the overview, the live view, and the goals the overview lists."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.goals import GoalError, goal_create, goal_update
from analytics.models import Goal
from reporting import web_serializers as w
from reporting.base import ReportingAPIView
from reporting.insights import kinds
from reporting.queries import web

TAG = ["web"]


class WebView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[w.WebInput], responses=w.WebOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Visitors, pageviews, visits, bounces, durations, the top lists and goals (README: Web analytics)."""
        p = self.validated(w.WebInput, request.query_params)
        return self.answer(w.WebOutput, kinds.web_run(self.project, p))


class WebLiveView(ReportingAPIView):
    @extend_schema(tags=TAG, responses=w.WebLiveOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Visitors of the last 5 minutes, by page and country."""
        return self.answer(w.WebLiveOutput, web.web_live(project=self.project, now=timezone.now()))


class GoalsView(ReportingAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, responses=w.GoalListOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The project's goals, oldest first (the overview's order)."""
        goals = Goal.objects.filter(project_id=self.project.pk).order_by("id")
        return Response({"results": [w.goal_out(goal) for goal in goals]})

    @extend_schema(tags=TAG, request=w.GoalInput, responses={201: w.GoalOutput})
    def post(self, request: Request, slug: str) -> Response:
        """Define a goal: a pageview path glob, or an event with filters."""
        p = self.validated(w.GoalInput, request.data)
        try:
            goal = goal_create(project_id=self.project.pk, definition=p["definition"])
        except GoalError as exc:
            return Response({exc.field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(w.goal_out(goal), status=status.HTTP_201_CREATED)


class GoalView(ReportingAPIView):
    writes: tuple[str, ...] = ("patch", "delete")

    def _goal(self, goal_id: int) -> Goal:
        goal = Goal.objects.filter(project_id=self.project.pk, pk=goal_id).first()
        if goal is None:
            raise Http404("No such goal in this project.")
        return goal

    @extend_schema(tags=TAG, responses=w.GoalOutput)
    def get(self, request: Request, slug: str, goal_id: int) -> Response:
        """One goal."""
        return Response(w.goal_out(self._goal(goal_id)))

    @extend_schema(tags=TAG, request=w.GoalInput, responses=w.GoalOutput)
    def patch(self, request: Request, slug: str, goal_id: int) -> Response:
        """Change a goal's name or definition (a new kind drops the other kind's fields)."""
        goal = self._goal(goal_id)
        definition = self.validated(w.GoalInput, request.data, goal=goal)["definition"]
        return Response(w.goal_out(goal_update(goal=goal, definition=definition)))

    @extend_schema(tags=TAG, responses={204: None})
    def delete(self, request: Request, slug: str, goal_id: int) -> Response:
        """Delete a goal."""
        self._goal(goal_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

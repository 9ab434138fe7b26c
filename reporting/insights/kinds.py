"""The reports an insight can save: for each, its endpoint's input and output shapes and the one
function that answers it. The endpoints call the same functions, so a saved insight and the
endpoint it was made from give the same numbers.

``run`` takes the project and the input as validated by ``input`` and returns the answer's body
without ``complete_until`` (the caller stamps it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from projects.models import Project
from reporting import engagement_serializers as g
from reporting import outputs as o
from reporting import path_serializers as ps
from reporting import serializers as s
from reporting import web_serializers as w
from reporting.queries import (
    active_users,
    engagement,
    funnels,
    paths,
    retention,
    sessions,
    top_events,
    trends_query,
    web,
)

Runner = Callable[[Project, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class InsightKind:
    name: str
    input: type[serializers.Serializer]
    output: type[serializers.Serializer]
    run: Runner
    endpoint: str  # the URL name of the endpoint the query is the input of
    method: str  # how that endpoint takes it: "get" (query string) or "post" (JSON body)


def _range(p: dict[str, Any]) -> dict[str, Any]:
    return {"date_from": p["date_from"], "date_to": p["date_to"]}


def trends_run(project: Project, p: dict[str, Any]) -> dict[str, Any]:
    return trends_query.trends_query(
        project=project,
        series=p["series"],
        **_range(p),
        interval=p["interval"],
        filters=p["filters"],
        breakdown=p["breakdown"],
        formula=p["formula"],
        compare=p["compare"],
        group_index=p["group_index"],
    )


def funnels_run(project: Project, p: dict[str, Any]) -> dict[str, Any]:
    return funnels.funnel_report(
        project=project,
        steps=p["steps"],
        **_range(p),
        window_hours=p["window_hours"],
        filters=p["filters"],
        times=True,
        breakdown=p["breakdown"],
        group_index=p["group_index"],
    )


def retention_run(project: Project, p: dict[str, Any]) -> dict[str, Any]:
    results = retention.retention_cohorts(
        project=project, **_range(p), period=p["period"], filters=p["filters"], spec=p["spec"]
    )
    return {"period": p["period"], "results": results}


def _engagement(p: dict[str, Any]) -> dict[str, Any]:
    # Stickiness and lifecycle take the same question: one event, a range, an interval.
    keys = ("event", "interval", "filters", "group_index")
    return {**{key: p[key] for key in keys}, **_range(p)}


def stickiness_run(project: Project, p: dict[str, Any]) -> dict[str, Any]:
    return {"results": engagement.stickiness_get(project=project, **_engagement(p))}


def lifecycle_run(project: Project, p: dict[str, Any]) -> dict[str, Any]:
    return {"results": engagement.lifecycle_get(project=project, **_engagement(p))}


def paths_run(project: Project, p: dict[str, Any]) -> dict[str, Any]:
    return paths.paths_get(
        project=project, spec=p["spec"], **_range(p), filters=p["filters"], group_index=p["group_index"]
    )


def active_users_run(project: Project, p: dict[str, Any]) -> dict[str, Any]:
    results = active_users.active_users_series(
        project=project, **_range(p), interval=p["interval"], filters=p["filters"]
    )
    return {"results": results}


def top_events_run(project: Project, p: dict[str, Any]) -> dict[str, Any]:
    results = top_events.top_events_list(project=project, **_range(p), limit=p["limit"], filters=p["filters"])
    return {"results": results}


def sessions_run(project: Project, p: dict[str, Any]) -> dict[str, Any]:
    return {"results": sessions.sessions_series(project=project, **_range(p), filters=p["filters"])}


def web_run(project: Project, p: dict[str, Any]) -> dict[str, Any]:
    return web.web_overview(project=project, **_range(p), filters=p["filters"], compare=p["compare"], limit=p["limit"])


KINDS: dict[str, InsightKind] = {
    kind.name: kind
    for kind in (
        InsightKind("trends", s.TrendsQueryInput, o.TrendsQueryOutput, trends_run, "reporting-trends", "post"),
        InsightKind("funnels", s.FunnelInput, o.FunnelOutput, funnels_run, "reporting-funnels", "post"),
        InsightKind(
            "retention",
            s.RetentionCohortsInput,
            o.RetentionCohortsOutput,
            retention_run,
            "reporting-retention-cohorts",
            "get",
        ),
        InsightKind("stickiness", g.StickinessInput, g.StickinessOutput, stickiness_run, "reporting-stickiness", "get"),
        InsightKind("lifecycle", g.LifecycleInput, g.LifecycleOutput, lifecycle_run, "reporting-lifecycle", "get"),
        InsightKind("paths", ps.PathsInput, ps.PathsOutput, paths_run, "reporting-paths", "post"),
        InsightKind(
            "active-users", s.ActiveUsersInput, o.ActiveUsersOutput, active_users_run, "reporting-active-users", "get"
        ),
        InsightKind("top-events", s.TopEventsInput, o.TopEventsOutput, top_events_run, "reporting-top-events", "get"),
        InsightKind("sessions", s.SessionsInput, o.SessionsOutput, sessions_run, "reporting-sessions", "get"),
        InsightKind("web", w.WebInput, w.WebOutput, web_run, "reporting-web", "get"),
    )
}

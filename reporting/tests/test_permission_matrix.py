"""The permission matrix (issue 17's proof): every endpoint under ``/api/v1/projects/<slug>/`` and
every dashboard page, asked by every kind of principal, answers what the access rule says; every
writing handler (a view's ``writes``) too, which only editors, admins, staff and an editor's
write-scoped personal key may call.

The endpoints are enumerated from ``reporting.urls``, so a new one fails
``test_every_endpoint_has_a_request`` until it gets a request here, and so joins the matrix. Each
request is valid: an allowed principal must get 200, and a 400 (a request built badly) fails too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern
from rest_framework.test import APIClient

from analytics.models import Annotation, Goal
from ingestion.models import Destination
from persons.models import Cohort
from reporting import urls as reporting_urls
from reporting.insights.sharing import share_link_create
from reporting.models import Alert, Dashboard, Insight, ShareLink, Subscription
from reporting.tests.permission_world import (
    ACTOR,
    TODAY,
    TRENDS_QUERY,
    World,
    _alert,
    _subscription,
    world_built,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with world_built(django_db_blocker) as built:
        yield built


# --- The requests: one valid request per endpoint, by URL name ---------------------------------

FROM = (TODAY - dt.timedelta(days=6)).isoformat()

# name -> (method, path under the project, query parameters or JSON body)
REQUESTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "reporting-active-users": ("get", "active-users", {}),
    "reporting-top-events": ("get", "top-events", {}),
    "reporting-trends": ("get", "trends", {"event": "signup"}),
    "reporting-funnels": ("post", "funnels", {"steps": ["$pageview", "signup"]}),
    "reporting-retention": ("get", "retention", {"start_date": FROM}),
    "reporting-retention-cohorts": ("get", "retention/cohorts", {}),
    "reporting-stickiness": ("get", "stickiness", {"event": "signup"}),
    "reporting-lifecycle": ("get", "lifecycle", {"event": "signup"}),
    "reporting-paths": ("post", "paths", {}),
    "reporting-live": ("get", "live", {}),
    "reporting-users": ("get", "users", {}),
    "reporting-user": ("get", "users/u-1", {}),
    "reporting-events": ("get", "events", {}),
    "reporting-sessions": ("get", "sessions", {}),
    "reporting-cohorts": ("get", "cohorts", {}),
    "reporting-cohort": ("get", "cohorts/{cohort}", {}),
    "reporting-cohort-persons": ("get", "cohorts/{cohort}/persons", {}),
    "reporting-web": ("get", "web", {}),
    "reporting-web-live": ("get", "web/live", {}),
    "reporting-goals": ("get", "goals", {}),
    "reporting-goal": ("get", "goals/{goal}", {}),
    "reporting-persons": ("get", "persons", {}),
    "reporting-person": ("get", "persons/u-1", {}),
    "reporting-group-types": ("get", "groups/types", {}),
    "reporting-groups": ("get", "groups", {"type": "company"}),
    "reporting-group": ("get", "groups/company/acme", {}),
    "reporting-definitions-events": ("get", "definitions/events", {}),
    "reporting-definitions-properties": ("get", "definitions/properties", {}),
    "reporting-values": ("get", "definitions/properties/plan/values", {}),
    "reporting-annotations": ("get", "annotations", {"from": FROM, "to": TODAY.isoformat()}),
    "reporting-annotation": ("get", "annotations/{annotation}", {}),
    "reporting-alerts": ("get", "alerts", {}),
    "reporting-alert": ("get", "alerts/{alert}", {}),
    "reporting-alert-events": ("get", "alerts/{alert}/events", {}),
    "reporting-subscriptions": ("get", "subscriptions", {}),
    "reporting-subscription": ("get", "subscriptions/{subscription}", {}),
    "reporting-deliveries": ("get", "deliveries", {"status": "failed"}),
    "ingestion-ledger": ("get", "ingestion", {}),
    "destinations": ("get", "destinations", {}),
    "destination": ("get", "destinations/{destination}", {}),
    "destination-batches": ("get", "destinations/{destination}/batches", {"status": "dead"}),
    "destination-replay": ("post", "destinations/{destination}/replay", {}),
    "reporting-insights": ("get", "insights", {}),
    "reporting-insight": ("get", "insights/{insight}", {}),
    "reporting-insight-results": ("get", "insights/{insight}/results", {"dashboard": "{dashboard}"}),
    "reporting-dashboards": ("get", "dashboards", {}),
    "reporting-dashboard": ("get", "dashboards/{dashboard}", {}),
    "reporting-share-links": ("get", "share-links", {}),
}
# Project settings holding secrets: only the admin role (and staff) reads or writes them.
ADMIN_ONLY = {"destinations", "destination", "destination-batches", "destination-replay"}
ADMINS = {"admin", "staff"}
# Routes with no read at all: only their writing handlers, in WRITES below.
WRITE_ONLY = {
    "reporting-insight-share",
    "reporting-dashboard-share",
    "reporting-dashboard-tiles",
    "reporting-share-link",
}
# Reads that need the editor role: the share links (each is a way into the project).
EDITOR_READS = {"reporting-share-links"}


def test_every_endpoint_has_a_request():
    """Each route of reporting.urls is in the matrix: a new endpoint cannot be left out of it."""
    names = {p.name for p in reporting_urls.urlpatterns if isinstance(p, URLPattern)}
    assert len(names) == len(reporting_urls.urlpatterns), "every route is a named path"
    assert names == set(REQUESTS) | WRITE_ONLY
    assert {name for name, _ in WRITES} >= WRITE_ONLY


# --- The principals and what each may do --------------------------------------------------------

SESSIONS = {"viewer", "editor", "admin", "staff", "other member"}
PRINCIPALS = [
    "anonymous",
    "viewer",
    "editor",
    "admin",
    "staff",
    "read key",
    "ingest key",
    "personal key",
    "editor's read personal key",
    "editor's write personal key",
    "viewer's write personal key",
    "revoked personal key",
    "other member",
    "other read key",
    "other personal key",
    "share token",
]
READERS = {
    "viewer",
    "editor",
    "admin",
    "staff",
    "read key",
    "personal key",
    "editor's read personal key",
    "editor's write personal key",
    "viewer's write personal key",
}
API_REFUSALS = {
    "anonymous": 401,
    "ingest key": 403,
    "revoked personal key": 401,
    "other member": 404,
    "other read key": 404,
    "other personal key": 404,
    "share token": 401,
}
# Who reads what needs the editor role: editors and more, an editor's personal keys (either scope).
EDITOR_READERS = {"editor", "admin", "staff", "editor's read personal key", "editor's write personal key"}


def _client(world: World, principal: str) -> APIClient:
    client = APIClient()
    if principal in SESSIONS:
        client.force_login(get_user_model().objects.get(username=f"matrix-{principal.split()[0]}"))
    elif principal in world.keys:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.keys[principal]}")
    return client


@pytest.fixture(scope="module")
def clients(world) -> dict[str, APIClient]:
    return {principal: _client(world, principal) for principal in PRINCIPALS}


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_api(world, clients, name, principal):
    method, path, data = REQUESTS[name]
    ids = {"cohort": world.cohort_id, "goal": world.goal_id, "annotation": world.annotation_id,
           "insight": world.insight_id, "dashboard": world.dashboard_id, "alert": world.alert_id,
           "subscription": world.subscription_id, "destination": world.destination_id}  # fmt: skip
    url = f"/api/v1/projects/{world.project.slug}/" + path.format(**ids)
    data = {key: value.format(**ids) if isinstance(value, str) else value for key, value in data.items()}
    client = clients[principal]
    response = client.post(url, data, format="json") if method == "post" else client.get(url, data)
    if principal not in READERS:
        expected = API_REFUSALS[principal]
    elif name in ADMIN_ONLY:
        expected = 200 if principal in ADMINS else 403
    elif name in EDITOR_READS:
        expected = 200 if principal in EDITOR_READERS else 403
    else:
        expected = 200
    assert response.status_code == expected, getattr(response, "content", b"")[:500]
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


# --- The writes: every handler a view names in ``writes``, by every principal --------------------

# (URL name, method) -> (path under the project, JSON body, status of a principal who may write).
# Each case writes to an object of its own, made in the test's transaction and so rolled back.
WRITES: dict[tuple[str, str], tuple[str, dict[str, Any], int]] = {
    ("reporting-cohorts", "post"): ("cohorts", {"name": "new", "kind": "static", "user_ids": ["u-1"]}, 201),
    ("reporting-cohort", "patch"): ("cohorts/{cohort}", {"name": "renamed"}, 200),
    ("reporting-cohort", "delete"): ("cohorts/{cohort}", {}, 204),
    ("reporting-goals", "post"): ("goals", {"name": "Bought", "kind": "pageview", "path": "/checkout/*"}, 201),
    ("reporting-goal", "patch"): ("goals/{goal}", {"name": "renamed"}, 200),
    ("reporting-goal", "delete"): ("goals/{goal}", {}, 204),
    ("reporting-annotations", "post"): ("annotations", {"date": FROM, "text": "v2 released"}, 201),
    ("reporting-annotation", "patch"): ("annotations/{annotation}", {"text": "renamed"}, 200),
    ("reporting-annotation", "delete"): ("annotations/{annotation}", {}, 204),
    ("destinations", "post"): ("destinations", {"name": "new", "url": "https://example.com/in"}, 201),
    ("destination", "patch"): ("destinations/{destination}", {"name": "renamed", "batch_size": 5}, 200),
    ("destination", "delete"): ("destinations/{destination}", {}, 204),
    ("destination-replay", "post"): ("destinations/{destination}/replay", {}, 200),
    ("reporting-insights", "post"): ("insights", {"name": "new", "kind": "trends", "query": TRENDS_QUERY}, 201),
    ("reporting-insight", "patch"): ("insights/{insight}", {"name": "renamed"}, 200),
    ("reporting-insight", "delete"): ("insights/{insight}", {}, 204),
    ("reporting-insight-share", "post"): ("insights/{insight}/share", {}, 201),
    ("reporting-dashboards", "post"): ("dashboards", {"name": "new"}, 201),
    ("reporting-dashboard", "patch"): ("dashboards/{dashboard}", {"name": "renamed"}, 200),
    ("reporting-dashboard", "delete"): ("dashboards/{dashboard}", {}, 204),
    ("reporting-dashboard-tiles", "post"): ("dashboards/{dashboard}/tiles", {"insight": "{insight}"}, 201),
    ("reporting-dashboard-share", "post"): ("dashboards/{dashboard}/share", {"expires_at": None}, 201),
    ("reporting-share-link", "delete"): ("share-links/{link}", {}, 204),
    ("reporting-alerts", "post"): (
        "alerts",
        {"name": "new", "insight": "{insight}", "condition": "below", "threshold": 3, "emails": ["b@example.com"]},
        201,
    ),
    ("reporting-alert", "patch"): ("alerts/{alert}", {"name": "renamed"}, 200),
    ("reporting-alert", "delete"): ("alerts/{alert}", {}, 204),
    ("reporting-subscriptions", "post"): (
        "subscriptions",
        {"name": "new", "insight": "{insight}", "emails": ["b@example.com"], "frequency": "daily", "time": "08:00"},
        201,
    ),
    ("reporting-subscription", "patch"): ("subscriptions/{subscription}", {"name": "renamed"}, 200),
    ("reporting-subscription", "delete"): ("subscriptions/{subscription}", {}, 204),
}
WRITERS = {"editor", "admin", "staff", "editor's write personal key"}
# What each reader who may not write is told: the role or scope that writing needs.
WRITE_REFUSALS = {
    "viewer": "yours is viewer",
    "read key": "can only read",
    "personal key": "write scope",
    "editor's read personal key": "write scope",
    "viewer's write personal key": "yours is viewer",
}


def test_every_writing_handler_is_in_the_matrix():
    """Each handler a view names in ``writes`` has a case here, and no case names a read."""
    declared = {
        (p.name, method) for p in reporting_urls.urlpatterns for method in getattr(p.callback.view_class, "writes", ())
    }
    assert declared == set(WRITES)
    assert set(WRITE_REFUSALS) == READERS - WRITERS


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("case", sorted(WRITES))
def test_writes(world, clients, case, principal):
    path, body, allowed = WRITES[case]
    cohort = Cohort.objects.create(project_id=world.project.pk, name="mine", kind=Cohort.STATIC)
    goal = Goal.objects.create(project=world.project, name="mine", kind=Goal.PAGEVIEW, path="/mine")
    annotation = Annotation.objects.create(project=world.project, date=TODAY, text="mine")
    destination = Destination.objects.create(project=world.project, name="mine", url="https://example.com/", secret="s")
    insight = Insight.objects.create(project=world.project, name="mine", kind="trends", query=TRENDS_QUERY)
    dashboard = Dashboard.objects.create(project=world.project, name="mine")
    link = share_link_create(project=world.project, insight=insight, user_id=None, actor=ACTOR).link
    alert, subscription = _alert(world.project, insight), _subscription(world.project, insight)
    ids = {"cohort": cohort.pk, "goal": goal.pk, "annotation": annotation.pk, "insight": insight.pk,
           "dashboard": dashboard.pk, "link": link.pk, "alert": alert.pk, "subscription": subscription.pk,
           "destination": destination.pk}  # fmt: skip
    url = f"/api/v1/projects/{world.project.slug}/" + path.format(**ids)
    body = {key: int(value.format(**ids)) if value == "{insight}" else value for key, value in body.items()}
    response = getattr(clients[principal], case[1])(url, body, format="json")
    if case[0] in ADMIN_ONLY:
        expected = allowed if principal in ADMINS else 403 if principal in READERS else API_REFUSALS[principal]
    elif principal in WRITERS:
        expected = allowed
    elif principal in READERS:
        expected = 403
    else:
        expected = API_REFUSALS[principal]
    assert response.status_code == expected, getattr(response, "content", b"")[:500]
    if principal in WRITE_REFUSALS:
        assert WRITE_REFUSALS[principal] in response.json()["detail"]
    if case[0] in ADMIN_ONLY and principal in {"editor", "editor's write personal key"}:
        assert "needs the admin role in this project; yours is editor" in response.json()["detail"]
    if expected >= 400:
        # Refused means nothing changed.
        assert Cohort.objects.filter(pk=cohort.pk, name="mine").exists()
        assert Goal.objects.filter(pk=goal.pk, name="mine").exists()
        assert Cohort.objects.filter(project_id=world.project.pk).count() == 2
        assert Goal.objects.filter(project=world.project).count() == 2
        assert Annotation.objects.filter(pk=annotation.pk, text="mine").exists()
        assert Annotation.objects.filter(project=world.project).count() == 2
        assert Destination.objects.filter(pk=destination.pk, name="mine", batch_size=100).exists()
        assert Destination.objects.filter(project=world.project).count() == 2
        assert Insight.objects.filter(pk=insight.pk, name="mine", version=1).exists()
        assert Insight.objects.filter(project=world.project).count() == 2
        assert Dashboard.objects.filter(pk=dashboard.pk, name="mine", version=1, tiles__isnull=True).exists()
        assert Dashboard.objects.filter(project=world.project).count() == 2
        assert ShareLink.objects.filter(project=world.project).count() == 2
        assert ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).exists()
        assert Alert.objects.filter(pk=alert.pk, name="mine").exists()
        assert Alert.objects.filter(project=world.project).count() == 2
        assert Subscription.objects.filter(pk=subscription.pk, name="mine").exists()
        assert Subscription.objects.filter(project=world.project).count() == 2


PAGES = ["/dashboard/", "/dashboard/{slug}/", "/dashboard/{slug}/web/", "/dashboard/{slug}/cohorts/",
         "/dashboard/{slug}/persons/"]  # fmt: skip


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("page", PAGES)
def test_pages(world, clients, page, principal):
    """Pages go by the session only: a bearer key is no sign-in, so it is sent to the form."""
    response = clients[principal].get(page.format(slug=world.project.slug))
    if principal not in SESSIONS:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    elif principal == "other member" and page != "/dashboard/":
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        picker = response.content.decode()
        if page == "/dashboard/":
            # The picker offers exactly what the rule lets the account read.
            assert (f"/dashboard/{world.project.slug}/" in picker) is (principal != "other member")


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_shared_endpoints(world, clients, principal):
    """The public share API answers by the token in its path, whoever asks (cookies and keys are
    ignored there), and only for what the link shows."""
    token = world.keys["share token"]
    client = clients[principal]
    shown = client.get(f"/api/v1/shared/{token}")
    assert shown.status_code == 200, shown.content[:500]
    assert [t["insight"]["id"] for t in shown.json()["dashboard"]["tiles"]] == [world.insight_id]
    results = client.get(f"/api/v1/shared/{token}/insights/{world.insight_id}/results")
    assert results.status_code == 200, results.content[:500]
    other = Insight.objects.create(project=world.project, name="not shown", kind="trends", query=TRENDS_QUERY)
    assert client.get(f"/api/v1/shared/{token}/insights/{other.pk}/results").status_code == 404
    assert client.get("/api/v1/shared/sh_unknown").status_code == 404


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("page", ["/shared/{}/", "/embed/{}/"])
def test_shared_pages(world, clients, principal, page):
    """A share link's public pages open by the token alone, for anyone (signed in or not, any key),
    and only the embed page may be framed."""
    client = clients[principal]
    response = client.get(page.format(world.keys["share token"]))
    assert response.status_code == 200
    assert ("X-Frame-Options" in response) is page.startswith("/shared/")
    assert client.get(page.format("sh_unknown")).status_code == 404

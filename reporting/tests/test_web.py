"""The web overview, live view and goals, each number checked against web_oracle's plain Python."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.models import Goal
from analytics.tests.factories import RawEventFactory, events_delete, events_insert
from analytics.web_days import web_days_current
from persons.models import Person, PersonDistinctId
from projects.selectors import key_cache
from projects.tests.factories import ProjectFactory, editor_key_for, read_key_for
from reporting.tests import web_oracle
from reporting.tests.conftest import FIRST_DAY

pytestmark = pytest.mark.django_db

FIRST = FIRST_DAY + dt.timedelta(days=12)
LAST = FIRST_DAY + dt.timedelta(days=29)  # 18 days; the period before starts before the data

GOALS = [
    {"name": "Checkout", "kind": "pageview", "path": "/checkout/*"},
    {"name": "Docs home", "kind": "pageview", "path": "/docs"},
    {
        "name": "Pro signup",
        "kind": "event",
        "event": "signup",
        "filters": [{"type": "event", "key": "plan", "operator": "exact", "value": "pro"}],
    },
    {
        "name": "Big mobile signup",
        "kind": "event",
        "event": "signup",
        "filters": [
            {"type": "event", "key": "amount", "operator": "gt", "value": 10},
            {"type": "column", "key": "device_type", "operator": "is_not", "value": "desktop"},
        ],
    },
]
GOAL_MATCH = {
    "Pro signup": lambda e: e.properties.get("plan") == "pro",
    "Big mobile signup": lambda e: (
        isinstance(e.properties.get("amount"), int)
        and e.properties["amount"] > 10
        and e.web.get("device_type") != "desktop"
    ),
}

FILTERS = {
    "none": (None, lambda e: True),
    "country": (
        '[{"type": "column", "key": "country", "operator": "exact", "value": ["US", "DE"]}]',
        lambda e: e.web.get("country") in ("US", "DE"),
    ),
    "property": (
        '[{"type": "event", "key": "path", "operator": "is_set"}]',
        lambda e: e.properties.get("path") is not None,
    ),
}


def _goals(tenant) -> list[dict]:
    out = []
    editor = tenant.editor()  # the read key reads goals; saving them takes an editor
    for spec in GOALS:
        response = editor.post(tenant.url("goals"), spec, format="json")
        assert response.status_code == 201, response.content
        out.append({**spec, "id": response.json()["id"], "match": GOAL_MATCH.get(spec["name"])})
    return out


@pytest.mark.parametrize("which", ["ny", "kolkata"])
@pytest.mark.parametrize("filtered", list(FILTERS))
def test_overview_matches_plain_python(web_dataset, which, filtered):
    tenant = getattr(web_dataset, which)
    # New York's days answer from the web rollup's files (its late events' days were written to
    # the columnar tier and rolled up again when Kolkata's were loaded); Kolkata's late events
    # send their days to their events, so its overview reads files and events together.
    current, days = web_days_current(tenant.project.pk, tenant.tz, FIRST, LAST), (LAST - FIRST).days + 1
    assert len(current) == days if which == "ny" else 0 < len(current) < days
    goals = _goals(tenant)
    text, keep = FILTERS[filtered]
    params = {"from": FIRST.isoformat(), "to": LAST.isoformat(), "compare": "true", "limit": 5}
    if text:
        params["filters"] = text
    response = tenant.client().get(tenant.url("web"), params)
    assert response.status_code == 200, response.content
    body = response.json()
    want = web_oracle.overview(tenant.events, tenant.tz, FIRST, LAST, keep, goals=goals, limit=5)
    for key, value in want["numbers"].items():
        assert body[key] == value, key
    before = FIRST - (LAST - FIRST) - dt.timedelta(days=1), FIRST - dt.timedelta(days=1)
    assert body["compare"] == web_oracle.numbers(tenant.events, tenant.tz, *before, keep)
    assert body["compare"]["visits"] > 0
    assert body["series"] == want["series"]
    for name in (
        "pages",
        "entry_pages",
        "exit_pages",
        "referrers",
        "channels",
        "utm_sources",
        "utm_campaigns",
        "countries",
        "devices",
        "browsers",
        "os",
        "goals",
    ):
        assert body[name] == want[name], name
    assert body["bounce_rate"] > 0 and body["visit_duration_seconds"] > 0
    assert all(row["value"] != "bot" for row in body["devices"])
    assert any(row["conversions"] for row in body["goals"])
    assert body["complete_until"]


def test_overview_without_compare_and_limit(web_dataset, django_assert_max_num_queries):
    tenant = web_dataset.ny
    # Django's own queries: the key, the goals, the columnar days, complete_until; the events are
    # read by DuckDB in one statement (analytics/query/web.py).
    with django_assert_max_num_queries(4):
        body = tenant.client().get(tenant.url("web"), {"from": FIRST.isoformat(), "to": LAST.isoformat()}).json()
    assert body["compare"] is None and body["goals"] == []
    assert len(body["pages"]) == len(web_oracle.PATHS)  # every path fits in the default 20
    want = web_oracle.overview(tenant.events, tenant.tz, FIRST, LAST, lambda e: True, goals=[], limit=20)
    assert body["pages"] == want["pages"] and body["referrers"] == want["referrers"]


def _ev(project, name, user, t, session, path=None, **web):
    return RawEventFactory(
        project_id=project.pk,
        event_name=name,
        user_id=user,
        timestamp=t,
        session_id=session,
        web={"pathname": path, **web} if name == web_oracle.PAGEVIEW else web,
    )


@pytest.mark.django_db(transaction=True)  # DuckDB reads committed rows only
def test_visits_by_hand():
    """A small case whose numbers are worked out by hand, not by the oracle."""
    project = ProjectFactory(timezone="Europe/Berlin")
    t = dt.datetime(2024, 6, 3, 10, 0, tzinfo=dt.UTC)
    s = dt.timedelta(seconds=1)
    events_insert(
        [
            # Visit 1: / (30 s) -> /pricing (90 s) -> /checkout/done, then a signup: 3 pageviews, 150 s.
            _ev(project, "$pageview", "a", t, "v1", "/", referrer_host="www.google.com", channel="Organic Search"),
            _ev(project, "$pageview", "a", t + 30 * s, "v1", "/pricing", channel="Organic Search"),
            _ev(project, "$pageview", "a", t + 120 * s, "v1", "/checkout/done"),
            _ev(project, "signup", "a", t + 150 * s, "v1"),
            # Visit 2: one pageview of /pricing: a bounce of 0 s.
            _ev(project, "$pageview", "b", t + 10 * s, "v2", "/pricing", utm_source="news", utm_campaign="june"),
            # Visit 3: one pageview and a custom event 20 s later: not a bounce.
            _ev(project, "$pageview", "b", t + 3600 * s, "v3", "/", country="DE"),
            _ev(project, "click", "b", t + 3620 * s, "v3"),
            # A crawler: left out of everything.
            _ev(project, "$pageview", "bot", t, "v4", "/", device_type="bot"),
            # A pageview without a session: a visit and a bounce of its own.
            _ev(project, "$pageview", "c", t + 5 * s, None, "/docs"),
            # Outside the range (the next local day).
            _ev(project, "$pageview", "d", dt.datetime(2024, 6, 3, 22, 30, tzinfo=dt.UTC), "v5", "/late"),
        ]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key_for(project)}")
    url = f"/api/v1/projects/{project.slug}/"
    editor = APIClient()
    editor.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(project)}")
    goal = editor.post(url + "goals", {"name": "Bought", "kind": "pageview", "path": "/checkout/*"}, format="json")
    body = client.get(url + "web", {"from": "2024-06-03", "to": "2024-06-03"}).json()
    assert {k: body[k] for k in ("visitors", "pageviews", "visits", "views_per_visit", "bounce_rate")} == {
        "visitors": 3,
        "pageviews": 6,
        "visits": 4,
        "views_per_visit": 1.5,
        "bounce_rate": 50.0,
    }
    assert body["visit_duration_seconds"] == round((150 + 0 + 20 + 0) / 4, 1)
    assert body["series"] == [{"date": "2024-06-03", "visitors": 3, "pageviews": 6}]
    pages = {row["value"]: row for row in body["pages"]}
    assert pages["/"] == {
        "value": "/",
        "visitors": 2,
        "pageviews": 2,
        "bounce_rate": 0.0,
        "avg_time_on_page_seconds": 30.0,
    }
    assert pages["/pricing"]["bounce_rate"] == 100.0 and pages["/pricing"]["avg_time_on_page_seconds"] == 90.0
    assert (
        pages["/checkout/done"]["bounce_rate"] is None and pages["/checkout/done"]["avg_time_on_page_seconds"] is None
    )
    assert body["entry_pages"] == [
        {"value": "/", "visitors": 2, "pageviews": 2},
        {"value": "/docs", "visitors": 1, "pageviews": 1},
        {"value": "/pricing", "visitors": 1, "pageviews": 1},
    ]
    assert [row["value"] for row in body["exit_pages"]] == ["/", "/checkout/done", "/docs", "/pricing"]
    assert body["referrers"] == [
        {"value": "Direct / None", "visitors": 2, "pageviews": 3},
        {"value": "www.google.com", "visitors": 1, "pageviews": 3},
    ]
    assert body["channels"][0] == {"value": "(none)", "visitors": 2, "pageviews": 3}
    assert body["utm_sources"] == [{"value": "news", "visitors": 1, "pageviews": 1}]
    assert body["utm_campaigns"] == [{"value": "june", "visitors": 1, "pageviews": 1}]
    assert body["countries"] == [
        {"value": "(none)", "visitors": 3, "pageviews": 5},
        {"value": "DE", "visitors": 1, "pageviews": 1},
    ]
    assert body["goals"] == [
        {"goal_id": goal.json()["id"], "name": "Bought", "visitors": 1, "conversions": 1, "conversion_rate": 33.3}
    ]
    # Visitors are persons: "c" linked to b's person is no longer a visitor of its own.
    person = Person.objects.create(project_id=project.pk, created_at=t, updated_at=t)
    for distinct_id in ("b", "c"):
        PersonDistinctId.objects.create(project_id=project.pk, distinct_id=distinct_id, person=person)
    again = client.get(url + "web", {"from": "2024-06-03", "to": "2024-06-03"}).json()
    assert (again["visitors"], again["visits"], again["goals"][0]["conversion_rate"]) == (2, 4, 50.0)
    assert again["entry_pages"][0] == {"value": "/", "visitors": 2, "pageviews": 2}
    # In UTC the late pageview is on the same day.
    project.timezone = "UTC"
    project.save()
    key_cache.clear()  # the key's cached project still has the old zone
    assert client.get(url + "web", {"from": "2024-06-03", "to": "2024-06-03"}).json()["visitors"] == 3
    events_delete([project.pk])  # a table Django's flush does not know


def test_live_web_view(django_assert_max_num_queries):
    project = ProjectFactory()
    now = timezone.now()
    events_insert(
        [
            _ev(project, "$pageview", "a", now - dt.timedelta(seconds=10), "s1", "/", country="US"),
            _ev(project, "$pageview", "a", now - dt.timedelta(seconds=20), "s1", "/docs", country="US"),
            _ev(project, "$pageview", "b", now - dt.timedelta(seconds=200), "s2", "/docs"),
            _ev(project, "$pageview", "c", now - dt.timedelta(seconds=400), "s3", "/old", country="FR"),
            _ev(project, "$pageview", "bot", now - dt.timedelta(seconds=5), "s4", "/", device_type="bot"),
            _ev(project, "signup", "e", now - dt.timedelta(seconds=5), "s5"),
        ]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key_for(project)}")
    with django_assert_max_num_queries(5):
        body = client.get(f"/api/v1/projects/{project.slug}/web/live").json()
    assert body["visitors"] == 2
    assert body["pages"] == [{"value": "/docs", "visitors": 2}, {"value": "/", "visitors": 1}]
    assert body["countries"] == [{"value": "(none)", "visitors": 1}, {"value": "US", "visitors": 1}]
    assert body["complete_until"]


@pytest.fixture
def staff(admin_user) -> APIClient:
    """A logged-in staff user: saving goals takes an editor, an admin or staff (as cohorts do)."""
    client = APIClient()
    client.force_login(admin_user)
    return client


def test_goals_crud(staff):
    client = staff
    project = ProjectFactory()
    url = f"/api/v1/projects/{project.slug}/goals"
    created = client.post(url, {"name": "Checkout", "kind": "pageview", "path": "/checkout/*"}, format="json")
    assert created.status_code == 201, created.content
    goal = created.json()
    assert goal == {
        "id": goal["id"],
        "name": "Checkout",
        "kind": "pageview",
        "path": "/checkout/*",
        "event": None,
        "filters": None,
    }
    one = f"{url}/{goal['id']}"
    assert client.get(one).json() == goal
    filters = [{"type": "event", "key": "plan", "operator": "exact", "value": "pro"}]
    changed = client.patch(one, {"kind": "event", "event": "signup", "filters": filters}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json() == {**goal, "kind": "event", "path": None, "event": "signup", "filters": filters}
    renamed = client.patch(one, {"name": "Pro signup"}, format="json").json()
    assert renamed["name"] == "Pro signup" and renamed["filters"] == filters
    assert [g["id"] for g in client.get(url).json()["results"]] == [goal["id"]]
    other = ProjectFactory()
    assert client.get(f"/api/v1/projects/{other.slug}/goals/{goal['id']}").status_code == 404
    assert client.delete(one).status_code == 204
    assert client.get(one).status_code == 404
    assert not Goal.objects.filter(project_id=project.pk).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "pageview", "path": "/a"}, "name"),
        ({"name": "", "kind": "pageview", "path": "/a"}, "name"),
        ({"name": "x", "path": "/a"}, "kind"),
        ({"name": "x", "kind": "visit", "path": "/a"}, "kind"),
        ({"name": "x", "kind": "pageview"}, "path"),
        ({"name": "x", "kind": "pageview", "path": "checkout"}, "path"),
        ({"name": "x", "kind": "pageview", "path": "/a\x00b"}, "path"),
        ({"name": "x" * 201, "kind": "pageview", "path": "/a"}, "name"),
        ({"name": "x", "kind": "pageview", "path": "/a", "event": "signup"}, "event"),
        ({"name": "x", "kind": "event"}, "event"),
        ({"name": "x", "kind": "event", "event": "signup", "path": "/a"}, "path"),
        ({"name": "x", "kind": "event", "event": "signup", "filters": "plan=pro"}, "filters"),
        (
            {
                "name": "x",
                "kind": "event",
                "event": "signup",
                "filters": [{"type": "event", "key": "p", "operator": "near"}],
            },
            "filters",
        ),
        (
            {
                "name": "x",
                "kind": "event",
                "event": "signup",
                "filters": [{"type": "person", "key": "p", "value": "a"}],
            },
            "filters",
        ),
        (
            {
                "name": "x",
                "kind": "event",
                "event": "signup",
                "filters": [{"type": "column", "key": "colour", "value": "a"}],
            },
            "filters",
        ),
        ({"name": "x", "kind": "event", "event": "signup", "goal": 1}, "goal"),
    ],
)
def test_bad_goal_is_400_naming_the_field(staff, body, field):
    client = staff
    project = ProjectFactory()
    response = client.post(f"/api/v1/projects/{project.slug}/goals", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


def test_bad_patch_is_400_and_changes_nothing(staff):
    client = staff
    project = ProjectFactory()
    url = f"/api/v1/projects/{project.slug}/goals"
    goal = client.post(url, {"name": "x", "kind": "pageview", "path": "/a"}, format="json").json()
    response = client.patch(f"{url}/{goal['id']}", {"kind": "event"}, format="json")
    assert response.status_code == 400 and "event" in response.json()
    assert client.get(f"{url}/{goal['id']}").json() == goal


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filters": '[{"type": "column", "key": "colour", "value": "red"}]'}, "filters"),
        ({"filters": '[{"type": "event", "key": "plan", "operator": "near", "value": 1}]'}, "filters"),
        ({"filters": "not json"}, "filters"),
        ({"from": "2024-13-01"}, "from"),
        ({"from": "2024-03-02", "to": "2024-03-01"}, "from"),
        ({"from": "2024-01-01", "to": "2024-12-31"}, "to"),
        ({"to": "yesterday"}, "to"),
        ({"compare": "maybe"}, "compare"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1000"}, "limit"),
    ],
)
def test_bad_overview_input_is_400_naming_the_parameter(staff, params, field):
    client = staff
    project = ProjectFactory()
    response = client.get(f"/api/v1/projects/{project.slug}/web", params)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()

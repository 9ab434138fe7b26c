"""The alerts, subscriptions and deliveries API: round trips, the webhook secret shown once, and
bad input answered with a 400 naming the field (thresholds that are not numbers, kinds without a
time series, bad addresses and URLs, schedules without their day)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from rest_framework.test import APIClient

from projects.models import Project
from projects.tests.factories import editor_key_for, read_key_for
from reporting.models import Alert, AlertEvent, Dashboard, Delivery, Insight

pytestmark = pytest.mark.django_db


@pytest.fixture
def project() -> Project:
    return Project.objects.create(name="Api", slug="alerts-api", timezone="Europe/Berlin")


@pytest.fixture
def editor(project) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(project)}")
    return client


@pytest.fixture
def reader(project) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key_for(project)}")
    return client


@pytest.fixture
def insight(project) -> Insight:
    return Insight.objects.create(
        project=project, name="Signups", kind="trends", query={"series": [{"event": "signup"}], "interval": "week"}
    )


def _url(project: Project, path: str) -> str:
    return f"/api/v1/projects/{project.slug}/{path}"


def _alert_body(insight: Insight, **changes) -> dict:
    return {
        "name": "Signups dropped",
        "insight": insight.pk,
        "condition": "change_pct",
        "threshold": 20,
        "emails": ["ops@example.com"],
        "webhook_url": "https://hooks.example.com/eventbase",
        **changes,
    }


def test_alert_round_trip_shows_the_secret_once(project, editor, reader, insight):
    made = editor.post(_url(project, "alerts"), _alert_body(insight), format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["webhook_secret"].startswith("whsec_") and body["interval"] == "week"
    assert Alert.objects.get(pk=body["id"]).webhook_secret == body["webhook_secret"]
    one = reader.get(_url(project, f"alerts/{body['id']}")).json()
    assert "webhook_secret" not in one and one["threshold"] == 20.0
    assert [a["id"] for a in reader.get(_url(project, "alerts")).json()["results"]] == [body["id"]]
    assert all("webhook_secret" not in a for a in reader.get(_url(project, "alerts")).json()["results"])
    # A change keeps the secret unless a new one is asked for; that one is shown once too.
    changed = editor.patch(_url(project, f"alerts/{body['id']}"), {"threshold": "35.5"}, format="json").json()
    assert changed["threshold"] == 35.5 and "webhook_secret" not in changed
    rotated = editor.patch(_url(project, f"alerts/{body['id']}"), {"rotate_secret": True}, format="json").json()
    assert rotated["webhook_secret"] != body["webhook_secret"]
    assert editor.delete(_url(project, f"alerts/{body['id']}")).status_code == 204
    assert reader.get(_url(project, f"alerts/{body['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"threshold": "abc"}, "threshold", "valid number"),
        ({"threshold": "NaN"}, "threshold", "valid number"),
        ({"threshold": None}, "threshold", "null"),
        ({"threshold": -5}, "threshold", "0 or more"),
        ({"condition": "sideways"}, "condition", "valid choice"),
        ({"emails": ["not-an-address"]}, "emails", "valid email"),
        ({"emails": "ops@example.com"}, "emails", "list"),
        ({"webhook_url": "ftp://example.com/x"}, "webhook_url", "http"),
        ({"webhook_url": "not a url"}, "webhook_url", "URL"),
        ({"emails": [], "webhook_url": ""}, "emails", "webhook_url"),
        ({"insight": 999999}, "insight", "no insight 999999"),
        ({"insight": "x"}, "insight", "valid integer"),
    ],
)
def test_bad_alerts_are_400_naming_the_field(project, editor, insight, changes, field, words):
    response = editor.post(_url(project, "alerts"), {**_alert_body(insight), **changes}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert words in str(response.json()[field]), response.json()
    assert not Alert.objects.filter(project=project).exists()


def test_an_alert_needs_a_time_series(project, editor):
    funnel = Insight.objects.create(project=project, name="F", kind="funnels", query={"steps": ["a", "b"]})
    response = editor.post(_url(project, "alerts"), _alert_body(funnel), format="json")
    assert response.status_code == 400
    assert "trends, active-users, sessions" in response.json()["insight"][0]


def test_another_projects_insight_is_refused(project, editor):
    other = Project.objects.create(name="Other", slug="other-alerts")
    theirs = Insight.objects.create(project=other, name="T", kind="trends", query={})
    response = editor.post(_url(project, "alerts"), _alert_body(theirs), format="json")
    assert response.status_code == 400 and "insight" in response.json()


def test_alert_history_and_deliveries(project, editor, reader, insight):
    alert_id = editor.post(_url(project, "alerts"), _alert_body(insight), format="json").json()["id"]
    alert = Alert.objects.get(pk=alert_id)
    start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    fired = AlertEvent.objects.create(alert=alert, interval_start=start, state="firing", value=5, previous_value=10)
    AlertEvent.objects.create(
        alert=alert, interval_start=start + dt.timedelta(days=7), state="resolved", value=9, previous_value=5
    )
    Delivery.objects.create(
        project=project, alert=alert, alert_event=fired, channel="webhook", target=alert.webhook_url,
        payload={"state": "firing"}, idempotency_key="k1", status="failed", attempts=1, last_error="HTTP 500",
    )  # fmt: skip
    Delivery.objects.create(
        project=project, alert=alert, alert_event=fired, channel="email", target="ops@example.com",
        payload={"subject": "s"}, idempotency_key="k2", status="delivered", attempts=1,
    )  # fmt: skip
    events = reader.get(_url(project, f"alerts/{alert_id}/events")).json()["results"]
    assert [(e["state"], e["value"], e["previous_value"]) for e in events] == [
        ("resolved", 9.0, 5.0),
        ("firing", 5.0, 10.0),
    ]
    log = reader.get(_url(project, "deliveries"), {"alert": alert_id}).json()["results"]
    assert {d["channel"] for d in log} == {"webhook", "email"}
    failed = reader.get(_url(project, "deliveries"), {"status": "failed"}).json()["results"]
    assert [(d["target"], d["attempts"], d["last_error"]) for d in failed] == [(alert.webhook_url, 1, "HTTP 500")]
    assert reader.get(_url(project, "deliveries"), {"status": "lost"}).status_code == 400
    assert "status" in reader.get(_url(project, "deliveries"), {"status": "lost"}).json()
    assert reader.get(_url(project, "deliveries"), {"alert": "x"}).json().keys() == {"alert"}


def _subscription_body(**changes) -> dict:
    return {"name": "Weekly", "emails": ["team@example.com"], "frequency": "weekly", "weekday": 0, "time": "09:00",
            **changes}  # fmt: skip


def test_subscription_round_trip(project, editor, reader, insight):
    dashboard = Dashboard.objects.create(project=project, name="Growth")
    made = editor.post(_url(project, "subscriptions"), _subscription_body(dashboard=dashboard.pk), format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["dashboard"], body["insight"], body["time"], body["weekday"]) == (dashboard.pk, None, "09:00", 0)
    next_send = dt.datetime.fromisoformat(body["next_send_at"].replace("Z", "+00:00"))
    local = next_send.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    assert dt.datetime.now(dt.UTC) < next_send <= dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    changed = editor.patch(
        _url(project, f"subscriptions/{body['id']}"), {"frequency": "monthly", "day_of_month": 31}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["day_of_month"] == 31
    assert [s["id"] for s in reader.get(_url(project, "subscriptions")).json()["results"]] == [body["id"]]
    assert editor.delete(_url(project, f"subscriptions/{body['id']}")).status_code == 204


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"time": "25:00"}, "time", "wrong format"),
        ({"time": "9am"}, "time", "wrong format"),
        ({"frequency": "hourly"}, "frequency", "valid choice"),
        ({"weekday": None}, "weekday", "weekday"),
        ({"weekday": 7}, "weekday", "less than or equal to 6"),
        ({"frequency": "monthly"}, "day_of_month", "day_of_month"),
        ({"frequency": "monthly", "day_of_month": 0}, "day_of_month", "greater than or equal to 1"),
        ({"emails": []}, "emails", "at least 1"),
        ({"emails": ["a@example.com", "nope"]}, "emails", "valid email"),
        ({"insight": None}, "dashboard", "exactly one"),
        ({"dashboard": "BOTH"}, "dashboard", "exactly one"),
        ({"insight": 424242}, "insight", "no insight 424242"),
    ],
)
def test_bad_subscriptions_are_400_naming_the_field(project, editor, insight, changes, field, words):
    body = _subscription_body(**{"insight": insight.pk, **changes})
    if changes.get("dashboard") == "BOTH":
        body["dashboard"] = Dashboard.objects.create(project=project, name="D").pk
    response = editor.post(_url(project, "subscriptions"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert words in str(response.json()[field]), response.json()


def test_an_alert_whose_insight_changed_kind_still_reads(project, editor, reader, insight):
    """The insight was edited into a funnel after the alert was made: listed, with no interval."""
    alert_id = editor.post(_url(project, "alerts"), _alert_body(insight), format="json").json()["id"]
    Insight.objects.filter(pk=insight.pk).update(kind="funnels", query={"steps": ["a", "b"]})
    assert reader.get(_url(project, f"alerts/{alert_id}")).json()["interval"] is None
    assert reader.get(_url(project, "alerts")).status_code == 200

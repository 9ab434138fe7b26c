"""The real Python SDKs (posthog, segment-analytics-python, rudder-sdk-python) against a live server.

Each SDK sends over HTTP to pytest-django's live server exactly as it would to PostHog, Segment or
RudderStack; the test then flushes the buffer in-process and reads the stored rows. The client's
clock is set one hour fast (the SDK modules' ``datetime`` is replaced) to prove the skew
correction, and every batch is sent twice to prove dedupe on replay.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection

from ingestion.protocols.segment import event_id_for
from ingestion.tests.conftest import stored
from persons.selectors import person_get

pytestmark = pytest.mark.django_db(transaction=True)

SKEW = dt.timedelta(hours=1)  # the client's clock is this much fast
BEFORE_SEND = dt.timedelta(seconds=30)  # what the client says: "this happened 30 s ago"


class _FastClock(dt.datetime):
    """``datetime`` as seen by an SDK running on a machine whose clock is an hour fast."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return dt.datetime.now(tz) + SKEW


def _client_time() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + SKEW - BEFORE_SEND


@pytest.fixture(autouse=True)
def _clean_up(project, live_server_closes_connections) -> Iterator[None]:
    yield
    # Transactional tests truncate Django's tables but not the raw, unmanaged events table.
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events WHERE project_id = %s", [project.pk])


def _assert_skew_corrected(row: dict) -> None:
    gap = row["received_at"] - row["timestamp"]
    assert abs(gap - BEFORE_SEND) < dt.timedelta(seconds=3), gap


def _sdk_errors() -> tuple[list, object]:
    errors: list = []
    return errors, lambda exc, batch: errors.append(exc)


def _posthog_client(ingest_key: str, live_server, on_error, **options):
    from posthog import Posthog

    return Posthog(
        ingest_key,
        **{
            "host": live_server.url,
            "sync_mode": True,
            "max_retries": 0,
            "on_error": on_error,
            "enable_exception_autocapture": False,
            **options,
        },
    )


def test_posthog_python_batch_endpoint(project, ingest_key, live_server, flush, monkeypatch):
    import posthog.client
    import posthog.request

    monkeypatch.setattr(posthog.request, "datetime", _FastClock)
    monkeypatch.setattr(posthog.client, "datetime", _FastClock)
    errors, on_error = _sdk_errors()
    client = _posthog_client(ingest_key, live_server, on_error, gzip=True)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for _ in range(2):  # the replay is stored once
        client.capture(
            "signed_up",
            distinct_id="user-1",
            properties={"plan": "pro", "seats": 3},
            uuid=ids[0],
            timestamp=_client_time(),
        )
        client.set(distinct_id="user-1", properties={"email": "a@example.com"}, uuid=ids[1])
        client.alias(previous_id="user-1", distinct_id="user-1-alias", uuid=ids[2], timestamp=_client_time())
    client.shutdown()
    assert errors == []
    flush()
    rows = {row["event_id"]: row for row in stored(project.pk)}
    assert set(rows) == set(ids)
    signup = rows[ids[0]]
    assert signup["event_name"] == "signed_up"
    assert signup["user_id"] == "user-1" and signup["source"] == "posthog"
    assert signup["properties"]["plan"] == "pro" and signup["properties"]["seats"] == 3
    assert signup["properties"]["$lib"] == "posthog-python"
    assert "token" not in signup["properties"]
    _assert_skew_corrected(signup)
    assert rows[ids[1]]["event_name"] == "$set"
    assert rows[ids[2]]["event_name"] == "$create_alias"
    person = person_get(project_id=project.pk, distinct_id="user-1-alias")
    assert person["distinct_ids"] == ["user-1", "user-1-alias"]
    assert person["properties"] == {"email": "a@example.com"}


def test_posthog_python_capture_v1(project, ingest_key, live_server, flush, monkeypatch):
    import posthog.capture_v1
    import posthog.client

    monkeypatch.setattr(posthog.capture_v1, "datetime", _FastClock)
    monkeypatch.setattr(posthog.client, "datetime", _FastClock)
    errors, on_error = _sdk_errors()
    client = _posthog_client(ingest_key, live_server, on_error, capture_mode="v1")
    event_id = str(uuid.uuid4())
    for _ in range(2):
        client.capture(
            "purchase",
            distinct_id="buyer",
            properties={"amount": 12.5, "$session_id": "s-1", "$set_once": {"first": "yes"}},
            uuid=event_id,
            timestamp=_client_time(),
        )
        client.flush()
    client.shutdown()
    assert errors == []
    flush()
    [row] = stored(project.pk)
    assert row["event_id"] == event_id and row["event_name"] == "purchase" and row["user_id"] == "buyer"
    assert row["session_id"] == "s-1"
    assert row["properties"]["amount"] == 12.5
    _assert_skew_corrected(row)
    assert person_get(project_id=project.pk, distinct_id="buyer")["properties"] == {"first": "yes"}


def test_posthog_python_bad_token_is_a_terminal_401(project, live_server):
    errors, on_error = _sdk_errors()
    # The background consumer (not sync mode) is what hands failed batches to on_error.
    client = _posthog_client("not-a-key", live_server, on_error, sync_mode=False)
    client.capture("x", distinct_id="u")
    client.shutdown()
    assert [getattr(exc, "status", None) for exc in errors] == [401]


def _segment_like(module_name: str):
    if module_name == "segment":
        import segment.analytics.request as request_module
        from segment.analytics import Client
    else:
        import rudderstack.analytics.request as request_module
        from rudderstack.analytics.client import Client
    return Client, request_module


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_segment_protocol_sdks(sdk, project, ingest_key, live_server, flush, monkeypatch):
    client_class, request_module = _segment_like(sdk)
    monkeypatch.setattr(request_module, "datetime", _FastClock)
    errors, on_error = _sdk_errors()
    client = client_class(ingest_key, host=live_server.url, sync_mode=True, max_retries=0, on_error=on_error, gzip=True)
    for _ in range(2):  # replayed messages keep their messageId: stored once
        client.track(
            anonymous_id="anon-9",
            event="Viewed Pricing",
            properties={"tier": "team"},
            timestamp=_client_time(),
            message_id="m-track-1",
        )
        client.page(anonymous_id="anon-9", name="Pricing", properties={"path": "/pricing"}, message_id="m-page-1")
        client.identify(user_id="user-9", anonymous_id="anon-9", traits={"name": "Ada"}, message_id="m-identify-1")
        client.alias(previous_id="user-9", user_id="user-9-new", message_id="m-alias-1")
    client.flush()
    assert errors == []
    flush()
    rows = {row["event_id"]: row for row in stored(project.pk)}
    expected = {event_id_for(project.pk, f"m-{name}-1"): name for name in ("track", "page", "identify", "alias")}
    assert set(rows) == set(expected)
    track = rows[event_id_for(project.pk, "m-track-1")]
    assert track["event_name"] == "Viewed Pricing" and track["user_id"] == "anon-9"
    assert track["properties"]["tier"] == "team" and track["source"] == "segment"
    assert track["properties"]["$context"]["library"]["name"]
    _assert_skew_corrected(track)
    page = rows[event_id_for(project.pk, "m-page-1")]
    assert page["event_name"] == "$pageview" and page["properties"]["name"] == "Pricing"
    assert rows[event_id_for(project.pk, "m-identify-1")]["event_name"] == "$identify"
    assert rows[event_id_for(project.pk, "m-alias-1")]["user_id"] == "user-9-new"
    person = person_get(project_id=project.pk, distinct_id="anon-9")
    assert person["distinct_ids"] == ["anon-9", "user-9", "user-9-new"]
    assert person["properties"] == {"name": "Ada"}


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_segment_protocol_bad_key_is_reported_not_retried(sdk, project, live_server):
    client_class, _ = _segment_like(sdk)
    errors, on_error = _sdk_errors()
    client = client_class("wrong-key", host=live_server.url, max_retries=0, on_error=on_error)
    client.track(user_id="u", event="x")
    client.shutdown()  # the background consumer hands the failed batch to on_error
    assert len(errors) == 1
    assert errors[0].status == 401 and errors[0].code == "bad_key"

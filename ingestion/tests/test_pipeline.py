"""One capture pipeline for every protocol: each rule is checked once per protocol, in its shape.

The native API, PostHog and Segment share ``ingestion.pipeline``; these tests send the same
situation through each and expect the same decision, answered the way that protocol's SDKs read.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from core.redis import get_redis
from ingestion.ledger import ledger_sync
from ingestion.limits import WINDOW_SECONDS
from ingestion.models import IngestionLedger
from ingestion.validation import MAX_BODY_BYTES
from projects.models import ApiKey, AuditAction, AuditEntry
from projects.selectors import key_cache
from projects.services import KEYS_LAST_USED, api_key_revoke, api_key_usage_sync

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example"


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def _ph_event() -> dict[str, Any]:
    return {"event": "$pageview", "distinct_id": "d1", "uuid": str(uuid.uuid4())}


@dataclass(frozen=True)
class Wire:
    """One protocol: how its SDKs send ``count`` events, and what its answers look like."""

    name: str
    path: str
    send: Callable[..., Any]  # (client, key, count=1, **headers) -> response
    ok: int
    wrong_method: str
    # Per rule, the status and the fields the protocol's error body must carry.
    revoked: tuple[int, dict[str, str]]
    origin: dict[str, str]
    rate_limited: dict[str, str]
    quota: dict[str, Any]
    too_large: dict[str, str]
    unavailable: dict[str, str]


def _native(client, key, count=1, **headers):
    body = {"events": [{"event": "x"} for _ in range(count)]}
    return client.post(
        "/api/v1/events",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        **headers,
    )


def _posthog(client, key, count=1, **headers):
    body = {"api_key": key, "batch": [_ph_event() for _ in range(count)]}
    return client.post("/batch/", json.dumps(body), content_type="application/json", **headers)


def _segment(client, key, count=1, **headers):
    body = {"batch": [{"type": "track", "event": "e", "userId": "u"} for _ in range(count)]}
    return client.post(
        "/v1/batch", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=_basic(key), **headers
    )


NATIVE = Wire(
    name="native",
    path="/api/v1/events",
    send=_native,
    ok=202,
    wrong_method="use POST to send events.",
    revoked=(403, {"reason": "revoked_key"}),
    origin={"reason": "origin_not_allowed"},
    rate_limited={"reason": "rate_limited"},
    quota={"reason": "quota_exceeded"},
    too_large={"reason": "too_large"},
    unavailable={"reason": "buffer_unavailable"},
)
POSTHOG = Wire(
    name="posthog",
    path="/batch/",
    send=_posthog,
    ok=200,
    wrong_method="use POST.",
    revoked=(401, {"type": "authentication_error", "code": "invalid_api_key"}),
    origin={"type": "validation_error", "code": "origin_not_allowed"},
    rate_limited={"type": "rate_limited", "code": "rate_limited"},
    quota={"type": "rate_limited", "code": "quota_exceeded", "quota_limited": ["events"]},
    too_large={"type": "validation_error", "code": "too_large"},
    unavailable={"type": "server_error"},
)
SEGMENT = Wire(
    name="segment",
    path="/v1/batch",
    send=_segment,
    ok=200,
    wrong_method="use POST.",
    revoked=(401, {"code": "revoked_key"}),
    origin={"code": "origin_not_allowed"},
    rate_limited={"code": "rate_limited"},
    quota={"code": "quota_exceeded"},
    too_large={"code": "too_large"},
    unavailable={"code": "buffer_unavailable"},
)
WIRES = pytest.mark.parametrize("wire", [NATIVE, POSTHOG, SEGMENT], ids=lambda wire: wire.name)


def _carries(response, fields: dict[str, Any]) -> bool:
    return response.json().items() >= fields.items()


def _set(project, **fields) -> None:
    for name, value in fields.items():
        setattr(project, name, value)
    project.save()
    key_cache.clear()


def _ledger(project) -> dict[str, Any]:
    ledger_sync()
    rows = IngestionLedger.objects.filter(project=project)
    reasons: dict[str, int] = {}
    for row in rows:
        for reason, n in row.rejected_by_reason.items():
            reasons[reason] = reasons.get(reason, 0) + n
    return {
        "rate_limited": sum(row.rate_limited for row in rows),
        "quota_exceeded": sum(row.quota_exceeded for row in rows),
        "rejected_by_reason": reasons,
    }


# --- Key use ---------------------------------------------------------------------------------


def _v1(client, key):
    body = {"batch": [{**_ph_event(), "timestamp": dt.datetime.now(dt.UTC).isoformat(), "properties": {}}]}
    return client.post(
        "/i/v1/analytics/events", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def _ph_single(client, key):
    return client.post("/e/", json.dumps({**_ph_event(), "api_key": key}), content_type="application/json")


def _segment_track(client, key):
    body = {"event": "e", "userId": "u"}
    return client.post("/v1/track", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=_basic(key))


@pytest.mark.parametrize(
    "send",
    [_native, _ph_single, _posthog, _v1, _segment_track, _segment],
    ids=["native", "posthog-e", "posthog-batch", "posthog-v1", "segment-track", "segment-batch"],
)
def test_every_protocol_marks_its_key_as_used(project, ingest_key, client, send):
    api_key = ApiKey.objects.get(project=project, scope="ingest")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert send(client, ingest_key).status_code in (200, 202)
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert writes == []  # the request path never writes to PostgreSQL
    assert get_redis().hexists(KEYS_LAST_USED, str(api_key.pk))

    assert api_key_usage_sync() == 1
    api_key.refresh_from_db()
    now = dt.datetime.now(dt.UTC)
    assert now - dt.timedelta(minutes=2) < api_key.last_used_at <= now
    used = AuditEntry.objects.filter(action=AuditAction.API_KEY_USED, api_key=api_key)
    assert list(used.values_list("project_id", "actor", "details")) == [
        (project.pk, "system", {"prefix": api_key.prefix})
    ]
    assert api_key_usage_sync() == 0  # same minute again: nothing moves, no second entry
    assert used.count() == 1


# --- The common rules, in each protocol's shape ----------------------------------------------


@WIRES
def test_revoked_key_is_refused_and_not_marked_used(project, ingest_key, client, flush, wire):
    api_key = ApiKey.objects.get(project=project, scope="ingest")
    api_key_revoke(api_key=api_key)
    key_cache.clear()
    response = wire.send(client, ingest_key)
    status, fields = wire.revoked
    assert response.status_code == status and _carries(response, fields)
    assert not get_redis().hexists(KEYS_LAST_USED, str(api_key.pk))
    assert flush().events == 0


@WIRES
def test_origin_not_allowed_is_403_without_cors_headers_and_nothing_taken(project, ingest_key, client, flush, wire):
    _set(project, cors_allowed_origins=ORIGIN)
    response = wire.send(client, ingest_key, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403 and _carries(response, wire.origin)
    assert "Access-Control-Allow-Origin" not in response
    assert flush().events == 0


@WIRES
def test_allowed_origin_gets_cors_headers_on_success_and_refusal(project, ingest_key, client, wire):
    _set(project, cors_allowed_origins=ORIGIN)
    preflight = client.options(wire.path, HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == ORIGIN
    ok = wire.send(client, ingest_key, HTTP_ORIGIN=ORIGIN)
    assert ok.status_code == wire.ok
    assert ok["Access-Control-Allow-Origin"] == ORIGIN and ok["Vary"] == "Origin"
    too_many = wire.send(client, ingest_key, count=1001, HTTP_ORIGIN=ORIGIN)
    assert too_many.status_code == 413 and _carries(too_many, wire.too_large)
    assert too_many["Access-Control-Allow-Origin"] == ORIGIN
    assert "Retry-After" in too_many["Access-Control-Expose-Headers"]


@WIRES
def test_wrong_method_is_405(client, wire):
    response = client.get(wire.path)
    assert response.status_code == 405
    assert response.json() == {"error": wire.wrong_method, "reason": "method"}
    assert response["Allow"] == "POST, OPTIONS"


@WIRES
def test_rate_limit_is_429_with_retry_after_and_counted(project, ingest_key, client, wire):
    # Limits count per clock minute: start with at least 5 s left in this one.
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 5:
        time.sleep(left + 0.05)
    _set(project, rate_limit_per_minute=1)
    assert wire.send(client, ingest_key).status_code == wire.ok
    response = wire.send(client, ingest_key)
    assert response.status_code == 429 and _carries(response, wire.rate_limited)
    assert 1 <= int(response["Retry-After"]) <= WINDOW_SECONDS
    assert _ledger(project)["rate_limited"] == 1


@WIRES
def test_quota_is_429_with_retry_after_and_counted(project, ingest_key, client, wire):
    _set(project, monthly_event_quota=1)
    assert wire.send(client, ingest_key).status_code == wire.ok
    response = wire.send(client, ingest_key)
    assert response.status_code == 429 and _carries(response, wire.quota)
    assert int(response["Retry-After"]) > 0
    assert _ledger(project)["quota_exceeded"] == 1


@WIRES
def test_request_refused_by_validation_is_counted_for_the_project(project, ingest_key, client, wire):
    response = wire.send(client, ingest_key, count=1001)
    assert response.status_code == 413 and _carries(response, wire.too_large)
    assert _ledger(project)["rejected_by_reason"] == {"too_large": 1}


@WIRES
def test_unavailable_buffer_is_503_with_retry_after_and_nothing_taken(
    project, ingest_key, client, flush, settings, wire
):
    _set(project, cors_allowed_origins=ORIGIN)
    dead = "redis://127.0.0.1:1/0"
    get_redis.cache_clear()
    try:
        caches = {"default": {**settings.CACHES["default"], "LOCATION": dead}}
        with override_settings(REDIS_URL=dead, CACHES=caches):
            response = wire.send(client, ingest_key, HTTP_ORIGIN=ORIGIN)
    finally:
        get_redis.cache_clear()
    assert response.status_code == 503 and _carries(response, wire.unavailable)
    assert response["Retry-After"] == "5"
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert flush().events == 0


@WIRES
@pytest.mark.django_db(transaction=True)
def test_postgres_down_while_a_key_is_looked_up_is_503_not_500(client, monkeypatch, wire):
    from projects.tests.factories import ProjectFactory, ingest_key_for

    key = ingest_key_for(ProjectFactory())
    key_cache.clear()  # the lookup must reach PostgreSQL
    # A real connection attempt to a port where nothing listens (PostgreSQL restarting).
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", "1")
    try:
        response = wire.send(client, key)
    finally:
        monkeypatch.undo()
        connection.close()
    assert response.status_code == 503 and _carries(response, wire.unavailable)
    assert response["Retry-After"] == "5"


# --- Where the key is decides what is read first ---------------------------------------------


def test_a_header_key_is_checked_before_the_body_is_read(project, client):
    huge = b"{" + b" " * MAX_BODY_BYTES + b"}"
    for body in (huge, b"{not json"):
        response = client.post("/api/v1/events", body, content_type="application/json", HTTP_AUTHORIZATION="Bearer no")
        assert response.status_code == 401 and response.json()["reason"] == "bad_key"


def test_a_key_in_the_envelope_needs_the_body_first(project, client):
    huge = b"{" + b" " * MAX_BODY_BYTES + b"}"
    assert client.post("/batch/", huge, content_type="application/json").status_code == 413
    assert client.post("/batch/", b"{not json", content_type="application/json").status_code == 400

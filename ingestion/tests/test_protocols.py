"""The PostHog and Segment adapters, request by request, with every envelope shape the SDKs use."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import uuid
from urllib.parse import quote

import pytest

from ingestion.protocols.segment import event_id_for
from ingestion.tests.conftest import stored
from projects.models import ApiKeyScope
from projects.selectors import key_cache
from projects.services import api_key_create
from projects.tests.factories import ProjectFactory, ingest_key_for

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC)
# The body of posthog-js 1.x, lz-string compressToBase64 of
# [{"event":"lz","properties":{"distinct_id":"u-lz","token":"TOKEN","k":"ééé ☃ aaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}]
LZ64_TOKEN = (
    "NobwRApgbhB2AuYBcYA2AvMAaMAHATgPa4T7wCWEAzsuACblUWwDG8A+uXcmAK4C0GbGHiEA1nB4AVAPIBpAKIA5YWJ4"
    "BLzQAJAwGRaAhoaPGTps2AC+FgLpA==="
)


def _ph(client, path: str, body, *, content_type: str = "application/json", **extra):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(path, data=data, content_type=content_type, **extra)


def _event(**fields):
    return {"event": "$pageview", "distinct_id": "d1", "uuid": str(uuid.uuid4()), **fields}


# --- PostHog ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/e/", "/e", "/i/v0/e/", "/batch/", "/batch", "/capture/", "/track/", "/track"])
def test_posthog_paths_answer_exactly_200_status_1(project, ingest_key, client, flush, path):
    response = _ph(client, path, {"api_key": ingest_key, "batch": [_event()]})
    assert response.status_code == 200
    assert response.json() == {"status": 1}
    flush()
    assert stored(project.pk)[0]["event_name"] == "$pageview"


def test_posthog_js_raw_gzip_text_plain_without_content_encoding(project, ingest_key, client, flush):
    # posthog-js: compression=gzip-js, the page's clock in ?_=, the clock an hour fast.
    client_now = NOW + dt.timedelta(hours=1)
    events = [
        _event(
            timestamp=(client_now - dt.timedelta(seconds=20)).isoformat(),
            properties={"token": ingest_key, "$current_url": "https://shop.example/", "$session_id": "sess-1"},
            **{"$set": {"plan": "free"}},
        )
    ]
    body = gzip.compress(json.dumps(events).encode())
    sent_ms = int(client_now.timestamp() * 1000)
    response = _ph(client, f"/e/?compression=gzip-js&ver=1.449.2&_={sent_ms}", body, content_type="text/plain")
    assert response.status_code == 200 and response.json() == {"status": 1}
    flush()
    [row] = stored(project.pk)
    assert row["user_id"] == "d1" and row["session_id"] == "sess-1"
    assert "token" not in row["properties"]
    assert row["properties"]["$set"] == {"plan": "free"}
    gap = row["received_at"] - row["timestamp"]
    assert abs(gap - dt.timedelta(seconds=20)) < dt.timedelta(seconds=2)


def test_posthog_form_data_base64(project, ingest_key, client, flush):
    payload = base64.b64encode(json.dumps(_event(properties={"token": ingest_key})).encode()).decode()
    response = client.post(
        "/e/?compression=base64",
        data=f"data={quote(payload)}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    flush()
    assert len(stored(project.pk)) == 1


def test_posthog_legacy_lz64(project, client, flush):
    key = api_key_create(project=project, scope=ApiKeyScope.INGEST).raw
    body = LZ64_TOKEN  # its token is the literal "TOKEN": send the real key in ?token=
    response = client.post(
        f"/e/?compression=lz64&token={key}",
        data=f"data={quote(body)}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    flush()
    [row] = stored(project.pk)
    assert row["event_name"] == "lz" and row["properties"]["k"].startswith("ééé ☃")


def test_posthog_single_event_time_forms(project, ingest_key, client, flush):
    at = NOW - dt.timedelta(hours=3)
    assert _ph(client, "/capture/", {**_event(event="a"), "api_key": ingest_key, "timestamp": at.isoformat()})
    _ph(client, "/e/", [_event(event="b", properties={"token": ingest_key, "$time": at.timestamp()})])
    _ph(client, "/e/", [_event(event="c", offset=60_000, properties={"token": ingest_key})])
    flush()
    rows = {row["event_name"]: row for row in stored(project.pk)}
    assert abs(rows["a"]["timestamp"] - at) < dt.timedelta(milliseconds=1)
    assert abs(rows["b"]["timestamp"] - at) < dt.timedelta(milliseconds=1)
    assert abs(rows["c"]["received_at"] - rows["c"]["timestamp"] - dt.timedelta(minutes=1)) < dt.timedelta(seconds=1)


def test_posthog_replay_is_deduplicated(project, ingest_key, client, flush):
    body = {"api_key": ingest_key, "batch": [_event(), _event()]}
    assert _ph(client, "/batch/", body).status_code == 200
    assert _ph(client, "/batch/", body).status_code == 200
    flush()
    assert len(stored(project.pk)) == 2


def test_posthog_bad_token_is_401(project, client):
    response = _ph(client, "/batch/", {"api_key": "nope", "batch": [_event()]})
    assert response.status_code == 401
    assert response.json()["type"] == "authentication_error"
    read = api_key_create(project=project, scope=ApiKeyScope.READ).raw
    assert _ph(client, "/batch/", {"api_key": read, "batch": [_event()]}).status_code == 401
    assert _ph(client, "/batch/", {"batch": [_event()]}).status_code == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"\x1f\x8b\x08broken", "text/plain"), (b"%%% not base64 %%%", "text/plain"), (b"{nope", "application/json")],
)
def test_posthog_undecodable_body_is_400(project, ingest_key, client, body, content_type):
    response = client.post(f"/e/?token={ingest_key}", data=body, content_type=content_type)
    assert response.status_code == 400


def test_posthog_over_quota_is_429_quota_limited(project, ingest_key, client):
    project.monthly_event_quota = 1
    project.save()
    key_cache.clear()
    assert _ph(client, "/e/", {"api_key": ingest_key, "batch": [_event()]}).status_code == 200
    response = _ph(client, "/e/", {"api_key": ingest_key, "batch": [_event()]})
    assert response.status_code == 429
    assert response.json()["quota_limited"] == ["events"]
    assert int(response["Retry-After"]) > 0


def test_posthog_invalid_events_are_dropped_valid_ones_kept(project, ingest_key, client, flush):
    too_big = _event(properties={"blob": "x" * 40_000})
    nul = _event(properties={"k": "a\x00b"})
    future = _event(timestamp=(NOW + dt.timedelta(days=3)).isoformat())
    no_id = {"event": "x"}
    surrogate = _event(properties={"k": "\ud800"})
    mixed = {"api_key": ingest_key, "batch": [too_big, nul, future, no_id, surrogate, _event(event="ok")]}
    assert _ph(client, "/batch/", mixed).status_code == 200
    flush()
    assert [row["event_name"] for row in stored(project.pk)] == ["ok"]
    only_bad = _ph(client, "/batch/", {"api_key": ingest_key, "batch": [too_big]})
    assert only_bad.status_code == 400
    assert "limit is 32768 bytes" in only_bad.json()["detail"]


def test_posthog_preflight_allows_authorization_and_content_type(client):
    response = client.options(
        "/i/v0/e/",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 204
    allowed = response["Access-Control-Allow-Headers"]
    assert "authorization" in allowed and "content-type" in allowed


def test_posthog_start_up_endpoints(client, ingest_key):
    js = client.get(f"/array/{ingest_key}/config.js")
    assert js.status_code == 200 and js["Content-Type"].startswith("application/javascript")
    assert f'window._POSTHOG_REMOTE_CONFIG["{ingest_key}"]=' in js.content.decode()
    config = client.get(f"/array/{ingest_key}/config").json()
    assert config["supportedCompression"] == ["gzip", "gzip-js"] and config["hasFeatureFlags"] is False
    flags = client.post("/flags/?v=2", data="{}", content_type="application/json").json()
    assert flags["flags"] == {} and flags["errorsWhileComputingFlags"] is False
    assert client.post("/decide/?v=3", data="{}", content_type="application/json").status_code == 200
    assert client.post("/s/", data="[]", content_type="text/plain").status_code == 200


def test_posthog_capture_v1_answers_per_event(project, ingest_key, client, flush):
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "created_at": NOW.isoformat(),
        "batch": [
            {"event": "e", "uuid": good, "distinct_id": "u", "timestamp": NOW.isoformat(), "properties": {}},
            {"event": "e", "uuid": bad, "distinct_id": "u", "timestamp": "yesterday", "properties": {}},
        ],
    }
    response = _ph(client, "/i/v1/analytics/events", body, HTTP_AUTHORIZATION=f"Bearer {ingest_key}")
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[good] == {"result": "ok"}
    assert results[bad]["result"] == "drop" and "ISO-8601" in results[bad]["details"]


# --- Segment ---------------------------------------------------------------------------------


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_segment_browser_short_path_with_write_key_in_body(project, ingest_key, client, flush):
    message = {
        "type": "track",
        "event": "Clicked",
        "anonymousId": "a-1",
        "messageId": "ajs-next-1",
        "properties": {"button": "buy"},
        "context": {"ip": "10.1.2.3", "page": {"path": "/"}},
        "timestamp": NOW.isoformat(),
        "sentAt": NOW.isoformat(),
        "writeKey": ingest_key,
    }
    response = client.post("/v1/t", data=json.dumps(message), content_type="text/plain")
    assert response.status_code == 200 and response.json() == {"success": True}
    flush()
    [row] = stored(project.pk)
    assert row["event_id"] == event_id_for(project.pk, "ajs-next-1")
    assert row["event_name"] == "Clicked" and row["user_id"] == "a-1"
    assert "ip" not in row["properties"]["$context"]  # only the project's IP policy decides


def test_segment_batch_with_basic_auth_and_kinds(project, ingest_key, client, flush):
    batch = [
        {"type": "page", "anonymousId": "a", "name": "Home", "messageId": "1"},
        {"type": "screen", "userId": "u", "name": "Settings", "messageId": "2"},
        {"type": "group", "userId": "u", "groupId": "acme", "traits": {"size": 3}, "messageId": "3"},
        {"type": "identify", "userId": "u", "anonymousId": "a", "traits": {"email": "u@x"}, "messageId": "4"},
    ]
    response = client.post(
        "/v1/batch",
        data=json.dumps({"batch": batch}),
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic(ingest_key),
    )
    assert response.status_code == 200
    flush()
    names = sorted(row["event_name"] for row in stored(project.pk))
    assert names == ["$groupidentify", "$identify", "$pageview", "$screen"]


def test_segment_message_id_is_stable_per_project(project, ingest_key, client, flush):
    other = ProjectFactory()
    other_key = ingest_key_for(other)
    message = {"type": "track", "event": "e", "userId": "u", "messageId": "same"}
    for key in (ingest_key, ingest_key, other_key):
        client.post(
            "/v1/track", data=json.dumps(message), content_type="application/json", HTTP_AUTHORIZATION=_basic(key)
        )
    flush()
    assert [row["event_id"] for row in stored(project.pk)] == [event_id_for(project.pk, "same")]
    assert [row["event_id"] for row in stored(other.pk)] == [event_id_for(other.pk, "same")]
    assert event_id_for(project.pk, "same") != event_id_for(other.pk, "same")


def test_segment_errors_have_code_and_message(project, ingest_key, client):
    bad_key = client.post("/v1/track", data="{}", content_type="application/json", HTTP_AUTHORIZATION=_basic("nope"))
    assert bad_key.status_code == 401 and set(bad_key.json()) == {"code", "message"}
    not_json = client.post(
        "/v1/track", data="{", content_type="application/json", HTTP_AUTHORIZATION=_basic(ingest_key)
    )
    assert not_json.status_code == 400 and set(not_json.json()) == {"code", "message"}
    invalid = client.post(
        "/v1/track",
        data=json.dumps({"event": "e"}),  # neither userId nor anonymousId
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic(ingest_key),
    )
    assert invalid.status_code == 400 and "anonymousId" in invalid.json()["message"]
    not_text = client.post(
        "/v1/track",
        data=json.dumps({"event": "e", "userId": "u", "properties": {"k": "\ud800"}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic(ingest_key),
    )
    assert not_text.status_code == 400 and "surrogate" in not_text.json()["message"]


def test_segment_size_limits(project, ingest_key, client, flush):
    big = {"type": "track", "event": "e", "userId": "u", "properties": {"x": "y" * 33_000}}
    small = {"type": "track", "event": "ok", "userId": "u"}
    response = client.post(
        "/v1/batch",
        data=json.dumps({"batch": [big, small]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic(ingest_key),
    )
    assert response.status_code == 200
    flush()
    assert [row["event_name"] for row in stored(project.pk)] == ["ok"]
    huge = {"batch": [{**small, "properties": {"x": "y" * 30_000}}] * 18}  # ~540 KB
    too_big = client.post(
        "/v1/batch", data=json.dumps(huge), content_type="application/json", HTTP_AUTHORIZATION=_basic(ingest_key)
    )
    assert too_big.status_code == 400 and too_big.json()["code"] == "too_large"


def test_segment_settings_point_analytics_js_here(project, ingest_key, client):
    response = client.get(f"/v1/projects/{ingest_key}/settings")
    assert response.status_code == 200
    segment_io = response.json()["integrations"]["Segment.io"]
    assert segment_io == {
        "apiKey": ingest_key,
        "apiHost": "testserver/v1",
        "protocol": "http",
        "deliveryStrategy": {"strategy": "standard"},
    }
    assert response.json()["metrics"]["sampleRate"] == 0
    assert client.get("/v1/projects/nope/settings").status_code == 404


def test_errors_outside_capture_come_from_the_same_renderers(client):
    # /flags/ and Segment's settings are not capture endpoints, but their errors are rendered
    # by their protocol's renderer (ingestion/renderers.py), as the capture endpoints' are.
    wrong = client.put("/flags/")
    assert wrong.status_code == 405 and wrong["Allow"] == "GET, POST, OPTIONS"
    assert wrong.json() == {"error": "use GET, POST.", "reason": "method"}
    unknown = client.get("/v1/projects/nope/settings")
    assert unknown.status_code == 404 and unknown.json() == {"code": "bad_key", "message": "unknown API key."}


# --- Native endpoint: the key in the query string, for sendBeacon ------------------------------


def test_native_endpoint_takes_the_key_from_the_query_string(project, ingest_key, client, flush):
    body = json.dumps({"events": [{"event": "beacon"}]})
    response = client.post(f"/api/v1/events?key={ingest_key}", data=body, content_type="text/plain")
    assert response.status_code == 202
    read = api_key_create(project=project, scope=ApiKeyScope.READ).raw
    assert client.post(f"/api/v1/events?key={read}", data=body, content_type="text/plain").status_code == 403
    # A header still wins over the query string.
    wrong = client.post(
        f"/api/v1/events?key={ingest_key}", data=body, content_type="text/plain", HTTP_AUTHORIZATION="Bearer nope"
    )
    assert wrong.status_code == 401
    flush()
    assert [row["event_name"] for row in stored(project.pk)] == ["beacon"]

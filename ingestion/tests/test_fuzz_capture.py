"""No 500, whatever the body: property-based tests over the native, PostHog and Segment endpoints.

Each example is one request. Its answer must be a 2xx or a 4xx in the protocol's documented
shape, and whatever it accepted must then flush into PostgreSQL: nothing dead-lettered, nothing
left in the streams, every buffered event inserted. A body the edge takes but the store refuses
is as much a bug as a 500 (see ``ingestion.json_values``). Strategies: ``fuzz_bodies``.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.redis import get_redis
from ingestion import buffer
from ingestion.flush import FAILURES, FlushStats, drain
from ingestion.tests import fuzz_bodies as fb

pytestmark = pytest.mark.django_db


def _flushed_everything() -> FlushStats:
    stats = drain(seconds=30)
    client = get_redis()
    assert stats.dead_lettered == 0, "an accepted event could not be stored"
    assert client.hlen(FAILURES) == 0, "an accepted event failed to flush and waits for a retry"
    assert sum(client.xlen(key) for key in buffer.all_stream_keys(client)) == 0
    assert stats.inserted == stats.events
    return stats


def _json(response) -> Any:
    assert response.status_code < 500, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


# --- Native ----------------------------------------------------------------------------------


def _check_native(response) -> int:
    """The documented answers of POST /api/v1/events; returns how many events were accepted."""
    body = _json(response)
    if "accepted" in body:
        assert response.status_code in (202, 400)
        assert set(body) == {"accepted", "duplicates", "errors"}
        assert all(set(e) == {"index", "error"} and _is_text(e["error"]) for e in body["errors"])
        if response.status_code == 400:
            assert body["accepted"] == body["duplicates"] == 0 and body["errors"]
        return body["accepted"]
    assert response.status_code in (400, 413, 415)
    assert set(body) == {"error", "reason"} and _is_text(body["error"]) and _is_text(body["reason"])
    return 0


def _post_native(client, key: str, data: bytes, headers: dict[str, str]):
    return client.post(
        "/api/v1/events", data=data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}", **headers
    )


@given(body=fb.native_bodies.map(fb.encode), data=st.data())
def test_native_any_json_body(project, ingest_key, client, body, data):
    sent, headers = data.draw(fb.wire(body))
    accepted = _check_native(_post_native(client, ingest_key, sent, headers))
    assert _flushed_everything().inserted == accepted


@given(body=fb.mutated(st.one_of(fb.native_event, fb.native_bodies)))
def test_native_mutated_body(project, ingest_key, client, body):
    accepted = _check_native(_post_native(client, ingest_key, body, {}))
    assert _flushed_everything().inserted == accepted


# --- PostHog ---------------------------------------------------------------------------------


def _check_posthog(response, *, v1: bool) -> None:
    body = _json(response)
    if response.status_code == 200:
        if v1:
            assert set(body) == {"results"}
            for result in body["results"].values():
                assert result == {"result": "ok"} or (result["result"] == "drop" and _is_text(result["details"]))
        else:
            assert body == {"status": 1}
        return
    assert response.status_code in (400, 401, 413, 415)
    assert {"type", "code", "detail"} <= set(body) and _is_text(body["detail"])
    if body["code"] == "invalid_event":
        assert all(_is_text(e["error"]) for e in body["errors"])


@given(body=st.one_of(fb.posthog_bodies.map(fb.encode), fb.mutated(fb.posthog_bodies)), data=st.data())
def test_posthog_any_body(project, ingest_key, client, body, data):
    path = data.draw(st.sampled_from(["/e/", "/batch/", "/i/v0/e/", "/i/v1/analytics/events"]))
    body, compression = data.draw(fb.posthog_wire(body))
    sent, headers = data.draw(fb.wire(body))
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
    response = client.post(
        f"{path}?token={ingest_key}{compression}",
        data=sent,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
        **headers,
    )
    _check_posthog(response, v1=path.startswith("/i/v1"))
    _flushed_everything()


# --- Segment ---------------------------------------------------------------------------------


@given(body=st.one_of(fb.segment_bodies.map(fb.encode), fb.mutated(fb.segment_bodies)), data=st.data())
def test_segment_any_body(project, ingest_key, client, body, data):
    path = data.draw(st.sampled_from(["/v1/batch", "/v1/b", "/v1/track", "/v1/t", "/v1/identify", "/v1/page"]))
    path += data.draw(st.sampled_from(["", "/"]))
    path = path.replace("//", "/")
    sent, headers = data.draw(fb.wire(body))
    auth = "Basic " + base64.b64encode(f"{ingest_key}:".encode()).decode()
    response = client.post(path, data=sent, content_type="application/json", HTTP_AUTHORIZATION=auth, **headers)
    body = _json(response)
    if response.status_code == 200:
        assert body == {"success": True}
    else:
        assert response.status_code in (400, 413, 415)
        assert set(body) == {"code", "message"} and _is_text(body["code"]) and _is_text(body["message"])
    _flushed_everything()


# --- Any bytes, anywhere ---------------------------------------------------------------------


@given(
    body=st.binary(max_size=300),
    path=st.sampled_from(["/api/v1/events", "/e/", "/batch/", "/i/v1/analytics/events", "/v1/batch", "/v1/t"]),
    encoding=st.sampled_from([None, "gzip", "deflate", "identity", "x-gzip", "compress"]),
    query=st.sampled_from(["", "&compression=lz64", "&compression=base64", "&_=1", "&_=99999999999999999999999"]),
)
def test_random_bytes_on_every_capture_endpoint(project, ingest_key, client, body, path, encoding, query):
    headers = {"HTTP_CONTENT_ENCODING": encoding} if encoding else {}
    response = client.post(
        f"{path}?token={ingest_key}{query}",
        data=body,
        content_type="application/octet-stream",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
        **headers,
    )
    _json(response)
    _flushed_everything()

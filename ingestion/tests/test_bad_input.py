"""Bodies that once answered 500, or were accepted and then could not be stored: each gets a 4xx
that says what to fix (or is accepted and stored), on the native, PostHog and Segment endpoints."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from urllib.parse import quote

import pytest

from ingestion.tests.conftest import stored

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC)
DEEP = '{"a":' * 5000 + "1" + "}" * 5000  # past every parser's depth limit
NESTED_300 = '{"a":' * 300 + "1" + "}" * 300  # readable, and 284 levels too deep


def _native(client, key: str, body: str | bytes, **extra):
    return client.post(
        "/api/v1/events", data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}", **extra
    )


def _posthog(client, key: str, body: str | bytes, path: str = "/batch/"):
    return client.post(f"{path}?token={key}", data=body, content_type="application/json")


def _segment(client, key: str, body: str | bytes, path: str = "/v1/batch"):
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    return client.post(path, data=body, content_type="application/json", HTTP_AUTHORIZATION=auth)


def _wrap(envelope: str, events: list[str]) -> str:
    return "{" + f'"{envelope}":[' + ",".join(events) + "]}"


def _native_batch(*properties: str) -> str:
    return _wrap("events", [f'{{"event":"e{n}","user_id":"u","properties":{p}}}' for n, p in enumerate(properties)])


def _posthog_batch(*properties: str) -> str:
    return _wrap("batch", [f'{{"event":"e{n}","distinct_id":"u","properties":{p}}}' for n, p in enumerate(properties)])


def _segment_batch(*properties: str) -> str:
    events = [f'{{"type":"track","event":"e{n}","userId":"u","properties":{p}}}' for n, p in enumerate(properties)]
    return _wrap("batch", events)


# --- Depth -----------------------------------------------------------------------------------


def test_native_5000_levels_deep_is_a_400_that_names_the_limit(project, ingest_key, client):
    for body in ('{"event":"deep","properties":' + DEEP + "}", _native_batch(DEEP)):
        response = _native(client, ingest_key, body)
        assert response.status_code == 400
        assert response.json()["reason"] == "too_deep"
        assert "nested 16 levels deep at most" in response.json()["error"]


def test_posthog_5000_levels_deep_is_a_400_that_names_the_limit(project, ingest_key, client):
    response = _posthog(client, ingest_key, _posthog_batch(DEEP))
    assert response.status_code == 400
    assert response.json()["code"] == "too_deep" and "16 levels" in response.json()["detail"]


def test_segment_5000_levels_deep_is_a_400_that_names_the_limit(project, ingest_key, client):
    response = _segment(client, ingest_key, _segment_batch(DEEP))
    assert response.status_code == 400
    assert response.json()["code"] == "too_deep" and "16 levels" in response.json()["message"]


def test_300_levels_deep_refuses_that_event_only_on_every_protocol(project, ingest_key, client, flush):
    native = _native(client, ingest_key, _native_batch(NESTED_300, '{"ok":1}'))
    assert native.status_code == 202 and native.json()["accepted"] == 1
    assert "properties.a.a.a" in native.json()["errors"][0]["error"]
    assert "nested deeper than 16 levels" in native.json()["errors"][0]["error"]
    assert _posthog(client, ingest_key, _posthog_batch(NESTED_300, '{"ok":1}')).status_code == 200
    assert _segment(client, ingest_key, _segment_batch(NESTED_300, '{"ok":1}')).status_code == 200
    only = _segment(client, ingest_key, _segment_batch(NESTED_300))
    assert only.status_code == 400 and "nested deeper than 16 levels" in only.json()["message"]
    flush()
    assert sorted(row["source"] for row in stored(project.pk)) == ["api", "posthog", "segment"]


# --- Numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["1e400", "-1E+400", "9" * 400, "9" * 5000])
def test_a_number_beyond_a_double_refuses_its_event_and_keeps_the_batch(project, ingest_key, client, flush, number):
    # jsonb would store it, but no reader (the flusher's person updates, the reporting API) could
    # read it back. The batch goes on: the neighbour is stored.
    bad, good = '{"n":' + number + "}", '{"n":1}'
    for response, errors in (
        (_native(client, ingest_key, _native_batch(bad, good)), lambda r: r.json()["errors"]),
        (_native(client, ingest_key, '{"event":"e","properties":' + bad + "}"), lambda r: r.json()["errors"]),
    ):
        assert response.status_code in (202, 400)
        assert "properties.n is" in errors(response)[0]["error"]
        assert "beyond the range of a double" in errors(response)[0]["error"]
    assert _posthog(client, ingest_key, _posthog_batch(bad, good)).status_code == 200
    refused = _segment(client, ingest_key, _segment_batch(bad))
    assert refused.status_code == 400 and "send it as a string" in refused.json()["message"]
    flush()
    assert [row["properties"] for row in stored(project.pk)] == [{"n": 1}, {"n": 1}]


def test_integers_beyond_64_bits_are_kept_as_doubles_on_every_path(project, ingest_key, client, flush):
    big = 2**70
    fast = _native(client, ingest_key, _native_batch(f'{{"n":{big}}}'))  # the fast path steps aside
    precise = _native(client, ingest_key, f'{{"event":"e","user_id":"u","properties":{{"n":{big}}}}}')
    identify = _native(
        client,
        ingest_key,
        _wrap("events", [f'{{"event":"$identify","user_id":"u","properties":{{"$set":{{"n":{big}}}}}}}']),
    )
    assert fast.status_code == precise.status_code == identify.status_code == 202
    flush()
    # jsonb hands the double back as a decimal: compared as doubles.
    assert [float(row["properties"]["n"]) for row in stored(project.pk) if "n" in row["properties"]] == [float(big)] * 2


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(project, ingest_key, client, constant):
    response = _native(client, ingest_key, '{"event":"e","properties":{"n":' + constant + "}}")
    assert response.status_code == 400
    assert response.json() == {
        "error": f"body is not valid JSON: {constant} is not a JSON number; send null or a string.",
        "reason": "invalid_json",
    }


# --- Time ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"timestamp": "0001-01-01T00:00:00+14:00"}, "is out of range"),
        ({"timestamp": "0001-01-01T00:00:00Z", "sent_at": "9999-12-31T00:00:00Z"}, "too far apart"),
        ({"timestamp": "9999-12-31T00:00:00Z", "sent_at": "0001-01-01T00:00:00Z"}, "too far apart"),
        ({"timestamp": "1969-12-31T23:59:59Z"}, "before 1970-01-01"),
    ],
)
def test_times_outside_the_calendar_refuse_their_event(project, ingest_key, client, fields, error):
    for body in ({"event": "e", **fields}, {"events": [{"event": "e", **fields}]}):
        response = _native(client, ingest_key, json.dumps(body))
        assert response.status_code == 400
        assert error in response.json()["errors"][0]["error"]


def test_posthog_times_out_of_range_refuse_their_event(project, ingest_key, client):
    for fields in ({"offset": 1e20}, {"properties": {"$time": 1e300}}, {"timestamp": "0001-01-01T00:00:00+01:00"}):
        body = json.dumps({"batch": [{"event": "e", "distinct_id": "u", **fields}]})
        response = _posthog(client, ingest_key, body)
        assert response.status_code == 400 and response.json()["code"] == "invalid_event"
    clock = client.post(
        f"/e/?token={ingest_key}&_={'9' * 30}", data='{"event":"e","distinct_id":"u"}', content_type="text/plain"
    )
    assert clock.status_code == 400 and "milliseconds since 1970" in clock.json()["detail"]


# --- Text ------------------------------------------------------------------------------------


def test_segment_message_id_with_an_unpaired_surrogate_refuses_its_event(project, ingest_key, client):
    response = _segment(
        client, ingest_key, '{"batch":[{"type":"track","event":"e","userId":"u","messageId":"\\ud800"}]}'
    )
    assert (
        response.status_code == 400 and "messageId contains an unpaired UTF-16 surrogate" in response.json()["message"]
    )


def test_posthog_v1_answers_an_unpaired_surrogate_uuid_with_drop(project, ingest_key, client):
    body = '{"batch":[{"event":"e","distinct_id":"u","uuid":"\\ud800"}]}'
    response = client.post(
        "/i/v1/analytics/events", data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {ingest_key}"
    )
    assert response.status_code == 200
    [(uid, result)] = response.json()["results"].items()
    assert (
        uid == "\ud800"
        and result["result"] == "drop"
        and "uuid contains an unpaired UTF-16 surrogate" in result["details"]
    )


def test_invalid_utf8_in_a_batch_is_a_400(project, ingest_key, client):
    response = _native(client, ingest_key, b'{"events":[{"event":"e","properties":{"k":"\xff"}}]}')
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_json" and "UTF-8" in response.json()["error"]


def test_duplicate_keys_keep_the_last_value_as_jsonb_does(project, ingest_key, client, flush):
    body = '{"events":[{"event":"e","user_id":"u","user_id":"v","properties":{"k":1,"k":2}}]}'
    assert _native(client, ingest_key, body).status_code == 202
    flush()
    [row] = stored(project.pk)
    assert (row["user_id"], row["properties"]) == ("v", {"k": 2})


def test_a_nul_in_the_user_agent_is_dropped_not_a_failed_flush(project, ingest_key, client, flush):
    response = _native(client, ingest_key, _native_batch('{"k":1}'), HTTP_USER_AGENT="agent\x00/1")
    assert response.status_code == 202
    stats = flush()
    assert stats.dead_lettered == 0
    assert [row["user_agent"] for row in stored(project.pk)] == ["agent/1"]


# --- Encodings -------------------------------------------------------------------------------


def test_truncated_gzip_says_so(project, ingest_key, client):
    body = gzip.compress(_native_batch('{"k":1}').encode())[:-12]
    response = _native(client, ingest_key, body, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400 and "truncated gzip" in response.json()["error"]


def test_posthog_form_body_with_percent_encoded_utf8_is_read_as_utf8(project, ingest_key, client, flush):
    event = {"event": "e", "distinct_id": "u", "properties": {"price": "9 €"}}
    body = "data=" + quote(json.dumps(event))
    response = client.post(f"/e/?token={ingest_key}", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    flush()
    assert stored(project.pk)[0]["properties"]["price"] == "9 €"


def test_posthog_properties_that_are_not_an_object_are_a_400_not_a_crash(project, ingest_key, client):
    body = json.dumps([{"event": "e", "distinct_id": "u", "properties": [1, 2]}])
    assert client.post("/e/", data=body, content_type="application/json").status_code == 401  # no key anywhere
    response = _posthog(client, ingest_key, body, path="/e/")
    assert response.status_code == 400 and "properties must be a JSON object" in response.json()["detail"]


def test_posthog_body_that_is_neither_json_nor_base64(project, ingest_key, client):
    response = client.post(
        f"/e/?token={ingest_key}", data="data=%E2%82%AC", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400 and response.json()["detail"] == "body is neither JSON nor base64 JSON."

import datetime as dt
import uuid

import pytest

from ingestion.tests.conftest import stored
from projects.models import ApiKey, IpHandling
from projects.services import api_key_revoke

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC)


def test_single_event_is_accepted_and_stored_once(project, ingest_key, post, flush):
    event_id = str(uuid.uuid4())
    response = post(
        ingest_key,
        {
            "event": "signup",
            "event_id": event_id,
            "user_id": "u1",
            "properties": {"plan": "pro", "nested": {"a": [1, 2]}},
        },
        user_agent="test-agent/1.0",
    )
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    flush()
    rows = stored(project.pk)
    assert len(rows) == 1
    row = rows[0]
    assert row["event_id"] == event_id
    assert row["event_name"] == "signup"
    assert row["source"] == "api"
    assert row["user_id"] == "u1" and row["is_anonymous"] is False
    assert row["properties"] == {"plan": "pro", "nested": {"a": [1, 2]}}
    assert row["user_agent"] == "test-agent/1.0"
    assert row["ip"] == "127.0.0.1"
    assert row["session_id"]  # a server session was assigned
    assert abs(row["timestamp"] - row["received_at"]) < dt.timedelta(seconds=1)


def test_batch_with_x_api_key_header_and_aliases(project, ingest_key, client, flush):
    body = {"events": [{"event_name": "a", "occurred_at": "2024-01-02T03:04:05+02:00"}, {"event": "b"}]}
    response = client.post("/api/v1/events", data=body, content_type="application/json", HTTP_X_API_KEY=ingest_key)
    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    flush()
    rows = stored(project.pk, event_name="a")
    assert rows[0]["timestamp"] == dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=dt.UTC)


def test_an_empty_bearer_header_is_no_key(project, ingest_key, client):
    # A server strips the trailing space of "Bearer ", so "Bearer" and "Bearer " must mean the
    # same: no key in that header, and the next place a key may travel is read.
    for authorization in ("Bearer", "Bearer "):
        response = client.post(
            "/api/v1/events",
            data={"event": "a"},
            content_type="application/json",
            HTTP_AUTHORIZATION=authorization,
            HTTP_X_API_KEY=ingest_key,
        )
        assert response.status_code == 202, authorization


def test_gzip_body(project, ingest_key, post, flush):
    response = post(ingest_key, {"events": [{"event": "zipped"}] * 3}, gzip_body=True)
    assert response.status_code == 202 and response.json()["accepted"] == 3
    flush()
    assert len(stored(project.pk)) == 3


def test_replayed_batch_is_stored_once_and_reported_duplicate(project, ingest_key, post, flush):
    body = {"events": [{"event": "buy", "event_id": str(uuid.uuid4())} for _ in range(5)]}
    assert post(ingest_key, body).json() == {"accepted": 5, "duplicates": 0, "errors": []}
    assert post(ingest_key, body).json() == {"accepted": 0, "duplicates": 5, "errors": []}
    flush()
    assert post(ingest_key, body).json()["duplicates"] == 5
    flush()
    assert len(stored(project.pk)) == 5


def test_clock_skew_is_corrected_with_sent_at(project, ingest_key, post, flush):
    # The client's clock is 1 hour fast: it says the event happened 10 s before sending.
    client_now = NOW + dt.timedelta(hours=1)
    body = {
        "sent_at": client_now.isoformat(),
        "events": [{"event": "skewed", "timestamp": (client_now - dt.timedelta(seconds=10)).isoformat()}],
    }
    assert post(ingest_key, body).status_code == 202
    flush()
    row = stored(project.pk)[0]
    assert abs((row["received_at"] - row["timestamp"]) - dt.timedelta(seconds=10)) < dt.timedelta(milliseconds=5)


def test_anonymous_id_is_a_salted_hash_not_the_ip(project, ingest_key, post, flush):
    post(ingest_key, {"event": "view"}, user_agent="Mozilla/5.0")
    post(ingest_key, {"event": "view"}, user_agent="Mozilla/5.0")
    post(ingest_key, {"event": "view"}, user_agent="Other/1.0")
    flush()
    rows = stored(project.pk)
    users = {row["user_id"] for row in rows}
    assert len(users) == 2
    assert all(row["is_anonymous"] for row in rows)
    assert all(u.startswith("anon_") and "127.0.0.1" not in u and "Mozilla" not in u for u in users)


@pytest.mark.parametrize(("handling", "expected"), [(IpHandling.TRUNCATE, "127.0.0.0"), (IpHandling.DROP, None)])
def test_ip_anonymisation(project, ingest_key, post, flush, handling, expected):
    project.ip_handling = handling
    project.save()
    from projects.selectors import key_cache

    key_cache.clear()
    post(ingest_key, {"event": "x"})
    flush()
    assert stored(project.pk)[0]["ip"] == expected


def test_client_session_id_is_kept_and_server_sessions_split_after_an_hour(project, ingest_key, post, flush):
    t0 = NOW - dt.timedelta(hours=5)
    events = [
        {"event": "a", "user_id": "u", "timestamp": t0.isoformat()},
        {"event": "b", "user_id": "u", "timestamp": (t0 + dt.timedelta(minutes=30)).isoformat()},
        {"event": "c", "user_id": "u", "timestamp": (t0 + dt.timedelta(minutes=150)).isoformat()},
        {"event": "d", "user_id": "u", "session_id": "client-s1"},
    ]
    post(ingest_key, {"events": events})
    flush()
    by_name = {row["event_name"]: row["session_id"] for row in stored(project.pk)}
    assert by_name["a"] == by_name["b"]
    assert by_name["c"] != by_name["a"]
    assert by_name["d"] == "client-s1"


def test_server_sessions_hold_across_flushes_for_thousands_of_users(project, ingest_key, post, flush, settings):
    """More users in one flush than the session script passes to one HMGET/HSET (4,000)."""
    settings.EVENTBASE = {**settings.EVENTBASE, "STREAM_SHARDS": 1}
    t0 = NOW - dt.timedelta(hours=1)
    users = [f"user-{n}" for n in range(4_500)]
    for minutes in (0, 20):
        for offset in range(0, len(users), 1_000):
            events = [
                {"event": f"e{minutes}", "user_id": user, "timestamp": (t0 + dt.timedelta(minutes=minutes)).isoformat()}
                for user in users[offset : offset + 1_000]
            ]
            assert post(ingest_key, {"events": events}).json()["accepted"] == len(events)
        flush()
    sessions: dict[str, set] = {}
    for row in stored(project.pk):
        sessions.setdefault(row["user_id"], set()).add(row["session_id"])
    assert len(sessions) == 4_500
    assert all(len(ids) == 1 for ids in sessions.values())  # 20 minutes apart: one session each
    assert len({next(iter(ids)) for ids in sessions.values()}) == 4_500


def test_late_event_lands_in_its_own_day_partition(project, ingest_key, post, flush):
    old = dt.datetime(2020, 2, 29, 12, 0, tzinfo=dt.UTC)
    response = post(ingest_key, {"event": "late", "timestamp": old.isoformat()})
    assert response.status_code == 202
    flush()
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM events_p20200229 WHERE project_id = %s", [project.pk])
        assert cur.fetchone()[0] == 1


# --- Whole-request errors --------------------------------------------------------------------


def test_missing_and_unknown_keys_are_401(project, post):
    assert post(None, {"event": "x"}).status_code == 401
    response = post("pk_nope", {"event": "x"})
    assert response.status_code == 401
    assert "unknown API key" in response.json()["error"]


def test_read_key_and_revoked_key_are_403(project, ingest_key, read_key, post):
    assert post(read_key, {"event": "x"}).status_code == 403
    api_key_revoke(api_key=ApiKey.objects.get(project=project, scope="ingest"))
    from projects.selectors import key_cache

    key_cache.clear()
    response = post(ingest_key, {"event": "x"})
    assert response.status_code == 403
    assert "revoked" in response.json()["error"]


def test_get_is_405(client):
    assert client.get("/api/v1/events").status_code == 405


@pytest.mark.parametrize(
    ("raw", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b"\xff\xfe", 400, "JSON"),
        (b'{"events": [{"event": "e", "properties": {"k": "\xff"}}]}', 400, "UTF-8"),
        (b"[1, 2]", 400, "array"),
        (b'"just a string"', 400, "JSON object"),
        (b'{"events": {"event": "x"}}', 400, "list"),
        (b'{"events": []}', 400, "empty"),
    ],
)
def test_unusable_bodies_get_a_precise_400(project, ingest_key, post, raw, status, fragment):
    response = post(ingest_key, None, raw=raw)
    assert response.status_code == status
    assert fragment in response.json()["error"]


def test_too_many_events_is_413(project, ingest_key, post):
    response = post(ingest_key, {"events": [{"event": "x"}] * 1001})
    assert response.status_code == 413
    assert "1000" in response.json()["error"]


def test_too_large_body_is_413(project, ingest_key, post):
    big = {"events": [{"event": "x", "properties": {"blob": "y" * 30_000}}] * 180}
    response = post(ingest_key, big)
    assert response.status_code == 413


def test_gzip_bomb_is_413(project, ingest_key, post):
    import gzip

    response = post(ingest_key, None, raw=gzip.compress(b" " * (6 * 1024 * 1024)), content_encoding="gzip")
    assert response.status_code == 413


# --- Per-event errors: good events in the batch still go through ------------------------------


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"k": value}
    return value


BAD_EVENTS = [
    ({"properties": {}}, "event is required"),
    ({"event": ""}, "1 to 200"),
    ({"event": "x" * 201}, "1 to 200"),
    ({"event": 42}, "event must be a string"),
    ({"event": "x", "user_id": {"id": 1}}, "user_id must be a string or an integer"),
    ({"event": "x", "session_id": ["s"]}, "session_id must be"),
    ({"event": "x", "event_id": "not-a-uuid"}, "not a UUID"),
    ({"event": "x", "event_id": 12}, "UUID string"),
    ({"event": "x", "timestamp": "yesterday"}, "not an ISO-8601"),
    ({"event": "x", "timestamp": "2024-01-01T10:00:00"}, "no time zone"),
    ({"event": "x", "timestamp": 1700000000}, "ISO-8601 string"),
    ({"event": "x", "timestamp": (NOW + dt.timedelta(days=2)).isoformat()}, "in the future"),
    ({"event": "x", "properties": [1, 2]}, "properties must be a JSON object"),
    ({"event": "x", "properties": "str"}, "properties must be a JSON object"),
    ({"event": "x", "properties": {"big": "z" * 33_000}}, "limit is 32768 bytes"),
    ({"event": "x\u0000y"}, "NUL"),
    ({"event": "x", "properties": {"k": "a\u0000b"}}, "NUL"),
    ({"event": "x", "properties": {"k\u0000": 1}}, "NUL"),
    ({"event": "x", "properties": _nested(20)}, "nested deeper"),
    ("not an object", "must be a JSON object"),
    ({"event": "x", "source": 5}, "source must be a string"),
    # json.dumps sends these as \\ud800-style escapes: valid JSON syntax, but not text
    ({"event": "x\ud800"}, "unpaired UTF-16 surrogate"),
    ({"event": "x", "user_id": "u\udfff"}, "unpaired UTF-16 surrogate"),
    ({"event": "x", "properties": {"k": "\ud800"}}, "unpaired UTF-16 surrogate"),
]


@pytest.mark.parametrize(("bad", "fragment"), BAD_EVENTS)
def test_bad_event_gets_an_error_entry_and_neighbours_are_taken(project, ingest_key, post, flush, bad, fragment):
    body = {"events": [{"event": "good-1"}, bad, {"event": "good-2"}]}
    response = post(ingest_key, body)
    assert response.status_code == 202
    payload = response.json()
    assert payload["accepted"] == 2
    assert len(payload["errors"]) == 1
    assert payload["errors"][0]["index"] == 1
    assert fragment in payload["errors"][0]["error"]
    flush()
    assert sorted(r["event_name"] for r in stored(project.pk)) == ["good-1", "good-2"]


def test_single_invalid_event_is_400_with_the_same_shape(project, ingest_key, post):
    response = post(ingest_key, {"event": "x", "event_id": "nope"})
    assert response.status_code == 400
    assert response.json()["accepted"] == 0
    assert response.json()["errors"][0]["index"] == 0


def test_duplicate_ids_in_one_batch_are_taken_once(project, ingest_key, post, flush):
    event_id = str(uuid.uuid4())
    response = post(
        ingest_key, {"events": [{"event": "a", "event_id": event_id}, {"event": "a", "event_id": event_id}]}
    )
    payload = response.json()
    assert payload["accepted"] == 1
    assert payload["errors"] == [{"index": 1, "error": payload["errors"][0]["error"]}]
    assert "appears twice" in payload["errors"][0]["error"]
    flush()
    assert len(stored(project.pk)) == 1


def test_unknown_source_when_project_restricts_sources(project, ingest_key, post):
    from projects.selectors import key_cache
    from projects.tests.factories import EventSourceFactory

    project.restrict_sources = True
    project.save()
    EventSourceFactory(project=project, name="web")
    key_cache.clear()
    response = post(ingest_key, {"events": [{"event": "a", "source": "web"}, {"event": "b", "source": "fridge"}]})
    payload = response.json()
    assert payload["accepted"] == 1
    assert "fridge" in payload["errors"][0]["error"]


def test_integers_beyond_64_bits_are_accepted_as_numbers(project, ingest_key, post, flush):
    # Like most analytics pipelines, numbers beyond 64-bit integers are kept as doubles.
    response = post(ingest_key, None, raw=b'{"event": "x", "properties": {"n": 123456789012345678901234567890}}')
    assert response.status_code == 202
    flush()
    assert stored(project.pk)[0]["properties"]["n"] == pytest.approx(1.2345678901234568e29)


def test_a_key_writes_only_to_its_own_project_and_cannot_read_another(project, ingest_key, post, flush, client):
    from projects.tests.factories import ProjectFactory, read_key_for

    other = ProjectFactory()
    other_read = read_key_for(other)
    post(ingest_key, {"event": "mine", "user_id": "u"})
    flush()
    assert [r["event_name"] for r in stored(project.pk)] == ["mine"]
    assert stored(other.pk) == []
    for path in ("events?from=2020-01-01&to=2030-01-01", "top-events?from=2020-01-01&to=2030-01-01", "ingestion"):
        response = client.get(f"/api/v1/projects/{project.slug}/{path}", HTTP_AUTHORIZATION=f"Bearer {other_read}")
        assert response.status_code == 404, path

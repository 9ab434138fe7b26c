"""The flush gives events their group columns and groups their properties (persons.groups)."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import uuid

import orjson
import pytest
from django.db import connection

from events.models import GROUP_COLUMNS
from ingestion import buffer, records
from persons.groups import group_types
from persons.models import Group

pytestmark = pytest.mark.django_db


def _groups_of_rows(project_id: int) -> dict[str, tuple]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT event_name, {', '.join(GROUP_COLUMNS)} FROM events WHERE project_id = %s", [project_id])
        return {row[0]: tuple(row[1:]) for row in cur.fetchall()}


def _group(project_id: int, index: int, key: str) -> dict:
    return Group.objects.get(project_id=project_id, group_type_index=index, group_key=key).properties


def test_events_get_the_keys_of_their_groups_and_types_their_index_on_first_sight(
    project, ingest_key, post, flush, caplog
):
    six = {name: f"{name}-1" for name in ("company", "team", "region", "office", "unit", "planet")}
    body = {
        "events": [
            {"event": "first", "user_id": "u1", "properties": {"$groups": {"team": "core", "company": "acme"}}},
            {"event": "none", "user_id": "u2", "properties": {"plan": "free"}},
            # A number is a key as its text; malformed names are ignored, the event is kept.
            {"event": "odd", "user_id": "u3", "properties": {"$groups": {"company": 42, "team": ["x"], "": "y"}}},
            {"event": "tab", "user_id": "u4", "properties": {"$groups": {"company": "a\tb\\c"}}},
        ]
    }
    assert post(ingest_key, body).json()["accepted"] == 4
    flush()
    with caplog.at_level(logging.WARNING, logger="persons.groups"):
        assert (
            post(ingest_key, {"events": [{"event": "six", "user_id": "u5", "properties": {"$groups": six}}]}).json()[
                "accepted"
            ]
            == 1
        )
        flush()
    # Within a batch, types get indexes in name order; once given, an index stays.
    assert group_types(project_id=project.pk) == [
        {"group_type": "company", "index": 0},
        {"group_type": "team", "index": 1},
        {"group_type": "office", "index": 2},
        {"group_type": "planet", "index": 3},
        {"group_type": "region", "index": 4},
    ]
    rows = _groups_of_rows(project.pk)
    assert rows["first"] == ("acme", "core", None, None, None)
    assert rows["none"] == (None,) * 5
    assert rows["odd"] == ("42", None, None, None, None)
    assert rows["tab"] == ("a\tb\\c", None, None, None, None)
    assert rows["six"] == ("company-1", "team-1", "office-1", "planet-1", "region-1")  # "unit" is the sixth
    assert "'unit' ignored" in caplog.text


def test_groupidentify_merges_properties_in_event_order_and_replays_do_not_reapply(project, ingest_key, post, flush):
    now = dt.datetime.now(dt.UTC)

    def identify(seconds_ago: int, props: dict, key: str = "acme") -> dict:
        return {
            "event": "$groupidentify",
            "user_id": "admin",
            "timestamp": (now - dt.timedelta(seconds=seconds_ago)).isoformat(),
            "properties": {"$group_type": "company", "$group_key": key, "$group_set": props},
        }

    # Sent out of order in one batch: the later event wins a key whatever the order of arrival.
    body = {"events": [identify(10, {"plan": "enterprise"}), identify(20, {"plan": "pro", "seats": 3})]}
    assert post(ingest_key, body).json()["accepted"] == 2
    flush()
    assert _group(project.pk, 0, "acme") == {"plan": "enterprise", "seats": 3}
    assert (
        post(ingest_key, {"events": [identify(5, {"seats": 4}), identify(5, {}, key="globex")]}).json()["accepted"] == 2
    )
    flush()
    assert _group(project.pk, 0, "acme") == {"plan": "enterprise", "seats": 4}
    assert _group(project.pk, 0, "globex") == {}
    # The identify event belongs to the group it describes.
    with connection.cursor() as cur:
        cur.execute("SELECT DISTINCT group_0 FROM events WHERE project_id = %s", [project.pk])
        assert {row[0] for row in cur.fetchall()} == {"acme", "globex"}
    # An entry read again after its rows were stored (a crash before the acknowledgement) stores
    # nothing and must not put back an older $group_set.
    ts = now - dt.timedelta(seconds=30)
    ts_us = int(ts.timestamp() * 1_000_000)
    line = records.encode(
        ts_us,
        ts.isoformat(),
        str(uuid.uuid4()),
        "$groupidentify",
        "api",
        "admin",
        False,
        None,
        orjson.dumps({"$group_type": "company", "$group_key": "acme", "$group_set": {"plan": "old"}}).decode(),
        records.client_fields(None, None),
        records.EMPTY_WEB,
    )
    client = buffer.get_redis()
    buffer.ensure_groups(client)
    fields = {"p": project.pk, "r": ts_us, "v": records.VERSION, "e": line}
    client.xadd(buffer.stream_key(0), fields)
    flush()
    assert _group(project.pk, 0, "acme") == {"plan": "old", "seats": 4}  # an old event, stored late: applied once
    Group.objects.filter(project_id=project.pk, group_key="acme").update(properties={"plan": "enterprise"})
    client.xadd(buffer.stream_key(0), fields)  # the same entry again
    flush()
    assert _group(project.pk, 0, "acme") == {"plan": "enterprise"}


def test_entries_buffered_before_groups_still_get_their_columns(project, flush):
    """Records carry no group flag: entries of older versions (here the JSON entries before records)
    are read for ``$groups`` the same way."""
    ts = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    ts_us = int(ts.timestamp()) * 1_000_000
    old = {
        "id": str(uuid.uuid4()),
        "n": "legacy",
        "s": "api",
        "u": "u1",
        "a": False,
        "sid": None,
        "t": ts_us,
        "p": orjson.dumps({"$groups": {"company": "acme"}}).decode(),
    }
    client = buffer.get_redis()
    buffer.ensure_groups(client)
    client.xadd(buffer.stream_key(0), {"p": project.pk, "r": ts_us, "d": orjson.dumps([old])})
    flush()
    assert _groups_of_rows(project.pk)["legacy"] == ("acme", None, None, None, None)


def test_segment_group_calls_are_groups_of_type_company(project, ingest_key, client, flush):
    body = {
        "batch": [
            {"type": "group", "userId": "u1", "groupId": "initech", "traits": {"employees": 12}, "messageId": "g-1"},
            {"type": "track", "userId": "u1", "event": "Report Viewed", "messageId": "t-1"},
        ]
    }
    auth = "Basic " + base64.b64encode(f"{ingest_key}:".encode()).decode()
    response = client.post("/v1/batch", data=body, content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content
    flush()
    assert group_types(project_id=project.pk) == [{"group_type": "company", "index": 0}]
    assert _group(project.pk, 0, "initech") == {"employees": 12}
    rows = _groups_of_rows(project.pk)
    assert rows["$groupidentify"][0] == "initech"
    assert rows["Report Viewed"][0] is None  # a track call names no group

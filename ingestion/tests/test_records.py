"""Stream records: awkward text survives the trip through COPY exactly, and old entries still flush."""

import datetime as dt
import uuid

import orjson
import pytest

from ingestion import buffer, records
from ingestion.tests.conftest import stored

AWKWARD = 'tab\there, back\\slash, \\N, \\t literally, new\nline, cr\r, quote " and 🎉'


@pytest.mark.parametrize("text", ["plain", "", AWKWARD, "\\", "\\\\N", "ends with \\"])
def test_copy_escape_round_trips(text):
    escaped = records.copy_escape(text)
    assert "\t" not in escaped and "\n" not in escaped and "\r" not in escaped
    assert records.copy_unescape(escaped) == text


def test_a_record_has_its_five_parts_and_no_raw_newline():
    record = records.encode(
        123,
        "1970-01-01T00:00:00.000123+00:00",
        str(uuid.uuid4()),
        AWKWARD,
        "api",
        AWKWARD,
        False,
        None,
        orjson.dumps({"$set": {"q": AWKWARD}}).decode(),
        records.client_fields(None, AWKWARD),
        records.web_fields((AWKWARD, None) * 8 + (None,)),
    )
    assert "\n" not in record
    ts, user, session, flag, body = records.split(record)
    assert (ts, records.copy_unescape(user), session, flag) == ("123", AWKWARD, "", records.PERSON_WORK)
    fields = records.person_fields(123, body)
    assert fields["n"] == AWKWARD and fields["u"] == AWKWARD and fields["p"] == {"$set": {"q": AWKWARD}}


@pytest.mark.django_db
def test_awkward_text_is_stored_exactly(project, ingest_key, post, flush):
    properties = {"q": AWKWARD, "nested": {"list": [AWKWARD, 1, None]}, "key\twith\\tab": True}
    event = {"event": AWKWARD, "user_id": AWKWARD, "session_id": AWKWARD, "properties": properties}
    assert post(ingest_key, event, user_agent="agent\\with backslash").json()["accepted"] == 1
    flush()
    [row] = stored(project.pk)
    assert row["event_name"] == AWKWARD
    assert row["user_id"] == AWKWARD
    assert row["session_id"] == AWKWARD
    assert row["properties"] == properties
    assert row["user_agent"] == "agent\\with backslash"


@pytest.mark.django_db
def test_entries_buffered_by_the_previous_version_are_still_stored(project, flush):
    """An upgrade with events still in the streams: their JSON entries flush like records."""
    ts = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    ts_us = int(ts.timestamp()) * 1_000_000
    old = {
        "id": str(uuid.uuid4()),
        "n": "legacy",
        "s": "api",
        "u": AWKWARD,
        "a": False,
        "sid": None,
        "t": ts_us,
        "p": orjson.dumps({"q": AWKWARD}).decode(),
        "ip": "10.0.0.1",
        "ua": "old agent",
    }
    client = buffer.get_redis()
    buffer.ensure_groups(client)
    client.xadd(buffer.stream_key(0), {"p": project.pk, "r": ts_us, "d": orjson.dumps([old])})
    flush()
    [row] = stored(project.pk)
    assert (row["event_id"], row["event_name"], row["user_id"]) == (old["id"], "legacy", AWKWARD)
    assert row["properties"] == {"q": AWKWARD}
    assert row["timestamp"] == ts and row["received_at"] == ts
    assert row["ip"] == "10.0.0.1" and row["user_agent"] == "old agent"
    assert row["session_id"]  # a server session, as for new entries


@pytest.mark.django_db
def test_a_dead_letter_of_records_is_listed_and_replayed(project, flush):
    from ingestion.dead_letters import dead_letters_list, dead_letters_replay

    ts = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    ts_us = int(ts.timestamp()) * 1_000_000
    lines = [
        records.encode(
            ts_us,
            ts.isoformat(),
            str(uuid.uuid4()),
            name,
            "api",
            "u",
            False,
            None,
            "{}",
            records.client_fields(None, None),
            records.EMPTY_WEB,
        )
        for name in ("first", "second")
    ]
    client = buffer.get_redis()
    buffer.ensure_groups(client)
    client.xadd(
        buffer.DLQ,
        {
            "p": project.pk,
            "r": ts_us,
            "v": records.VERSION,
            "e": "\n".join(lines),
            "stream": buffer.stream_key(0),
            "error": "db was down",
        },
    )
    [letter] = dead_letters_list()
    assert (letter.events, letter.project_id, letter.error) == (2, project.pk, "db was down")
    assert dead_letters_replay() == 1
    flush()
    assert sorted(row["event_name"] for row in stored(project.pk)) == ["first", "second"]

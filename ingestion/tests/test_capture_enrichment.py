"""Capture derives the web columns, drops bots and gives cookieless visitors a per-day id.

Through the real capture endpoint, Redis stream and flush into PostgreSQL; the derivation rules
themselves are tested in test_enrichment_*.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection

from core import keys
from core.redis import get_redis
from events.models import WEB_COLUMNS
from ingestion import buffer, records
from ingestion.ledger import ledger_sync
from ingestion.models import IngestionLedger
from ingestion.tests.conftest import stored
from projects.models import BotHandling, IpHandling

pytestmark = pytest.mark.django_db

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
LONDON_IP = "81.2.69.142"  # allocated to GB by RIPE


def _send(client, key: str, events: list[dict[str, Any]], *, ip: str = LONDON_IP, user_agent: str = IPHONE):
    return client.post(
        "/api/v1/events",
        data=json.dumps({"events": events}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_USER_AGENT=user_agent,
        REMOTE_ADDR=ip,
    )


def _web(row: dict) -> dict:
    return {name: row[name] for name in WEB_COLUMNS if row[name] is not None}


def _bots(project_id: int) -> int:
    ledger_sync()
    return sum(row.bot for row in IngestionLedger.objects.filter(project_id=project_id))


def test_a_pageview_is_stored_with_what_its_request_says(project, ingest_key, client, flush):
    project.ip_handling = IpHandling.DROP  # the country comes from the IP before it is dropped
    project.save(update_fields=["ip_handling"])
    page = "https://shop.example/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
    response = _send(
        client,
        ingest_key,
        [{"event": "$pageview", "user_id": "u1", "properties": {"$current_url": page, "$referrer": ""}}],
    )
    assert response.status_code == 202 and response.json()["accepted"] == 1
    flush()
    (row,) = stored(project.pk)
    assert row["ip"] is None
    assert _web(row) == {
        "browser": "Safari",
        "browser_version": "17",
        "os": "iOS",
        "os_version": "17",
        "device_type": "mobile",
        "country": "GB",
        "host": "shop.example",
        "pathname": "/pricing",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "spring",
        "channel": "Email",
    }


def test_malformed_client_and_page_fields_leave_the_columns_empty(project, ingest_key, client, flush):
    events = [
        {"event": "$pageview", "user_id": "u1", "properties": {"$current_url": "http://[::1", "$referrer": 5}},
        {"event": "$pageview", "user_id": "u1", "properties": {"$current_url": ["not", "a", "url"]}},
        {"event": "other", "user_id": "u1", "properties": {"utm_source": {"nested": True}}},
    ]
    response = _send(client, ingest_key, events, ip="not-an-ip", user_agent="\x01garbage" * 300)
    assert response.status_code == 202 and response.json()["accepted"] == 3
    flush()
    rows = stored(project.pk)
    assert len(rows) == 3
    assert all(row["country"] is None and row["host"] is None for row in rows)


def test_crawlers_are_not_stored_and_are_counted_as_bots(project, ingest_key, client, flush):
    response = _send(client, ingest_key, [{"event": "$pageview"}, {"event": "$pageview"}], user_agent=GOOGLEBOT)
    assert response.status_code == 202
    assert response.json() == {"accepted": 0, "duplicates": 0, "errors": [], "bots": 2}
    flush()
    assert stored(project.pk) == []
    assert _bots(project.pk) == 2
    usage = int(get_redis().get(keys.quota(project.pk, dt.datetime.now(dt.UTC))) or 0)
    assert usage == 0  # a bot does not use the project's quota


def test_spam_referrers_are_dropped_and_the_rest_of_the_batch_kept(project, ingest_key, client, flush):
    events = [
        {"event": "$pageview", "properties": {"$current_url": "https://a.example/", "$referrer": "http://semalt.com/"}},
        {
            "event": "$pageview",
            "properties": {"$current_url": "https://a.example/", "$referrer": "https://duckduckgo.com/"},
        },
    ]
    response = _send(client, ingest_key, events)
    assert response.json()["accepted"] == 1 and response.json()["bots"] == 1
    flush()
    (row,) = stored(project.pk)
    assert row["referrer_host"] == "duckduckgo.com" and row["channel"] == "Organic Search"
    assert _bots(project.pk) == 1


def test_a_project_that_keeps_bots_stores_them_flagged(project, ingest_key, client, flush):
    project.bot_handling = BotHandling.KEEP
    project.save(update_fields=["bot_handling"])
    _send(client, ingest_key, [{"event": "$pageview"}], user_agent=GOOGLEBOT)
    spam = {"$current_url": "https://a.example/", "$referrer": "http://semalt.com/"}
    _send(client, ingest_key, [{"event": "$pageview", "properties": spam}])
    flush()
    assert sorted(row["device_type"] for row in stored(project.pk)) == ["bot", "bot"]
    assert _bots(project.pk) == 0


def test_cookieless_visitors_are_one_per_day_and_not_across_days(project, ingest_key, client, flush):
    project.cookieless = True
    project.save(update_fields=["cookieless"])
    page = {"$current_url": "https://a.example/"}
    for _ in range(2):
        _send(client, ingest_key, [{"event": "$pageview", "properties": page}])
    _send(client, ingest_key, [{"event": "$pageview", "properties": page}], ip="2a00:1450:4001:80b::200e")
    flush()
    rows = stored(project.pk)
    first, again, other = (row["user_id"] for row in rows)
    assert first == again != other and all(row["is_anonymous"] for row in rows)
    # The day's salt lives in Redis only, and dies after its day.
    today = dt.datetime.now(dt.UTC).date()
    salt_key = keys.cookieless_salt(project.pk, today)
    assert 0 < get_redis().ttl(salt_key) <= keys.COOKIELESS_SALT_TTL_SECONDS
    # Tomorrow's salt is another: the same visitor gets another id.
    from ingestion.cookieless import daily_salt
    from ingestion.identity import anonymous_id

    tomorrow = daily_salt(project.pk, today + dt.timedelta(days=1))
    assert tomorrow != daily_salt(project.pk, today)
    assert anonymous_id(salt=tomorrow, ip=LONDON_IP, user_agent=IPHONE, site="a.example") != first
    assert anonymous_id(salt=daily_salt(project.pk, today), ip=LONDON_IP, user_agent=IPHONE, site="a.example") == first


def test_entries_buffered_before_the_web_columns_are_stored(project, flush):
    """An entry of the previous record shape (no ``v`` field) is padded with empty web columns."""
    record = records.encode(
        1_700_000_000_000_000,
        "2023-11-14T22:13:20+00:00",
        "6f9619ff-8b86-4d11-b42d-00c04fd430c8",
        "old",
        "api",
        "u1",
        False,
        None,
        "{}",
        records.client_fields("127.0.0.1", "agent"),
        "",
    ).rsplit("\t", 1)[0]  # without the web fields: as an older version wrote it
    stream = buffer.stream_key(buffer.shard_for(project.pk, "u1"))
    buffer.ensure_groups()
    get_redis().xadd(stream, {"p": project.pk, "r": 1_700_000_000_000_000, "e": record})
    get_redis().sadd(keys.STREAMS, stream)
    flush()
    (row,) = stored(project.pk)
    assert row["event_name"] == "old" and _web(row) == {}
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM events WHERE project_id = %s AND browser IS NULL", [project.pk])
        assert cur.fetchone()[0] == 1

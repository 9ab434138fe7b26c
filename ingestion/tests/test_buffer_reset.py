"""Redis lost the buffer (restart without AOF, FLUSHDB, failover): the flush recovers, the alert fires once."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from ingestion import buffer
from ingestion.buffer_reset import RESET
from ingestion.flush import consumer_name, flush_once
from ingestion.ledger import ledger_sync
from monitoring.alerts import alerts_evaluate, alerts_log

pytestmark = pytest.mark.django_db


def _events(n: int, prefix: str) -> dict:
    return {"events": [{"event": "view", "user_id": f"{prefix}-{i}"} for i in range(n)]}


def _stored(project_id: int) -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT event_id) FROM events WHERE project_id = %s", [project_id])
        total, distinct = cur.fetchone()
    assert total == distinct
    return total


def _reset_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "eventbase.alerts" and getattr(r, "alert", "") == "buffer_reset"]


def test_a_flushed_redis_is_recovered_and_said_once(project, ingest_key, post, flush, redis_client, client, caplog):
    caplog.set_level(logging.INFO, logger="eventbase.alerts")
    assert post(ingest_key, _events(50, "a")).status_code == 202
    flush()
    assert post(ingest_key, _events(30, "b")).status_code == 202
    ledger_sync()  # the ledger knows 80 accepted, 50 stored

    redis_client.flushdb()  # the 30 buffered events are gone with the streams and their group

    assert post(ingest_key, _events(20, "c")).status_code == 202
    flush()
    assert _stored(project.pk) == 70, "events accepted after the reset are stored"
    [line] = _reset_lines(caplog)
    assert line.value == 30 and "30 accepted events never stored" in line.detail

    [alert] = [a for a in alerts_evaluate() if a.name == "buffer_reset"]
    assert alert.value == 30
    body = client.get("/health").json()
    assert body["status"] == "degraded"
    assert [a["name"] for a in body["alerts"]] == ["buffer_reset"]

    # Later flushes and the alert job's reminders do not say it again.
    assert post(ingest_key, _events(5, "d")).status_code == 202
    flush()
    alerts_log(alerts_evaluate())
    assert _stored(project.pk) == 75
    assert len(_reset_lines(caplog)) == 1

    # Once it has been shown long enough, /health is ok again.
    redis_client.delete(RESET)
    assert client.get("/health").json()["status"] == "ok"


def test_a_stream_lost_while_flushed_is_recreated(project, ingest_key, post, flush, redis_client, caplog):
    caplog.set_level(logging.INFO, logger="eventbase.alerts")
    assert post(ingest_key, _events(10, "a")).status_code == 202
    flush()
    streams = buffer.all_stream_keys(redis_client)
    redis_client.delete(*streams)  # a failover to a replica that never had them

    for stream in streams:
        assert flush_once(redis_client, stream, consumer_name()).entries == 0  # was: NOGROUP on every run
    assert len(_reset_lines(caplog)) == 1
    assert post(ingest_key, _events(10, "b")).status_code == 202
    flush()
    assert _stored(project.pk) == 20


def test_a_fresh_install_is_not_a_reset(project, ingest_key, post, flush, caplog):
    caplog.set_level(logging.INFO, logger="eventbase.alerts")
    assert post(ingest_key, _events(10, "a")).status_code == 202
    flush()
    assert _stored(project.pk) == 10
    assert _reset_lines(caplog) == []
    assert not [a for a in alerts_evaluate() if a.name == "buffer_reset"]


def test_the_ledger_never_goes_backwards_after_redis_lost_its_counters(project, ingest_key, post, redis_client):
    assert post(ingest_key, _events(40, "a")).status_code == 202
    ledger_sync()
    redis_client.flushdb()
    assert post(ingest_key, _events(5, "b")).status_code == 202
    ledger_sync()
    with connection.cursor() as cur:
        cur.execute("SELECT sum(accepted) FROM ingestion_ingestionledger WHERE project_id = %s", [project.pk])
        assert cur.fetchone()[0] == 40

"""Alerts: when /health says degraded, what the alert job logs, and the flush's success mark."""

from __future__ import annotations

import json
import logging
import time

import django_rq
import pytest
from django.test import override_settings
from pythonjsonlogger.json import JsonFormatter
from rq.worker import SimpleWorker

from analytics.tests.factories import events_delete
from core.redis import get_redis
from ingestion.flush import LAST_SUCCESS
from monitoring.alerts import alerts_evaluate, alerts_log

pytestmark = pytest.mark.django_db


def test_health_is_ok_when_the_pipeline_is_idle(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["alerts"] == []


def test_old_buffered_entry_without_flush_progress_is_lag_and_stall(client, project, buffered_entry):
    buffered_entry(project.pk, age=600)
    response = client.get("/health")
    assert response.status_code == 200  # stores answer: degraded, not down
    body = response.json()
    assert body["status"] == "degraded"
    names = {alert["name"]: alert for alert in body["alerts"]}
    assert set(names) == {"flush_lag", "flush_stalled"}
    assert names["flush_lag"]["value"] >= 600 and names["flush_lag"]["threshold"] == 60
    assert names["flush_stalled"]["value"] >= 10 and names["flush_stalled"]["threshold"] == 5
    assert "workers" in names["flush_lag"]["message"]


def test_a_backlog_that_is_moving_is_lag_but_not_a_stall(project, buffered_entry):
    buffered_entry(project.pk, age=120)
    get_redis().set(LAST_SUCCESS, time.time() - 10)  # a flush stored something 10 s ago
    assert [a.name for a in alerts_evaluate()] == ["flush_lag"]


def test_a_fresh_entry_after_a_quiet_hour_is_not_a_stall(project, buffered_entry):
    get_redis().set(LAST_SUCCESS, time.time() - 3600)
    buffered_entry(project.pk, age=3)
    assert alerts_evaluate() == []


def test_thresholds_come_from_settings(project, buffered_entry, settings):
    buffered_entry(project.pk, age=20)
    assert alerts_evaluate() == []
    settings.EVENTBASE = {**settings.EVENTBASE, "ALERT_FLUSH_LAG_SECONDS": 10}
    assert [a.name for a in alerts_evaluate()] == ["flush_lag"]


def test_error_rate_spike(client, project, ledger_minute):
    ledger_minute(project, received=200, accepted=120, rejected=80)
    body = client.get("/health").json()
    assert body["status"] == "degraded"
    [alert] = body["alerts"]
    assert alert["name"] == "error_rate" and alert["value"] == 40.0 and alert["threshold"] == 20


def test_error_rate_needs_enough_events_to_mean_something(project, ledger_minute):
    ledger_minute(project, received=10, accepted=2, rejected=8)
    assert alerts_evaluate() == []


def test_health_is_503_when_redis_is_down(client, settings):
    dead = "redis://127.0.0.1:1/0"
    get_redis.cache_clear()
    try:
        with override_settings(REDIS_URL=dead):
            response = client.get("/health")
    finally:
        get_redis.cache_clear()
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["redis"]["status"] == "down"


def test_alert_log_lines_are_json_with_stable_keys(project, buffered_entry, caplog):
    buffered_entry(project.pk, age=600)
    with caplog.at_level(logging.INFO, logger="eventbase.alerts"):
        alerts_log(alerts_evaluate())
    firing = [r for r in caplog.records if r.name == "eventbase.alerts"]
    assert {r.alert for r in firing} == {"flush_lag", "flush_stalled"}
    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )
    line = json.loads(formatter.format(next(r for r in firing if r.alert == "flush_lag")))
    assert line["logger"] == "eventbase.alerts" and line["level"] == "ERROR"
    assert line["state"] == "firing" and line["alert"] == "flush_lag"
    assert line["value"] >= 600 and line["threshold"] == 60 and line["detail"]
    assert line["message"] == "alert firing: flush_lag"

    # The entry gets stored: the next evaluation logs each alert as resolved, once.
    get_redis().delete("eb:events:0")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="eventbase.alerts"):
        alerts_log(alerts_evaluate())
        alerts_log(alerts_evaluate())
    resolved = [(r.alert, r.state) for r in caplog.records if r.name == "eventbase.alerts"]
    assert sorted(resolved) == [("flush_lag", "resolved"), ("flush_stalled", "resolved")]


@pytest.mark.django_db(transaction=True)  # django-rq enqueues on commit
def test_alert_job_is_scheduled_every_minute_and_runs_on_a_worker(project, buffered_entry):
    from config.jobs_registry import PERIODIC_JOBS
    from monitoring.jobs import evaluate_alerts

    [spec] = [job for job in PERIODIC_JOBS if job.func is evaluate_alerts]
    assert spec.interval == 60
    buffered_entry(project.pk, age=600)
    job = django_rq.get_queue("default").enqueue("monitoring.jobs.evaluate_alerts")
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert sorted(job.return_value()) == ["flush_lag", "flush_stalled"]


@pytest.mark.django_db(transaction=True)  # the job closes stale connections, as on a worker
def test_flush_job_records_its_last_success(project, buffered_entry):
    from ingestion.jobs import flush_streams

    client = get_redis()
    flush_streams(seconds=1)
    assert client.get(LAST_SUCCESS) is None  # nothing moved: no success to record
    buffered_entry(project.pk, age=1)
    try:
        flush_streams(seconds=5)
        assert abs(float(client.get(LAST_SUCCESS)) - time.time()) < 30
    finally:
        events_delete([project.pk])  # committed rows of an unmanaged table outlive the test

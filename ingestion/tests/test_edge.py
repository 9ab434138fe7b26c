"""CORS, rate limits, quota and an unreachable buffer at the capture endpoint."""

import time

import pytest
from django.test import override_settings

from core.redis import get_redis
from events.models import RollupDirtyDay
from ingestion.ledger import ledger_sync
from ingestion.limits import WINDOW_SECONDS
from ingestion.models import IngestionLedger
from projects.selectors import key_cache

pytestmark = pytest.mark.django_db


def _within_one_window() -> None:
    """Rate limits count per clock minute: a test whose requests straddled a minute would see its
    count start again. Start with at least 5 s left in the current minute."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 5:
        time.sleep(left + 0.05)


def _set(project, **fields):
    for name, value in fields.items():
        setattr(project, name, value)
    project.save()
    key_cache.clear()


def test_preflight_allows_the_browser_to_ask(client):
    response = client.options(
        "/api/v1/events",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_preflight_with_key_checks_the_allow_list(project, ingest_key, client):
    _set(project, cors_allowed_origins="https://shop.example")
    ok = client.options(f"/api/v1/events?key={ingest_key}", HTTP_ORIGIN="https://shop.example")
    assert ok["Access-Control-Allow-Origin"] == "https://shop.example"
    refused = client.options(f"/api/v1/events?key={ingest_key}", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused


def test_post_from_allowed_origin_gets_cors_headers(project, ingest_key, post):
    _set(project, cors_allowed_origins="https://shop.example\nhttps://app.example")
    response = post(ingest_key, {"event": "x"}, origin="https://app.example")
    assert response.status_code == 202
    assert response["Access-Control-Allow-Origin"] == "https://app.example"


def test_post_from_other_origin_is_refused_and_nothing_taken(project, ingest_key, post, flush):
    _set(project, cors_allowed_origins="https://shop.example")
    response = post(ingest_key, {"event": "x"}, origin="https://evil.example")
    assert response.status_code == 403
    assert "allow-list" in response.json()["error"]
    assert "Access-Control-Allow-Origin" not in response
    assert flush().events == 0


def test_wildcard_allows_any_origin(project, ingest_key, post):
    _set(project, cors_allowed_origins="*")
    assert post(ingest_key, {"event": "x"}, origin="https://anything.example")["Access-Control-Allow-Origin"]


def test_per_ip_rate_limit_answers_429_with_retry_after_and_is_counted(project, ingest_key, post):
    _within_one_window()
    _set(project, rate_limit_per_ip_per_minute=2)
    assert post(ingest_key, {"event": "x"}).status_code == 202
    assert post(ingest_key, {"event": "x"}).status_code == 202
    response = post(ingest_key, {"event": "x"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "per IP" in response.json()["error"]
    ledger_sync()
    assert sum(IngestionLedger.objects.filter(project=project).values_list("rate_limited", flat=True)) == 1


def test_per_project_rate_limit(project, ingest_key, post):
    _within_one_window()
    _set(project, rate_limit_per_minute=1)
    assert post(ingest_key, {"event": "x"}).status_code == 202
    response = post(ingest_key, {"event": "x"})
    assert response.status_code == 429
    assert "per project" in response.json()["error"]


def test_rate_limits_are_per_project(project, ingest_key, post):
    _within_one_window()
    from projects.tests.factories import ProjectFactory, ingest_key_for

    _set(project, rate_limit_per_minute=1)
    other_key = ingest_key_for(ProjectFactory())
    assert post(ingest_key, {"event": "x"}).status_code == 202
    assert post(ingest_key, {"event": "x"}).status_code == 429
    assert post(other_key, {"event": "x"}).status_code == 202


def test_monthly_quota(project, ingest_key, post):
    _set(project, monthly_event_quota=3)
    assert post(ingest_key, {"events": [{"event": "x"}] * 3}).json()["accepted"] == 3
    response = post(ingest_key, {"event": "x"})
    assert response.status_code == 429
    assert "quota" in response.json()["error"]
    assert int(response["Retry-After"]) > 0
    ledger_sync()
    assert sum(IngestionLedger.objects.filter(project=project).values_list("quota_exceeded", flat=True)) == 1


def test_unreachable_buffer_is_503_and_nothing_is_taken(project, ingest_key, post, flush, settings):
    dead = "redis://127.0.0.1:1/0"
    get_redis.cache_clear()
    try:
        caches = {"default": {**settings.CACHES["default"], "LOCATION": dead}}
        with override_settings(REDIS_URL=dead, CACHES=caches):
            response = post(ingest_key, {"event": "x"})
    finally:
        get_redis.cache_clear()
    assert response.status_code == 503
    assert "retry" in response.json()["error"]
    assert response["Retry-After"]
    assert flush().events == 0


def test_ledger_endpoint_needs_the_read_key_and_reports_totals(project, ingest_key, read_key, post, flush, client):
    from projects.tests.factories import ProjectFactory, read_key_for

    post(ingest_key, {"events": [{"event": "a"}, {"event": ""}]})
    flush()
    url = f"/api/v1/projects/{project.slug}/ingestion"
    assert client.get(url).status_code in (401, 403)
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {ingest_key}").status_code == 403
    other = read_key_for(ProjectFactory())
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {read_key}")
    assert response.status_code == 200
    body = response.json()
    assert body["totals"]["received"] == 2
    assert body["totals"]["accepted"] == 1
    assert body["totals"]["flushed"] == 1
    assert body["totals"]["rejected_by_reason"] == {"invalid_event": 1}
    assert body["buffered_entries"] == 0 and "complete_until" in body
    bad = client.get(
        url + "?since=2024-01-02T00:00:00Z&until=2024-01-01T00:00:00Z", HTTP_AUTHORIZATION=f"Bearer {read_key}"
    )
    assert bad.status_code == 400 and "since" in bad.json()


def test_flush_marks_the_touched_days_dirty_for_rollups(project, ingest_key, post, flush):
    post(ingest_key, {"event": "late", "timestamp": "2021-06-01T12:00:00Z"})
    flush()
    assert RollupDirtyDay.objects.filter(project_id=project.pk).values_list("utc_date", flat=True).count() == 1


def test_ledger_is_visible_read_only_in_the_admin(project, ingest_key, post, flush, client):
    from django.contrib.auth.models import User

    from ingestion.models import IngestionLedger

    post(ingest_key, {"event": "a"})
    flush()
    ledger_sync()
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    response = client.get("/admin/ingestion/ingestionledger/")
    assert response.status_code == 200
    assert project.name in response.content.decode()
    row = IngestionLedger.objects.get(project=project)
    assert client.get(f"/admin/ingestion/ingestionledger/{row.pk}/change/").status_code == 200
    assert client.get("/admin/ingestion/ingestionledger/add/").status_code == 403

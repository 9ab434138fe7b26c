"""The audit log: key lifecycle, throttled key use, aggregated refusals, read-only admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.redis import get_redis
from ingestion.ledger import ledger_audit_refusals
from ingestion.models import IngestionLedger
from projects.models import ApiKey, AuditAction, AuditEntry
from projects.services import KEYS_LAST_USED, api_key_create, api_key_revoke, api_key_usage_sync
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


def test_key_created_and_revoked_in_the_admin_are_audited_with_the_actor(admin_client):
    project = ProjectFactory()
    admin_client.post("/admin/projects/project/", {"action": "create_ingest_key", "_selected_action": [project.pk]})
    key = ApiKey.objects.get(project=project)
    admin_client.post("/admin/projects/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    admin_client.post("/admin/projects/apikey/", {"action": "revoke", "_selected_action": [key.pk]})  # no-op
    entries = list(AuditEntry.objects.filter(project=project).order_by("id").values_list("action", "actor", "api_key"))
    assert entries == [
        (AuditAction.API_KEY_CREATED, "admin:admin", key.pk),
        (AuditAction.API_KEY_REVOKED, "admin:admin", key.pk),
    ]


def _capture(client, raw_key: str):
    return client.post(
        "/api/v1/events", data={"event": "x"}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw_key}"
    )


def test_key_use_is_noted_in_redis_and_copied_by_the_job_without_a_write_per_request(client):
    project = ProjectFactory()
    issued = api_key_create(project=project, scope="ingest")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert _capture(client, issued.raw).status_code == 202
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert writes == []  # the request path never writes to PostgreSQL
    assert get_redis().hexists(KEYS_LAST_USED, str(issued.api_key.pk))

    assert api_key_usage_sync() == 1
    issued.api_key.refresh_from_db()
    now = dt.datetime.now(dt.UTC)
    assert now - dt.timedelta(minutes=2) < issued.api_key.last_used_at <= now
    used = AuditEntry.objects.filter(action=AuditAction.API_KEY_USED, api_key=issued.api_key)
    assert used.count() == 1
    # Same minute again: nothing moves, no second entry for the day.
    assert api_key_usage_sync() == 0
    assert used.count() == 1


def test_key_use_sync_only_moves_forward():
    project = ProjectFactory()
    key = api_key_create(project=project, scope="read").api_key
    later = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=later)
    get_redis().hset(KEYS_LAST_USED, str(key.pk), int(later.timestamp()) - 3600)
    assert api_key_usage_sync() == 0
    key.refresh_from_db()
    assert key.last_used_at == later


def test_read_key_use_on_the_reporting_api_is_noted(client):
    project = ProjectFactory()
    issued = api_key_create(project=project, scope="read")
    client.get(f"/api/v1/projects/{project.slug}/top-events", HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    assert get_redis().hexists(KEYS_LAST_USED, str(issued.api_key.pk))


def test_refusals_are_one_entry_per_project_and_minute_kept_current():
    project = ProjectFactory()
    minute = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    row = IngestionLedger.objects.create(project=project, minute=minute, rate_limited=5, quota_exceeded=2)
    quiet = ProjectFactory()
    IngestionLedger.objects.create(project=quiet, minute=minute, received=10, accepted=10)
    since = minute - dt.timedelta(minutes=10)
    assert ledger_audit_refusals(since=since) == 2
    assert ledger_audit_refusals(since=since) == 2  # idempotent
    row.rate_limited = 9  # more refusals in the same minute
    row.save()
    ledger_audit_refusals(since=since)
    entries = dict(AuditEntry.objects.filter(project=project).values_list("action", "count"))
    assert entries == {AuditAction.RATE_LIMITED: 9, AuditAction.QUOTA_EXCEEDED: 2}
    # Only this test's projects: another test may have left entries of its own committed.
    assert AuditEntry.objects.filter(project__in=[project, quiet]).count() == 2


def test_audit_admin_is_read_only(admin_client):
    project = ProjectFactory()
    api_key_create(project=project, scope="read", actor="command")
    entry = AuditEntry.objects.get(project=project)
    assert admin_client.get("/admin/projects/auditentry/").status_code == 200
    assert admin_client.get("/admin/projects/auditentry/add/").status_code == 403
    page = admin_client.get(f"/admin/projects/auditentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin_client.post(f"/admin/projects/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_revoke_service_records_the_actor():
    key = api_key_create(project=ProjectFactory(), scope="ingest").api_key
    api_key_revoke(api_key=key, actor="command")
    assert AuditEntry.objects.get(action=AuditAction.API_KEY_REVOKED).actor == "command"

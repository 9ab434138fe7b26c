"""The admin's system-health page and /metrics."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.redis import get_redis
from ingestion import buffer
from ingestion.models import Destination, DestinationBatch, DestinationLedger
from projects.tests.factories import ProjectFactory, read_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_user("ops", password="pw", is_staff=True))
    return client


def test_admin_index_links_the_health_page(staff_client):
    assert "/admin/system-health/" in staff_client.get("/admin/").content.decode()


def test_health_page_renders_every_section_for_staff(staff_client, project, buffered_entry, ledger_minute):
    buffered_entry(project.pk, age=600, events=3)
    get_redis().xadd(buffer.DLQ, {"p": project.pk, "d": "[]", "error": "boom"})
    ledger_minute(project, received=10, accepted=7, rejected=3, rate_limited=4, quota_exceeded=1)
    response = staff_client.get("/admin/system-health/")
    assert response.status_code == 200
    html = response.content.decode()
    for heading in ("Alerts", "Flush", "Stream shards", "RQ workers", "Rollups", "Ingest", "Partitions of"):
        assert heading in html
    assert 'data-alert="flush_lag"' in html and 'data-alert="flush_stalled"' in html
    assert re.search(r'id="dead-letters">\s*1<', html)
    assert "eb:events:0" in html and "eb:events:1" in html
    # The per-project refusals table: 4 rate-limited, 1 over quota, 3 rejected.
    table = html[html.index('id="violations"') :]
    assert re.search(rf"<td>{project.slug}</td><td>4</td><td>1</td><td>3</td>", table)
    assert "10 received" in html


def test_health_page_is_for_staff_only(client):
    response = client.get("/admin/system-health/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(User.objects.create_user("someone", password="pw"))
    response = client.get("/admin/system-health/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_expose_pipeline_numbers(client, project, buffered_entry, ledger_minute):
    other = ProjectFactory()
    ledger_minute(
        project,
        received=10,
        accepted=7,
        duplicate=1,
        rejected=2,
        flushed=6,
        rate_limited=3,
        rejected_by_reason={"invalid_timestamp": 2},
    )
    ledger_minute(other, received=5, accepted=5, flushed=5)
    buffered_entry(project.pk, age=120, events=2)
    get_redis().xadd(buffer.DLQ, {"p": project.pk, "d": "[]", "error": "boom"})
    hook = Destination.objects.create(project=project, name="hook", url="https://example.com/", secret="s")
    DestinationLedger.objects.create(destination=hook, minute=timezone.now().replace(second=0), forwarded=9)
    for status, count in (("delivered", 9), ("failed", 4), ("pending", 1), ("dead", 3)):
        DestinationBatch.objects.create(
            id=uuid.uuid4(), destination=hook, event_keys=[], event_count=count, status=status,
            next_attempt_at=timezone.now(), created_at=timezone.now(),
        )  # fmt: skip

    response = client.get("/metrics")
    assert response.status_code == 200
    samples = _samples(response.content.decode())
    p, o = (("project", project.slug),), (("project", other.slug),)
    assert samples[("eventbase_events_received_total", p)] == 10
    assert samples[("eventbase_events_accepted_total", p)] == 7
    assert samples[("eventbase_events_duplicate_total", p)] == 1
    assert samples[("eventbase_events_rejected_total", p)] == 2
    assert samples[("eventbase_events_flushed_total", p)] == 6
    assert samples[("eventbase_rate_limited_requests_total", p)] == 3
    assert samples[("eventbase_events_received_total", o)] == 5
    reason = (("project", project.slug), ("reason", "invalid_timestamp"))
    assert samples[("eventbase_events_rejected_by_reason_total", reason)] == 2
    assert samples[("eventbase_stream_entries", (("stream", "eb:events:0"),))] == 1
    assert samples[("eventbase_dead_letters", ())] == 1
    assert 120 <= samples[("eventbase_flush_lag_seconds", ())] < 180
    assert samples[("eventbase_alert_firing", (("alert", "flush_lag"),))] == 1
    assert samples[("eventbase_alert_firing", (("alert", "error_rate"),))] == 0
    assert samples[("eventbase_metrics_ok", ())] == 1
    d = (("destination", str(hook.pk)), ("project", project.slug))
    assert samples[("eventbase_events_forwarded_total", d)] == 9
    assert samples[("eventbase_destination_events_waiting", d)] == 5
    assert samples[("eventbase_destination_events_dead", d)] == 3
    # django-prometheus's own metrics are still there.
    assert any(name.startswith("django_http_requests") for name, _ in samples)


def test_metrics_time_each_reporting_endpoint(client, project):
    key = read_key_for(project)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    before = _samples(client.get("/metrics").content.decode())
    label = (("endpoint", "reporting-top-events"),)
    assert client.get(f"/api/v1/projects/{project.slug}/top-events", **headers).status_code == 200
    assert client.get(f"/api/v1/projects/{project.slug}/top-events", **headers).status_code == 200
    after = _samples(client.get("/metrics").content.decode())
    count = ("eventbase_report_query_seconds_count", label)
    assert after[count] - before.get(count, 0) == 2
    assert after[("eventbase_report_query_seconds_sum", label)] > 0


def test_metrics_merge_gunicorn_worker_processes(tmp_path, test_database_url):
    """With PROMETHEUS_MULTIPROC_DIR (set by gunicorn_conf), one scrape sees every process's requests."""
    import os
    import subprocess
    import sys

    from config.settings import BASE_DIR

    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DATABASE_URL": test_database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    observe = (
        "from reporting.metrics import REPORT_QUERY_SECONDS as h; h.labels(endpoint='reporting-trends').observe(0.2)"
    )
    scrape = (
        "import django; django.setup(); from prometheus_client import generate_latest; "
        "from monitoring.metrics import metrics_registry; print(generate_latest(metrics_registry()).decode())"
    )
    for _worker in range(2):  # two "gunicorn workers", each answering one request
        subprocess.run([sys.executable, "-c", observe], env=env, check=True, cwd=BASE_DIR, timeout=60)
    out = subprocess.run(
        [sys.executable, "-c", scrape], env=env, check=True, cwd=BASE_DIR, timeout=60, capture_output=True, text=True
    ).stdout
    samples = _samples(out)
    assert samples[("eventbase_report_query_seconds_count", (("endpoint", "reporting-trends"),))] == 2
    assert samples[("eventbase_metrics_ok", ())] == 1

"""Capture endpoints are served ahead of the middleware they have no use for; other pages are not."""

import pytest
from prometheus_client import REGISTRY

from ingestion.middleware import _capture_match

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/events", "/e/", "/batch", "/i/v1/analytics/events/", "/v1/batch"])
def test_capture_paths_are_recognised(path):
    assert _capture_match(path, None) is not None


@pytest.mark.parametrize("path", ["/health", "/admin/login/", "/api/v1/projects/x/ingestion", "/flags/", "/nope"])
def test_other_paths_go_through_the_whole_chain(path):
    assert _capture_match(path, None) is None


def test_a_capture_response_skips_the_page_middleware_but_keeps_security_headers(project, ingest_key, post, client):
    response = post(ingest_key, {"event": "x"})
    assert response.status_code == 202
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware runs first
    assert "X-Frame-Options" not in response  # XFrameOptionsMiddleware (a page concern) did not
    assert response.wsgi_request.resolver_match.url_name == "capture"
    page = client.get("/admin/login/")
    assert page.status_code == 200 and page["X-Frame-Options"] == "DENY"


def test_capture_requests_keep_their_per_view_metrics(project, ingest_key, post):
    def counts() -> tuple[float, float]:
        labels = {"view": "capture", "method": "POST"}
        responses = "django_http_responses_total_by_status_view_method_total"
        latency = "django_http_requests_latency_seconds_by_view_method_count"
        return (
            REGISTRY.get_sample_value(responses, {**labels, "status": "202"}) or 0,
            REGISTRY.get_sample_value(latency, labels) or 0,
        )

    before = counts()
    assert post(ingest_key, {"event": "x"}).status_code == 202
    assert post(ingest_key, {"event": "y"}).status_code == 202
    after = counts()
    assert (after[0] - before[0], after[1] - before[1]) == (2, 2)

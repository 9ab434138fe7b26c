"""The Content-Security-Policy header (config/csp.py): strict on our HTML pages and the admin,
inline styles only for the API docs, none on JSON; and our pages carry no inline script for it
to refuse (the browser proof is dashboard/tests/test_browser_csp.py)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client, RequestFactory

from config.csp import API_DOCS, HEADER, STRICT, ContentSecurityPolicyMiddleware
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

# A <script> that runs and is not a file: no src, and not a JSON data block.
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
_HANDLER_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "x-long-pass-1"))
    return client


def test_the_policy_refuses_inline_script_and_framing():
    assert "script-src 'self'" in STRICT and "unsafe-inline" not in STRICT and "unsafe-eval" not in STRICT
    assert "frame-ancestors 'none'" in STRICT and "default-src 'self'" in STRICT
    assert "script-src 'self';" in API_DOCS and "style-src 'self' 'unsafe-inline'" in API_DOCS


def test_our_pages_get_the_strict_policy_and_have_no_inline_script(staff: Client):
    ProjectFactory(slug="csp")
    pages = ["/dashboard/", "/dashboard/csp/", "/dashboard/csp/web/", "/dashboard/csp/cohorts/",
             "/dashboard/csp/persons/"]  # fmt: skip
    for path in pages:
        response = staff.get(path)
        assert response.status_code == 200, path
        assert response[HEADER] == STRICT, path
        html = response.content.decode()
        assert not _INLINE_SCRIPT.search(html), path
        assert not _HANDLER_ATTRIBUTE.search(html), path
    for path in ("/accounts/login/", "/accounts/invite/unknown/", "/accounts/password_reset/"):
        response = Client().get(path)
        assert response[HEADER] == STRICT, path
        assert not _INLINE_SCRIPT.search(response.content.decode()), path
    assert staff.get("/admin/")[HEADER] == STRICT


def test_the_api_docs_get_inline_styles_but_no_inline_script(staff: Client):
    docs = staff.get("/api/docs/")
    assert docs.status_code == 200 and docs[HEADER] == API_DOCS
    assert not _INLINE_SCRIPT.search(docs.content.decode())
    script = staff.get("/api/docs/?script=")
    assert script.status_code == 200 and HEADER not in script


def test_json_answers_carry_no_policy(staff: Client):
    ProjectFactory(slug="json")
    response = staff.get("/api/v1/projects/json/events")
    assert response["Content-Type"].startswith("application/json") and HEADER not in response
    assert HEADER not in Client().get("/health")


def test_a_page_that_sets_its_own_policy_keeps_it():
    own = "frame-ancestors https://embedder.example"

    def view(request):
        response = HttpResponse("<p>embed</p>")
        response[HEADER] = own
        return response

    assert ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/embed/"))[HEADER] == own

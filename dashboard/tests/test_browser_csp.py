"""The Content-Security-Policy in Chromium: our pages, the admin and the API docs load and run
under it with no violation in the console; and a violation does show there (the check can fail)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from dashboard.tests.browser_support import PASSWORD, open_page
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _settled(driver: Any) -> bool:
    return bool(
        driver.execute_script(
            "return document.readyState === 'complete' && !document.querySelector('[aria-busy=true]')"
        )
    )


def _errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _violations(driver: Any) -> list[str]:
    """Chromium reports a refused script, style or frame as an error naming the policy."""
    return [message for message in _errors(driver) if "Content Security Policy" in message]


def test_pages_run_under_the_policy_without_violations(browser, live_server):
    from selenium.webdriver.common.by import By

    driver = browser
    ProjectFactory(name="Strict", slug="strict")
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    wait = open_page(driver, live_server.url, "/dashboard/strict/")
    for path in (
        "/dashboard/strict/",
        "/dashboard/strict/web/",
        "/dashboard/strict/cohorts/",
        "/dashboard/strict/settings/",
    ):
        driver.get(live_server.url + path)
        wait.until(_settled, f"{path} did not settle")
        assert _errors(driver) == [], path  # no violation, and nothing else failed either
    # The admin asks for a /favicon.ico that is not there (a 404 in the console): only the policy counts.
    for path in ("/admin/", "/admin/projects/project/add/", "/accounts/invite/unknown/"):
        driver.get(live_server.url + path)
        wait.until(_settled, f"{path} did not settle")
        assert _violations(driver) == [], path
    # The dashboard's scripts did run: the project page's panels were drawn by them.
    driver.get(live_server.url + "/dashboard/strict/")
    wait.until(_settled)
    assert driver.execute_script("return typeof window.eventbaseDashboard") == "object"
    driver.get(live_server.url + "/api/docs/")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#swagger-ui .information-container"), "no Swagger UI")
    assert _violations(driver) == []

    # The check can fail: an inline event handler is refused, and the console says so.
    driver.get(live_server.url + "/dashboard/strict/")
    wait.until(_settled)
    driver.execute_script("document.body.insertAdjacentHTML('beforeend', '<img src=\"data:,\" onerror=\"1\">')")
    wait.until(lambda d: any("Content Security Policy" in m for m in _violations(d)), "no violation reported")

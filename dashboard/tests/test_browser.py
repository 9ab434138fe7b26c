"""The dashboard in a real headless browser: Debian's chromium driven by Selenium.

Nothing is downloaded: the browser and its driver are the system packages (.ci/run installs
them), Selenium Manager is switched off, and the page loads Chart.js from the app itself.
The test skips, saying why, where chromium is not installed or the reporting API is missing.
A screenshot is saved to var/screenshots/dashboard.png for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from config.browser_testing import WAIT_SECONDS, headless_chromium
from dashboard.tests.demo_data import FUNNEL, demo_events_delete, demo_events_insert
from projects.tests.factories import ProjectFactory, read_key_for

SCREENSHOT = settings.BASE_DIR / "var" / "screenshots" / "dashboard.png"

pytestmark = pytest.mark.django_db(transaction=True)


def _reporting_api_available() -> bool:
    for path in ("/api/v1/projects/demo/live", "/api/v1/projects/demo/live/"):
        try:
            match = resolve(path)
        except Resolver404:
            continue
        # The dashboard's own catch-all must not count as the API.
        if not match.func.__module__.startswith("dashboard"):
            return True
    return False


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    if not _reporting_api_available():
        pytest.skip("reporting API not available")
    with headless_chromium(tmp_path / "chromium-profile", monkeypatch, window="1440,1000", console_log=True) as driver:
        yield driver


@pytest.fixture
def demo_project() -> Iterator[object]:
    project = ProjectFactory(name="Demo shop", slug="demo-shop")
    demo_events_insert(project_id=project.pk)
    yield project
    demo_events_delete(project_id=project.pk)  # events is not flushed between tests


def _log_in(driver, base_url: str, next_path: str) -> None:
    from selenium.webdriver.common.by import By

    User.objects.create_superuser("admin", "admin@example.com", "a-long-test-password")
    driver.get(f"{base_url}/accounts/login/?next={next_path}")
    driver.find_element(By.NAME, "username").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys("a-long-test-password")
    driver.find_element(By.CSS_SELECTOR, "input[type=submit], button[type=submit]").click()


def _chart_points(driver, chart: str) -> int:
    """How many data points the Chart.js instance on that canvas holds (0 when none yet)."""
    return driver.execute_script(
        "const c = window.Chart && Chart.getChart(document.querySelector(arguments[0]));"
        "return c ? c.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0;",
        f"canvas[data-chart='{chart}']",
    )


def test_dashboard_renders_and_builds_a_funnel(browser, live_server, demo_project):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, WAIT_SECONDS)
    page = f"/dashboard/{demo_project.slug}/"
    _log_in(driver, live_server.url, page)
    # The sign-in page's own URL holds the page too (?next=…): wait until the browser has left it.
    wait.until(lambda d: page in d.current_url and "/accounts/login/" not in d.current_url)
    # The URL changes when the dashboard's navigation starts, before its scripts have run.
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    driver.get_log("browser")  # drop the admin login page's messages (its /favicon.ico 404)
    assert driver.execute_script("return typeof window.Chart") == "function", "Chart.js did not load"

    # Charts render with data from the reporting API.
    for chart in ("active-users", "trends", "live"):
        wait.until(lambda d, chart=chart: _chart_points(d, chart) > 0, f"{chart} chart has no data")
    rows = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#top-events-panel tbody th"))
    assert "pageview" in [row.text for row in rows]
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#retention-panel .heatmap__cell"))
    complete = "#active-users-panel [data-role=complete-until]"
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, complete).text.startswith("Complete until"))
    active_now = driver.find_element(By.CSS_SELECTOR, "[data-role=active-now]").text
    assert active_now.isdigit() and int(active_now) > 0

    _engagement_panels_show_the_api_numbers(driver, wait, demo_project)

    # Build a three-step funnel by clicking: add a step, fill the steps, run.
    funnel = driver.find_element(By.ID, "funnel-panel")
    funnel.find_element(By.CSS_SELECTOR, "[data-action=add-step]").click()
    steps = funnel.find_elements(By.CSS_SELECTOR, "[data-role=steps] input[name=steps]")
    assert len(steps) == 3
    for field, name in zip(steps, FUNNEL, strict=False):
        field.send_keys(name)
    funnel.find_element(By.CSS_SELECTOR, "[data-action=run-funnel]").click()
    wait.until(lambda d: _chart_points(d, "funnel") == 3, "funnel chart has no bars")
    bars = driver.execute_script(
        "return Chart.getChart(document.querySelector(\"canvas[data-chart='funnel']\")).data.datasets[0].data"
    )
    assert bars[0] > 0 and bars[0] >= bars[1] >= bars[2]
    table = funnel.find_elements(By.CSS_SELECTOR, "[data-role=rows] tr")
    assert [row.find_element(By.TAG_NAME, "th").text for row in table] == [
        f"{i}. {name}" for i, name in enumerate(FUNNEL[:3], start=1)
    ]

    # User lookup: pick a recently seen user and see a timeline.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#user-panel [data-role=recent] button"))
    driver.find_element(By.CSS_SELECTOR, "#user-panel [data-role=recent] button").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#user-panel .timeline__item"))

    # Failed requests and uncaught script errors land in the console as SEVERE.
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []

    _save_screenshot(driver)


def _engagement_panels_show_the_api_numbers(driver, wait, project) -> None:
    """Stickiness and lifecycle pick the most frequent event by themselves; their tables show what
    the API answers for the page's range (asked here with the read key, not through the page)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key_for(project)}")
    for panel, chart, columns in (
        ("stickiness", "stickiness", ("persons",)),
        ("lifecycle", "lifecycle", ("new", "returning", "resurrecting", "dormant")),
    ):
        wait.until(lambda d, chart=chart: _chart_points(d, chart) > 0, f"{chart} chart has no data")
        shown = driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(r => [...r.children].map(c => c.textContent))",
            f"#{panel}-panel [data-role=rows] tr",
        )
        params = driver.execute_script(
            "const {ctx} = window.eventbaseDashboard; const root = document.getElementById(arguments[0]);"
            "return {...ctx.range.value, event: root.querySelector('[name=event]').value,"
            " interval: root.querySelector('[name=interval]').value};",
            f"{panel}-panel",
        )
        response = client.get(f"/api/v1/projects/{project.slug}/{panel}", params)
        assert response.status_code == 200, response.content
        rows = response.json()["results"]
        first = "intervals" if panel == "stickiness" else "date"
        expected = [[str(row[first]), *(f"{row[c]:,}".replace("-", "\u2212") for c in columns)] for row in rows]
        assert [[row[0], *(cell.replace("-", "\u2212") for cell in row[1:])] for row in shown] == expected
        assert any(int(cell.replace(",", "").replace("\u2212", "-")) for row in shown for cell in row[1:])


def _save_screenshot(driver) -> None:
    """The whole page, for a person to look at (var/ is not committed)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1440, min(int(height) + 40, 6000))
    driver.execute_script("window.scrollTo(0, 0)")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SCREENSHOT))
    if os.environ.get("EVENTBASE_UPDATE_DOCS_SCREENSHOT"):
        target = settings.BASE_DIR / "docs" / "screenshots" / "dashboard.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCREENSHOT, target)

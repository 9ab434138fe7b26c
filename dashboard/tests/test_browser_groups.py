"""The trends builder's "Count by" in headless Chromium: persons, or a group type of the project.

The demo's users belong to companies (group_0, as the flush would store them); choosing
"company" must show the reporting API's answer with ``aggregation_group_type=company``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from config.browser_testing import WAIT_SECONDS
from dashboard.tests.browser_support import lines_expected, no_console_errors, open_page, table_matches
from dashboard.tests.test_browser import _chart_points

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def companies(demo_project: Any) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO persons_group_type (project_id, group_type, index) VALUES (%s, 'company', 0)",
            [demo_project.pk],
        )
        # Five companies, each user in one; a few users in none.
        cur.execute(
            "UPDATE events SET group_0 = 'co-' || (abs(hashtext(user_id)) %% 6) WHERE project_id = %s",
            [demo_project.pk],
        )
        cur.execute("UPDATE events SET group_0 = NULL WHERE project_id = %s AND group_0 = 'co-5'", [demo_project.pk])


def test_count_by_a_group_type(browser: Any, live_server: Any, demo_project: Any, api: Any, companies: None) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, WAIT_SECONDS)
    open_page(driver, live_server.url, f"/dashboard/{demo_project.slug}/")
    trends = driver.find_element(By.ID, "trends-panel")
    wait.until(lambda d: _chart_points(d, "trends") > 0)
    count_by = trends.find_element(By.NAME, "aggregation_group_type")
    wait.until(lambda d: count_by.is_displayed(), "the Count by field stays hidden")
    row = trends.find_element(By.CSS_SELECTOR, "[data-role=series-row]")
    row.find_element(By.NAME, "series_event").clear()
    row.find_element(By.NAME, "series_event").send_keys("pageview")
    Select(row.find_element(By.NAME, "series_math")).select_by_value("users")
    Select(count_by).select_by_value("company")
    trends.find_element(By.CSS_SELECTOR, "[data-view=table]").click()
    trends.find_element(By.CSS_SELECTOR, "[data-action=run-trends]").click()

    dates = driver.execute_script(
        "return [document.getElementById('range-from').value, document.getElementById('range-to').value]"
    )
    body = {
        "series": [{"name": "A", "event": "pageview", "math": "users", "filters": []}],
        "from": dates[0],
        "to": dates[1],
        "interval": "day",
        "aggregation_group_type": "company",
    }
    expected = lines_expected(api.post("trends", body))
    persons = lines_expected(api.post("trends", {k: v for k, v in body.items() if k != "aggregation_group_type"}))
    assert max(max(values) for values in expected.values()) <= 5 < max(max(values) for values in persons.values())
    table_matches(driver, wait, expected)
    no_console_errors(driver)

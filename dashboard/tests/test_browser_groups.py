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
from dashboard.tests.test_browser_paths import _drawn

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


# The page's requests for groups/types, from the browser's own record (Resource Timing).
GROUP_TYPE_REQUESTS = (
    "return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)"
    ".filter(p => p.endsWith('/groups/types'));"
)


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


def _engagement_rows_expected(api: Any, driver: Any, panel: str, **extra: Any) -> list[list[str]]:
    """The panel's table as the API answers it for the panel's own event, interval and the page's
    range (formatted as format.js does: thousands commas; minus signs as hyphens, as shown is read)."""
    params = driver.execute_script(
        "const {ctx} = window.eventbaseDashboard; const root = document.getElementById(arguments[0]);"
        "return {...ctx.range.value, event: root.querySelector('[name=event]').value,"
        " interval: root.querySelector('[name=interval]').value};",
        f"{panel}-panel",
    )
    rows = api.get(panel, **params, **extra)["results"]
    first, columns = ("intervals", ("persons",)) if panel == "stickiness" else ("date", LIFECYCLE_COLUMNS)
    return [[str(row[first]), *(f"{row[c]:,}" for c in columns)] for row in rows]


LIFECYCLE_COLUMNS = ("new", "returning", "resurrecting", "dormant")


def _engagement_rows_shown(driver: Any, panel: str) -> list[list[str]]:
    # Intl may write a negative with U+2212 or a hyphen depending on the locale data.
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map(r => [...r.children].map(c => c.textContent.replace('\u2212', '-')))",
        f"#{panel}-panel [data-role=rows] tr",
    )


def test_engagement_panels_count_by_a_group_type(
    browser: Any, live_server: Any, demo_project: Any, api: Any, companies: None
) -> None:
    """Stickiness, lifecycle and paths, each switched to companies, show the API's answer for
    companies, which is not the persons' one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, WAIT_SECONDS)
    open_page(driver, live_server.url, f"/dashboard/{demo_project.slug}/")
    # The four "Count by" selects (trends, stickiness, lifecycle, paths) share one GET groups/types.
    for panel in ("trends", "stickiness", "lifecycle", "paths"):
        select = driver.find_element(By.CSS_SELECTOR, f"#{panel}-panel [name=aggregation_group_type]")
        wait.until(lambda d, select=select: select.is_displayed(), f"{panel}: Count by stays hidden")
    assert driver.execute_script(GROUP_TYPE_REQUESTS) == [f"/api/v1/projects/{demo_project.slug}/groups/types"]
    for panel in ("stickiness", "lifecycle"):
        wait.until(lambda d, panel=panel: _chart_points(d, panel) > 0, f"{panel} chart has no data")
        count_by = driver.find_element(By.ID, f"{panel}-count-by")
        wait.until(lambda d, count_by=count_by: count_by.is_displayed(), f"{panel}: Count by stays hidden")
        persons = _engagement_rows_expected(api, driver, panel)
        wait.until(lambda d, panel=panel, persons=persons: _engagement_rows_shown(d, panel) == persons)
        Select(count_by).select_by_value("company")
        expected = _engagement_rows_expected(api, driver, panel, aggregation_group_type="company")
        assert expected != persons
        wait.until(
            lambda d, panel=panel, expected=expected: _engagement_rows_shown(d, panel) == expected,
            f"{panel} does not show the companies' numbers",
        )
        assert any(int(cell.replace(",", "")) for row in expected for cell in row[1:])
    # Counted by company, the stickiness panel says so: the bars' label, the y axis, the table's column.
    label = driver.execute_script(
        "const c = Chart.getChart(document.querySelector('canvas[data-chart=stickiness]'));"
        "return [c.data.datasets[0].label, c.options.scales.y.title.text,"
        " document.querySelector('#stickiness-panel thead th.num').textContent];"
    )
    assert label == ["company", "company", "company"]
    stickiness = _engagement_rows_shown(driver, "stickiness")
    assert sum(int(row[1].replace(",", "")) for row in stickiness) <= 5  # five companies at most

    paths = driver.find_element(By.ID, "paths-panel")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#paths-panel .sankey__node"), "no Sankey nodes drawn")
    persons_body = driver.execute_script("return window.eventbaseDashboard.panels.paths.body")
    Select(paths.find_element(By.NAME, "aggregation_group_type")).select_by_value("company")
    wait.until(
        lambda d: (
            d.execute_script("return window.eventbaseDashboard.panels.paths.body.aggregation_group_type") == "company"
            and d.execute_script("return window.eventbaseDashboard.panels.paths.shown") is not None
            and d.execute_script("return document.getElementById('paths-panel').getAttribute('aria-busy')") == "false"
        )
    )
    body = driver.execute_script("return window.eventbaseDashboard.panels.paths.body")
    assert body == {**persons_body, "aggregation_group_type": "company"}
    answer = api.post("paths", body)
    assert answer["nodes"] != api.post("paths", persons_body)["nodes"]
    nodes, links = _drawn(driver)
    assert sorted(map(tuple, nodes)) == sorted((n["step"], n["name"], n["users"]) for n in answer["nodes"])
    assert sorted(map(tuple, links)) == sorted(
        (e["source_step"], e["source"], e["target"], e["users"]) for e in answer["edges"]
    )
    assert 0 < sum(users for step, _, users in nodes if step == 1) <= 5  # a path per company
    no_console_errors(driver)

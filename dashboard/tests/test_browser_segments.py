"""Segmenting by clicking, in headless Chromium: the filter bar, the trends and funnel builders,
cohorts (browser_cohorts.py) and the persons page under the filter bar.

Each step is done the way a person would do it (pick, type, click), and the numbers the page shows
are checked against the reporting API's answer to the same question, asked here with the test
client (the fixtures are in conftest.py). Screenshots go to var/screenshots/; with
EVENTBASE_UPDATE_DOCS_SCREENSHOT=1 they are copied to docs/screenshots/, where the README shows them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import pytest

from dashboard.tests.browser_cohorts import (
    create_a_cohort_and_open_a_member,
    delete_the_cohorts,
    edit_cohorts,
    funnel_by_cohort,
    persons_under_the_filter_bar,
    upload_a_static_cohort,
)
from dashboard.tests.browser_support import (
    drain_refused,
    error_texts,
    fill_filter_rows,
    funnel_breakdown_expected,
    funnel_breakdown_shown,
    lines_expected,
    no_console_errors,
    open_page,
    screenshot,
    table_matches,
    text_of,
    top_events_shown,
)
from dashboard.tests.test_browser import _chart_points

pytestmark = pytest.mark.django_db(transaction=True)


def _build_a_two_series_trend(driver: Any, wait: Any, api: Any, filters: list[dict[str, Any]]) -> None:
    """Series A: users who viewed a page; B: signups; broken down by plan, under the bar's filter."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    trends = driver.find_element(By.ID, "trends-panel")
    wait.until(lambda d: _chart_points(d, "trends") > 0)
    first = trends.find_element(By.CSS_SELECTOR, "[data-role=series-row]")
    first.find_element(By.NAME, "series_event").clear()
    first.find_element(By.NAME, "series_event").send_keys("pageview")
    Select(first.find_element(By.NAME, "series_math")).select_by_value("users")
    trends.find_element(By.CSS_SELECTOR, "[data-action=add-series]").click()
    second = trends.find_elements(By.CSS_SELECTOR, "[data-role=series-row]")[1]
    second.find_element(By.NAME, "series_event").send_keys("signup")
    # B's own filters, AND-ed: not on the team plan, and a second the API refuses (a bad regex).
    fill_filter_rows(second, "series_filter", [("plan", "is_not", "team"), ("plan", "regex", "(")])
    Select(trends.find_element(By.NAME, "breakdown_type")).select_by_value("event")
    trends.find_element(By.NAME, "breakdown_key").send_keys("plan")
    trends.find_element(By.NAME, "formula").send_keys("B / A * 100")
    trends.find_element(By.CSS_SELECTOR, "[data-action=run-trends]").click()

    dates = driver.execute_script(
        "return [document.getElementById('range-from').value, document.getElementById('range-to').value]"
    )
    not_team = {"type": "event", "key": "plan", "operator": "is_not", "value": "team"}
    body = {
        "series": [
            {"name": "A", "event": "pageview", "math": "users", "filters": []},
            {
                "name": "B",
                "event": "signup",
                "math": "total",
                "filters": [not_team, {**not_team, "operator": "regex", "value": "("}],
            },
        ],
        "from": dates[0],
        "to": dates[1],
        "interval": "day",
        "filters": filters,
        "breakdown": {"type": "event", "key": "plan"},
        "formula": "B / A * 100",
    }
    # The refusal names the second filter of series B, and is shown next to the series, in its words.
    refusal = error_texts(api.refused("trends", body))
    assert any("filters[1]" in text and "regular expression" in text for text in refusal)
    slot = "#trends-panel [data-error-for=series]"
    wait.until(lambda d: all(text in (text_of(d, slot) or "") for text in refusal), "the refusal is not shown")
    drain_refused(driver, "trends")
    value = second.find_elements(By.CSS_SELECTOR, "[data-role=filter-row]")[1].find_element(
        By.NAME, "series_filter_value"
    )
    value.clear()
    value.send_keys("^p")
    trends.find_element(By.CSS_SELECTOR, "[data-action=run-trends]").click()
    trends.find_element(By.CSS_SELECTOR, "[data-view=table]").click()
    body["series"][1]["filters"][1]["value"] = "^p"
    expected = lines_expected(api.post("trends", body))
    assert {label.split(" · ")[1] for label in expected if " · " in label} >= {"pro", "team"}
    signups = {k.split(" · ")[1]: sum(v) for k, v in expected.items() if k.startswith("B. ") and " · " in k}
    assert signups["pro"] > 0 and not signups.get("team")
    table_matches(driver, wait, expected)
    assert text_of(driver, slot) == ""
    screenshot(driver, "trends-builder.png", "#trends-panel")

    # The previous period (of the last 7 days: the demo's events span 4 weeks) beside the current.
    driver.find_element(By.CSS_SELECTOR, "#date-range [data-days='7']").click()
    trends.find_element(By.NAME, "compare").click()
    dates = driver.execute_script(
        "return [document.getElementById('range-from').value, document.getElementById('range-to').value]"
    )
    expected = lines_expected(api.post("trends", {**body, "from": dates[0], "to": dates[1], "compare": True}))
    assert any(label.endswith("(previous period)") for label in expected)
    table_matches(driver, wait, expected)
    for view in ("line", "bar"):
        trends.find_element(By.CSS_SELECTOR, f"[data-view={view}]").click()
        assert _chart_points(driver, "trends") == sum(len(v) for v in expected.values())
        assert (
            driver.execute_script(
                "return Chart.getChart(document.querySelector(\"canvas[data-chart='trends']\")).config.type"
            )
            == view
        )

    # A built-in column as the breakdown: the events' source.
    Select(trends.find_element(By.NAME, "breakdown_type")).select_by_value("column")
    Select(trends.find_element(By.NAME, "breakdown_column")).select_by_value("source")
    trends.find_element(By.CSS_SELECTOR, "[data-action=run-trends]").click()
    by_source = {
        **body,
        "from": dates[0],
        "to": dates[1],
        "compare": True,
        "breakdown": {"type": "column", "key": "source"},
    }
    expected = lines_expected(api.post("trends", by_source))
    assert any(label.endswith(" · web") for label in expected)
    table_matches(driver, wait, expected)


def _retention_from_signup_to_purchase(driver: Any, wait: Any, api: Any, filters: list[dict[str, Any]]) -> None:
    from selenium.webdriver.common.by import By

    panel = driver.find_element(By.ID, "retention-panel")
    panel.find_element(By.NAME, "start_event").send_keys("signup")
    panel.find_element(By.NAME, "return_event").send_keys("purchase")
    panel.find_element(By.CSS_SELECTOR, "[data-action=run-retention]").click()
    dates = driver.execute_script(
        "return [document.getElementById('range-from').value, document.getElementById('range-to').value]"
    )
    answer = api.get(
        "retention/cohorts",
        **{"from": dates[0], "to": dates[1]},
        period="week",
        filters=json.dumps(filters),
        start_event="signup",
        return_event="purchase",
    )
    expected = [[row["start_date"], str(row["cohort_size"])] for row in answer["results"]]
    plain = api.get(
        "retention/cohorts", **{"from": dates[0], "to": dates[1]}, period="week", filters=json.dumps(filters)
    )
    assert expected and expected != [[row["start_date"], str(row["cohort_size"])] for row in plain["results"]]
    script = (
        "return [...document.querySelectorAll('#retention-panel [data-role=rows] tr')]"
        ".map(r => [r.querySelector('th')?.textContent, r.querySelector('td')?.textContent])"
    )
    wait.until(lambda d: d.execute_script(script) == expected, "retention cohorts differ from the API's")


def _funnel_by_plan(driver: Any, wait: Any, api: Any, filters: list[dict[str, Any]]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    panel = driver.find_element(By.ID, "funnel-panel")
    steps = panel.find_elements(By.CSS_SELECTOR, "[data-role=steps] input[name=steps]")
    for field, name in zip(steps, ("pageview", "signup"), strict=True):
        field.send_keys(name)
    # Step 2 only counts signups on a plan other than team whose name starts with p (two filters of its own).
    second = panel.find_elements(By.CSS_SELECTOR, "[data-role=steps] > li")[1]
    fill_filter_rows(second, "step_filter", [("plan", "is_not", "team"), ("plan", "regex", "^p")])
    Select(panel.find_element(By.NAME, "breakdown_type")).select_by_value("event")
    panel.find_element(By.NAME, "breakdown_key").send_keys("plan")
    panel.find_element(By.CSS_SELECTOR, "[data-action=run-funnel]").click()
    dates = driver.execute_script(
        "return [document.getElementById('range-from').value, document.getElementById('range-to').value]"
    )
    body = {
        "steps": [
            "pageview",
            {
                "event": "signup",
                "filters": [
                    {"type": "event", "key": "plan", "operator": "is_not", "value": "team"},
                    {"type": "event", "key": "plan", "operator": "regex", "value": "^p"},
                ],
            },
        ],
        "from": dates[0],
        "to": dates[1],
        "window_hours": 24,
        "filters": filters,
        "breakdown": {"type": "event", "key": "plan"},
    }
    answer = api.post("funnels", body)
    expected = funnel_breakdown_expected(answer)
    by_value = {row[0]: row for row in expected}
    assert by_value["team"][2] == "0" and int(by_value["pro"][2]) > 0  # the step's own filter applied
    wait.until(lambda d: funnel_breakdown_shown(d) == expected, "funnel breakdown differs from the API's")
    bins = driver.find_elements(By.CSS_SELECTOR, "#funnel-panel [data-role=time-to-convert] .bin")
    assert len(bins) == len(answer["time_to_convert"])

    # A built-in column of step 1 as the breakdown: the events' source.
    Select(panel.find_element(By.NAME, "breakdown_type")).select_by_value("column")
    Select(panel.find_element(By.NAME, "breakdown_column")).select_by_value("source")
    panel.find_element(By.CSS_SELECTOR, "[data-action=run-funnel]").click()
    expected = funnel_breakdown_expected(
        api.post("funnels", {**body, "breakdown": {"type": "column", "key": "source"}})
    )
    assert [row[0] for row in expected] == ["web"]
    wait.until(lambda d: funnel_breakdown_shown(d) == expected, "funnel by column differs from the API's")


def test_segmenting_by_clicking(browser, live_server, demo_project, api, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    page = f"/dashboard/{demo_project.slug}/"
    wait = open_page(driver, live_server.url, page)
    wait.until(lambda d: top_events_shown(d))
    unfiltered = api.get("top-events", limit=10)

    # The key's suggestions come from the taxonomy, the value's from its top values.
    bar = driver.find_element(By.ID, "filter-bar")
    wait.until(
        lambda d: (
            "plan"
            in d.execute_script(
                "return [...document.querySelector('#filter-bar [name=filter_key]').list.options].map(o => o.value)"
            )
        )
    )
    bar.find_element(By.NAME, "filter_key").send_keys("plan")
    Select(bar.find_element(By.NAME, "filter_operator")).select_by_value("is_not")
    bar.find_element(By.NAME, "filter_value").click()
    wait.until(
        lambda d: (
            "free"
            in d.execute_script(
                "return [...document.querySelector('#filter-bar [name=filter_value]').list.options].map(o => o.value)"
            )
        )
    )
    bar.find_element(By.NAME, "filter_value").send_keys("free")
    bar.find_element(By.CSS_SELECTOR, "[data-action=add-filter]").click()

    chips = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#filter-bar [data-role=filter-chip]"))
    assert chips[0].text.startswith("plan ≠ free")
    filters = [{"type": "event", "key": "plan", "operator": "is_not", "value": "free"}]
    assert json.loads(parse_qs(urlparse(driver.current_url).query)["filters"][0]) == filters

    expected = {
        row["event"]: row["count"] for row in api.get("top-events", limit=10, filters=json.dumps(filters))["results"]
    }
    assert expected != {row["event"]: row["count"] for row in unfiltered["results"]}
    wait.until(lambda d: top_events_shown(d) == expected, "top events do not show the filtered counts")
    screenshot(driver, "filter-bar.png", "#filter-bar")

    _build_a_two_series_trend(driver, wait, api, filters)
    _retention_from_signup_to_purchase(driver, wait, api, filters)
    _funnel_by_plan(driver, wait, api, filters)
    no_console_errors(driver)
    shared = driver.current_url

    # Reloading the shared URL keeps the filter; removing the chip drops it everywhere.
    driver.get(shared)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#filter-bar [data-role=filter-chip]"))
    wait.until(lambda d: top_events_shown(d) == expected, "the reloaded page lost the filter")
    driver.find_element(By.CSS_SELECTOR, "#filter-bar [data-action=remove-filter]").click()
    wait.until(lambda d: "filters" not in urlparse(d.current_url).query)
    plain = {row["event"]: row["count"] for row in unfiltered["results"]}
    wait.until(lambda d: top_events_shown(d) == plain)

    # A filter the API refuses is explained next to the bar, in its words.
    bad = json.dumps([{"type": "cohort", "value": 999999}])
    driver.get(f"{live_server.url}{page}?filters={bad}")
    slot = "#filter-bar [data-error-for=filters]"
    wait.until(lambda d: "unknown cohort" in d.find_element(By.CSS_SELECTOR, slot).text)
    # Every panel's request is refused and logged as a failed load; once none is in flight, drain them.
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[aria-busy=true]"), "a panel is still loading")
    driver.get_log("browser")

    driver.get(f"{live_server.url}{page}")
    buyers = create_a_cohort_and_open_a_member(driver, wait, api)
    persons_under_the_filter_bar(driver, wait, api, f"{live_server.url}{page}")
    no_console_errors(driver)
    driver.get(f"{live_server.url}{page}cohorts/")
    beta = upload_a_static_cohort(driver, wait, api, tmp_path)
    drain_refused(driver, "cohorts")  # the refused upload; the page said why
    edit_cohorts(driver, wait, api, buyers, beta)
    # A cohort's chip names it: the bar asks for the cohorts once a chip needs them.
    by_cohort = json.dumps([{"type": "cohort", "value": buyers["id"]}])
    driver.get(f"{live_server.url}{page}?filters={quote(by_cohort)}")
    chip = "#filter-bar [data-role=filter-chip]"
    wait.until(
        lambda d: (text_of(d, chip) or "").startswith("in cohort Activated"), "the chip does not name the cohort"
    )
    funnel_by_cohort(driver, wait, api, f"{live_server.url}{page}")
    delete_the_cohorts(driver, wait, api, f"{live_server.url}{page}")
    no_console_errors(driver)

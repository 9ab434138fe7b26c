"""Segmenting by clicking, in headless Chromium: the filter bar, the trends builder, cohorts.

Each step is done the way a person would do it (pick, type, click), and the numbers the page shows
are checked against the reporting API's answer to the same question, asked here with the test
client. Screenshots go to var/screenshots/; with EVENTBASE_UPDATE_DOCS_SCREENSHOT=1 they are copied
to docs/screenshots/, where the README shows them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from analytics.cohorts import cohorts_compute_due
from config.browser_testing import WAIT_SECONDS, headless_chromium
from dashboard.tests.demo_data import demo_events_delete, demo_events_insert
from dashboard.tests.test_browser import _chart_points, _reporting_api_available
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not _reporting_api_available():
        pytest.skip("reporting API not available")
    with headless_chromium(tmp_path / "chromium-profile", monkeypatch, window="1440,1000", console_log=True) as driver:
        yield driver


@pytest.fixture
def demo_project() -> Iterator[Any]:
    project = ProjectFactory(name="Demo shop", slug="demo-shop")
    demo_events_insert(project_id=project.pk)
    yield project
    demo_events_delete(project_id=project.pk)


@pytest.fixture
def api(demo_project: Any) -> Any:
    """The reporting API as the dashboard's user sees it, for the expected numbers."""
    user = User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    base = f"/api/v1/projects/{demo_project.slug}/"

    class Api:
        def get(self, path: str, **params: Any) -> Any:
            response = client.get(base + path, params)
            assert response.status_code == 200, response.content
            return response.json()

        def post(self, path: str, body: dict[str, Any]) -> Any:
            response = client.post(base + path, json.dumps(body), content_type="application/json")
            assert response.status_code in (200, 201), response.content
            return response.json()

    return Api()


def _open(driver: Any, base_url: str, path: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_SECONDS)
    driver.get(f"{base_url}/admin/login/?next={path}")
    driver.find_element(By.NAME, "username").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit], button[type=submit]").click()
    wait.until(ec.url_contains(path))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    driver.get_log("browser")  # drop the login page's messages
    return wait


def _top_events_shown(driver: Any) -> dict[str, int]:
    """Event → count as the top-events table shows them (read in one script: rows are replaced)."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#top-events-panel [data-role=rows] tr')]"
        ".filter(r => r.querySelector('th') && r.querySelectorAll('td').length === 2)"
        ".map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])"
    )
    return {name: int(count.replace(",", "")) for name, count in rows}


def _screenshot(driver: Any, name: str, selector: str) -> None:
    from selenium.webdriver.common.by import By

    target = settings.BASE_DIR / "var" / "screenshots" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    node = driver.find_element(By.CSS_SELECTOR, selector)
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", node)
    assert node.screenshot(str(target))
    if os.environ.get("EVENTBASE_UPDATE_DOCS_SCREENSHOT"):
        docs = settings.BASE_DIR / "docs" / "screenshots" / name
        docs.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, docs)


def _text(driver: Any, selector: str) -> str | None:
    """An element's text read in one script, so a list re-rendered meanwhile cannot go stale."""
    return driver.execute_script("return document.querySelector(arguments[0])?.textContent ?? null", selector)


def _no_console_errors(driver: Any) -> None:
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def _lines_expected(answer: dict[str, Any]) -> dict[str, list[float]]:
    """The table's columns as the page labels them, from a POST trends answer."""
    lines = {}
    current = [(entry, "") for entry in [*answer["series"], *(answer["formula"] or [])]]
    previous = [(entry, " (previous period)") for entry in answer["compare"] or []]
    for entry, period in current + previous:
        name = f"Formula: {entry['label']}" if entry["series"] == "formula" else f"{entry['series']}. {entry['label']}"
        split = "" if entry["breakdown_value"] is None else f" · {entry['breakdown_value']}"
        lines[name + split + period] = [point["value"] for point in entry["data"]]
    return lines


def _lines_shown(driver: Any) -> dict[str, list[float]]:
    columns = driver.execute_script(
        "const t = document.querySelector('#trends-panel [data-role=table]');"
        "const heads = [...t.querySelectorAll('thead th')].slice(1).map(h => h.textContent);"
        "const rows = [...t.querySelectorAll('tbody tr')]"
        ".map(r => [...r.querySelectorAll('td')].map(c => c.textContent));"
        "return heads.map((h, i) => [h, rows.map(r => r[i])]);"
    )
    return {label: [float(v.replace(",", "")) for v in values] for label, values in columns}


def _table_matches(driver: Any, wait: Any, expected: dict[str, list[float]]) -> None:
    wait.until(lambda d: _lines_shown(d).keys() == expected.keys(), "the trend's table has other lines than the API")
    shown = _lines_shown(driver)
    for label, values in expected.items():
        assert shown[label] == pytest.approx([round(v, 2) for v in values], abs=0.01), label


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
    Select(trends.find_element(By.NAME, "breakdown_type")).select_by_value("event")
    trends.find_element(By.NAME, "breakdown_key").send_keys("plan")
    trends.find_element(By.NAME, "formula").send_keys("B / A * 100")
    trends.find_element(By.CSS_SELECTOR, "[data-action=run-trends]").click()
    trends.find_element(By.CSS_SELECTOR, "[data-view=table]").click()

    dates = driver.execute_script(
        "return [document.getElementById('range-from').value, document.getElementById('range-to').value]"
    )
    body = {
        "series": [
            {"name": "A", "event": "pageview", "math": "users", "filters": []},
            {"name": "B", "event": "signup", "math": "total", "filters": []},
        ],
        "from": dates[0],
        "to": dates[1],
        "interval": "day",
        "filters": filters,
        "breakdown": {"type": "event", "key": "plan"},
        "formula": "B / A * 100",
    }
    expected = _lines_expected(api.post("trends", body))
    assert {label.split(" · ")[1] for label in expected if " · " in label} >= {"pro", "team"}
    assert sum(sum(v) for k, v in expected.items() if k.startswith("B. ")) > 0
    _table_matches(driver, wait, expected)
    _screenshot(driver, "trends-builder.png", "#trends-panel")

    # The previous period (of the last 7 days: the demo's events span 4 weeks) beside the current.
    driver.find_element(By.CSS_SELECTOR, "#date-range [data-days='7']").click()
    trends.find_element(By.NAME, "compare").click()
    dates = driver.execute_script(
        "return [document.getElementById('range-from').value, document.getElementById('range-to').value]"
    )
    expected = _lines_expected(api.post("trends", {**body, "from": dates[0], "to": dates[1], "compare": True}))
    assert any(label.endswith("(previous period)") for label in expected)
    _table_matches(driver, wait, expected)
    for view in ("line", "bar"):
        trends.find_element(By.CSS_SELECTOR, f"[data-view={view}]").click()
        assert _chart_points(driver, "trends") == sum(len(v) for v in expected.values())
        assert (
            driver.execute_script(
                "return Chart.getChart(document.querySelector(\"canvas[data-chart='trends']\")).config.type"
            )
            == view
        )


def _create_a_cohort_and_open_a_member(driver: Any, wait: Any, api: Any) -> None:
    """From the project page's link: a behavioural cohort, computed by the job, its size and members."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.find_element(By.LINK_TEXT, "Cohorts").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cohort-list-panel [data-role=rows] td"))
    form = driver.find_element(By.CSS_SELECTOR, "#cohort-create-panel form")
    form.find_element(By.NAME, "name").send_keys("Buyers")
    row = form.find_element(By.CSS_SELECTOR, "[data-role=behaviour-row]")
    row.find_element(By.NAME, "behaviour_event").send_keys("purchase")
    Select(row.find_element(By.NAME, "behaviour_operator")).select_by_value("gte")
    row.find_element(By.NAME, "behaviour_count").clear()
    row.find_element(By.NAME, "behaviour_count").send_keys("1")
    form.find_element(By.CSS_SELECTOR, "[data-action=create-cohort]").click()
    wait.until(lambda d: "Created" in d.find_element(By.CSS_SELECTOR, "#cohort-create-panel [data-role=created]").text)

    (cohort,) = api.get("cohorts")["results"]
    assert cohort["definition"]["behaviour"][0] == {
        "event": "purchase",
        "operator": "gte",
        "count": 1,
        "days": 30,
        "filters": [],
    }
    assert cohorts_compute_due() == 1  # the job, run here instead of by the scheduler
    cohort = api.get(f"cohorts/{cohort['id']}")
    assert cohort["count"] > 0
    # The list asks again while a cohort is being computed: no reload needed.
    count = f"#cohort-list-panel tr[data-cohort-id='{cohort['id']}'] [data-role=count]"
    wait.until(lambda d: _text(d, count) == str(cohort["count"]))

    driver.find_element(By.CSS_SELECTOR, "[data-action=show-members]").click()
    members = api.get(f"cohorts/{cohort['id']}/persons", limit=50)["results"]
    expected = [member["person_id"] for member in members]
    wait.until(
        lambda d: (
            d.execute_script(
                "return [...document.querySelectorAll('#cohort-members-panel [data-role=members] a')]"
                ".map(a => a.textContent)"
            )
            == expected
        )
    )
    _screenshot(driver, "cohorts.png", "main")

    # A member opens on the persons page, with the cohort among its cohorts and its timeline.
    driver.find_element(By.CSS_SELECTOR, "#cohort-members-panel [data-role=members] a").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#person-panel .timeline__item"))
    person = api.get(f"persons/{expected[0]}")
    facts = driver.find_element(By.CSS_SELECTOR, "#person-panel [data-role=facts]").text
    assert "Buyers" in facts and str(person["event_count"]) in facts
    shown = driver.find_elements(By.CSS_SELECTOR, "#person-panel .timeline__item strong")
    assert [node.text for node in shown] == [event["event"] for event in person["timeline"]["results"]]
    _screenshot(driver, "persons.png", "#person-panel")

    # Deleting it, after the question, leaves the list's empty state, which says what to do next.
    driver.back()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-action=delete-cohort]"))
    driver.find_element(By.CSS_SELECTOR, "[data-action=delete-cohort]").click()
    wait.until(lambda d: d.switch_to.alert).accept()
    wait.until(lambda d: "No cohorts yet" in (_text(d, "#cohort-list-panel [data-role=rows]") or ""))
    assert api.get("cohorts")["results"] == []


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
    # Step 2 only counts signups on a plan other than team (a filter of its own).
    second = panel.find_elements(By.CSS_SELECTOR, "[data-role=steps] > li")[1]
    second.find_element(By.NAME, "step_filter_key").send_keys("plan")
    Select(second.find_element(By.NAME, "step_filter_operator")).select_by_value("is_not")
    second.find_element(By.NAME, "step_filter_value").send_keys("team")
    Select(panel.find_element(By.NAME, "breakdown_type")).select_by_value("event")
    panel.find_element(By.NAME, "breakdown_key").send_keys("plan")
    panel.find_element(By.CSS_SELECTOR, "[data-action=run-funnel]").click()
    dates = driver.execute_script(
        "return [document.getElementById('range-from').value, document.getElementById('range-to').value]"
    )
    body = {
        "steps": [
            "pageview",
            {"event": "signup", "filters": [{"type": "event", "key": "plan", "operator": "is_not", "value": "team"}]},
        ],
        "from": dates[0],
        "to": dates[1],
        "window_hours": 24,
        "filters": filters,
        "breakdown": {"type": "event", "key": "plan"},
    }
    answer = api.post("funnels", body)
    expected = [[str(part["value"]), *[str(row["users"]) for row in part["results"]]] for part in answer["breakdown"]]
    by_value = {row[0]: row for row in expected}
    assert by_value["team"][2] == "0" and int(by_value["pro"][2]) > 0  # the step's own filter applied
    script = (
        "return [...document.querySelectorAll('#funnel-panel [data-role=breakdown] tbody tr')]"
        ".map(r => [r.querySelector('th').textContent, ...[...r.querySelectorAll('td')].slice(0, -1)"
        ".map(c => c.textContent)])"
    )
    wait.until(lambda d: d.execute_script(script) == expected, "funnel breakdown differs from the API's")
    bins = driver.find_elements(By.CSS_SELECTOR, "#funnel-panel [data-role=time-to-convert] .bin")
    assert len(bins) == len(answer["time_to_convert"])


def test_segmenting_by_clicking(browser, live_server, demo_project, api):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    page = f"/dashboard/{demo_project.slug}/"
    wait = _open(driver, live_server.url, page)
    wait.until(lambda d: _top_events_shown(d))
    unfiltered = api.get("top-events", limit=10)

    # The key's suggestions come from the taxonomy, the value's from its top values.
    bar = driver.find_element(By.ID, "filter-bar")
    wait.until(
        lambda d: (
            "plan" in d.execute_script("return [...document.querySelectorAll('#filter-keys option')].map(o => o.value)")
        )
    )
    bar.find_element(By.NAME, "filter_key").send_keys("plan")
    Select(bar.find_element(By.NAME, "filter_operator")).select_by_value("is_not")
    bar.find_element(By.NAME, "filter_value").click()
    wait.until(
        lambda d: (
            "free"
            in d.execute_script("return [...document.querySelectorAll('#filter-values option')].map(o => o.value)")
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
    wait.until(lambda d: _top_events_shown(d) == expected, "top events do not show the filtered counts")
    _screenshot(driver, "filter-bar.png", "#filter-bar")

    _build_a_two_series_trend(driver, wait, api, filters)
    _retention_from_signup_to_purchase(driver, wait, api, filters)
    _funnel_by_plan(driver, wait, api, filters)
    _no_console_errors(driver)
    shared = driver.current_url

    # Reloading the shared URL keeps the filter; removing the chip drops it everywhere.
    driver.get(shared)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#filter-bar [data-role=filter-chip]"))
    wait.until(lambda d: _top_events_shown(d) == expected, "the reloaded page lost the filter")
    driver.find_element(By.CSS_SELECTOR, "#filter-bar [data-action=remove-filter]").click()
    wait.until(lambda d: "filters" not in urlparse(d.current_url).query)
    plain = {row["event"]: row["count"] for row in unfiltered["results"]}
    wait.until(lambda d: _top_events_shown(d) == plain)

    # A filter the API refuses is explained next to the bar, in its words.
    bad = json.dumps([{"type": "cohort", "value": 999999}])
    driver.get(f"{live_server.url}{page}?filters={bad}")
    slot = "#filter-bar [data-error-for=filters]"
    wait.until(lambda d: "unknown cohort" in d.find_element(By.CSS_SELECTOR, slot).text)
    # Every panel's request is refused and logged as a failed load; once none is in flight, drain them.
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[aria-busy=true]"), "a panel is still loading")
    driver.get_log("browser")

    driver.get(f"{live_server.url}{page}")
    _create_a_cohort_and_open_a_member(driver, wait, api)
    _no_console_errors(driver)

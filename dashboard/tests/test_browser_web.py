"""The Web tab in headless Chromium, checked against the web API's own answers.

A website's visits are stored with the web columns set (dashboard/tests/web_demo_data.py); the
page is opened as a person would, and every number, list row and goal it shows is compared with
``GET web`` / ``GET web/live`` asked here with the test client, formatted the way the page
formats them. Clicking a row must add its filter chip and show the API's filtered answer.
The screenshot goes to var/screenshots/web.png (docs/screenshots/ with
EVENTBASE_UPDATE_DOCS_SCREENSHOT=1).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth.models import User
from django.test import Client

from analytics.models import Goal
from dashboard.tests.browser_support import PASSWORD
from dashboard.tests.browser_support import no_console_errors as _no_console_errors
from dashboard.tests.browser_support import open_page as _open
from dashboard.tests.browser_support import screenshot as _screenshot
from dashboard.tests.browser_support import text_of as _text
from dashboard.tests.test_browser import _chart_points
from dashboard.tests.web_demo_data import web_events_delete, web_events_insert
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)

METRICS = ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration_seconds")


# --- data -------------------------------------------------------------------------------------


@pytest.fixture
def web_project() -> Iterator[Any]:
    project = ProjectFactory(name="Demo site", slug="demo-site")
    assert web_events_insert(project_id=project.pk) > 100
    yield project
    web_events_delete(project_id=project.pk)


@pytest.fixture
def api(web_project: Any) -> Any:
    """The API as the dashboard's user sees it, for the expected numbers."""
    user = User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    base = f"/api/v1/projects/{web_project.slug}/"

    class Api:
        def get(self, path: str, **params: Any) -> Any:
            response = client.get(base + path, params)
            assert response.status_code == 200, response.content
            return response.json()

    return Api()


# --- the page's formatting (web-format.js, format.js), for the expected texts ------------------


def _js_round(value: float, places: int = 0) -> str:
    """Number.prototype.toFixed: the double's exact value, halves away from zero."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _percent(value: float) -> str:
    return f"{_js_round(value, 0 if value >= 10 or value == 0 else 1)}%"


def _duration(seconds: float) -> str:
    """format.js's formatDuration."""
    total = math.floor(seconds + 0.5)
    d, h, m, s = total // 86400, total % 86400 // 3600, total % 3600 // 60, total % 60
    if d:
        return f"{d}d {h}h"
    return f"{h}h {m}m" if h else f"{m}m {s}s" if m else f"{s}s"


def _shown_value(metric: str, value: float) -> str:
    if metric == "views_per_visit":
        return _js_round(value, 2)
    if metric == "bounce_rate":
        return _percent(value)
    if metric == "visit_duration_seconds":
        return _duration(value)
    return f"{value:,}"


def _shown_change(metric: str, current: float, previous: float) -> str:
    """The change from the previous period: percent, or percentage points for the bounce rate."""
    if metric == "bounce_rate":
        delta, unit = math.floor(current - previous + 0.5), " pp"
    elif previous == 0:
        return "0%" if current == 0 else "new"
    else:
        delta, unit = math.floor((current - previous) / previous * 100 + 0.5), "%"
    if delta == 0:
        return f"0{unit}"
    return f"{'↑' if delta > 0 else '↓'} {abs(delta)}{unit}"


def _numbers_expected(answer: dict[str, Any]) -> dict[str, list[str]]:
    return {
        metric: [_shown_value(metric, answer[metric]), _shown_change(metric, answer[metric], answer["compare"][metric])]
        for metric in METRICS
    }


def _numbers_shown(driver: Any) -> dict[str, list[str]]:
    return dict(
        driver.execute_script(
            "return [...document.querySelectorAll('#web-overview-panel [data-metric]')].map(li => [li.dataset.metric,"
            " [li.querySelector('[data-role=value]').textContent, li.querySelector('[data-role=change]').textContent]])"
        )
    )


def _rows_shown(driver: Any, card: str) -> list[list[str]]:
    """[value, visitors] of each row of a card's table (the row's data-value is the API's value)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(`#${arguments[0]} tr.web-row`)]"
        ".map(r => [r.dataset.value, r.querySelector('td[data-col=visitors]').textContent])",
        card,
    )


def _rows_expected(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[row["value"], f"{row['visitors']:,}"] for row in rows]


def _settled(driver: Any) -> bool:
    return not driver.find_elements("css selector", "#web-overview-panel[aria-busy=true], .web-card[aria-busy=true]")


def _page_matches(driver: Any, wait: Any, answer: dict[str, Any], why: str) -> None:
    """The numbers row and every card's shown tab show this answer of GET web."""
    expected = _numbers_expected(answer)
    wait.until(lambda d: _settled(d) and _numbers_shown(d) == expected, f"numbers row: {why}")
    for card in ("web-pages-card", "web-sources-card", "web-countries-card", "web-devices-card"):
        field = driver.execute_script("return document.getElementById(arguments[0]).dataset.shows", card)
        assert _rows_shown(driver, card) == _rows_expected(answer[field]), f"{field}: {why}"


def _show_tab(driver: Any, wait: Any, card: str, field: str, rows: list[dict[str, Any]]) -> None:
    driver.find_element("css selector", f"#{card} .web-tab[data-tab={field}]").click()
    wait.until(lambda d: d.execute_script("return document.getElementById(arguments[0]).dataset.shows", card) == field)
    assert _rows_shown(driver, card) == _rows_expected(rows), field


def _add_goal(
    driver: Any, wait: Any, name: str, *, path: str | None = None, event: str | None = None, where: tuple = ()
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    form = driver.find_element(By.CSS_SELECTOR, "#web-goals-card [data-role=goal-form]")
    form.find_element(By.NAME, "name").send_keys(name)
    Select(form.find_element(By.NAME, "kind")).select_by_value("event" if event else "pageview")
    form.find_element(By.NAME, "event" if event else "path").send_keys(event or path)
    if where:
        form.find_element(By.NAME, "filter_key").send_keys(where[0])
        form.find_element(By.NAME, "filter_value").send_keys(where[1])
    form.find_element(By.CSS_SELECTOR, "[data-action=add-goal]").click()
    wait.until(lambda d: f"Added the goal “{name}”" in (_text(d, "#web-goals-card [data-role=goal-added]") or ""))


def _goals_shown(driver: Any) -> list[list[str]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#web-goals-card tr.web-row')]"
        ".map(r => [r.querySelector('th').textContent,"
        " ...[...r.querySelectorAll('td[data-col]')].map(c => c.textContent)])"
    )


def _goals_expected(answer: dict[str, Any]) -> list[list[str]]:
    return [
        [goal["name"], f"{goal['visitors']:,}", f"{goal['conversions']:,}", _percent(goal["conversion_rate"])]
        for goal in answer["goals"]
    ]


def test_web_tab_shows_the_api_and_filters_by_clicking(browser, live_server, web_project, api):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    page = f"/dashboard/{web_project.slug}/web/"
    wait = _open(driver, live_server.url, page)
    dates = driver.execute_script(
        "return [document.getElementById('range-from').value, document.getElementById('range-to').value]"
    )
    period = {"from": dates[0], "to": dates[1], "compare": "true", "limit": 20}

    # The numbers row (with the change from the previous period), the chart and the lists.
    answer = api.get("web", **period)
    assert answer["visitors"] > 0 and answer["compare"]["visitors"] > 0
    assert {row["value"] for row in answer["countries"]} >= {"DE", "US"}
    _page_matches(driver, wait, answer, "unfiltered")
    series = driver.execute_script(
        "return Chart.getChart(document.querySelector(\"canvas[data-chart='web-visitors']\"))"
        ".data.datasets.map(d => d.data)"
    )
    assert series == [[p["visitors"] for p in answer["series"]], [p["pageviews"] for p in answer["series"]]]
    assert _chart_points(driver, "web-visitors") == 2 * len(answer["series"])
    # A page's bounce rate (of the visits that entered there) and time on page are on its row.
    entered = next(
        row for row in answer["pages"] if row["bounce_rate"] is not None and row["avg_time_on_page_seconds"] is not None
    )
    title = driver.execute_script(
        "return [...document.querySelectorAll('#web-pages-card tr.web-row')]"
        ".find(r => r.dataset.value === arguments[0]).querySelector('button').title",
        entered["value"],
    )
    assert f"bounce rate {_percent(entered['bounce_rate'])}" in title
    assert f"{_duration(entered['avg_time_on_page_seconds'])} on page" in title
    _show_tab(driver, wait, "web-pages-card", "entry_pages", answer["entry_pages"])
    _show_tab(driver, wait, "web-pages-card", "exit_pages", answer["exit_pages"])
    _show_tab(driver, wait, "web-sources-card", "referrers", answer["referrers"])
    _show_tab(driver, wait, "web-sources-card", "utm_campaigns", answer["utm_campaigns"])
    _show_tab(driver, wait, "web-devices-card", "browsers", answer["browsers"])
    _show_tab(driver, wait, "web-devices-card", "os", answer["os"])
    assert "🇩🇪 Germany" in (_text(driver, "#web-countries-card tr[data-value=DE] button") or "")

    # Live: the visitors of the last 5 minutes, as web/live counts them.
    wait.until(lambda d: _text(d, "#web-live-panel [data-role=live-visitors]") == str(api.get("web/live")["visitors"]))
    assert api.get("web/live")["visitors"] > 0

    # A goal added in the card is stored through the goals API and listed with its conversions.
    _add_goal(driver, wait, "Checkout", path="/checkout/*")
    _add_goal(driver, wait, "Signed up", event="signup")
    _add_goal(driver, wait, "Pro signups", event="signup", where=("plan", "pro"))
    stored = {goal["name"]: goal for goal in api.get("goals")["results"]}
    assert stored["Checkout"]["kind"] == "pageview" and stored["Checkout"]["path"] == "/checkout/*"
    assert stored["Signed up"]["event"] == "signup" and stored["Signed up"]["filters"] == []
    assert stored["Pro signups"]["filters"] == [{"type": "event", "key": "plan", "operator": "exact", "value": "pro"}]
    answer = api.get("web", **period)
    assert [goal["name"] for goal in answer["goals"]] == ["Checkout", "Signed up", "Pro signups"]
    assert all(goal["visitors"] > 0 for goal in answer["goals"])
    assert answer["goals"][2]["conversions"] < answer["goals"][1]["conversions"]
    wait.until(lambda d: _settled(d) and _goals_shown(d) == _goals_expected(answer), "goals differ from the API's")
    driver.find_element(By.CSS_SELECTOR, "#web-sources-card .web-tab[data-tab=channels]").click()
    driver.find_element(By.CSS_SELECTOR, "#web-devices-card .web-tab[data-tab=devices]").click()
    driver.find_element(By.CSS_SELECTOR, "#web-pages-card .web-tab[data-tab=pages]").click()
    driver.set_window_size(1440, 2300)
    _screenshot(driver, "web.png", "main")
    driver.set_window_size(1440, 1000)
    _no_console_errors(driver)

    # The remove button takes a goal away (after asking) through DELETE goals/<id>.
    driver.find_element(By.CSS_SELECTOR, "#web-goals-card [aria-label='Remove goal Pro signups']").click()
    wait.until(lambda d: d.switch_to.alert).accept()
    wait.until(lambda d: [row[0] for row in _goals_shown(d)] == ["Checkout", "Signed up"], "the goal is still listed")
    assert [goal["name"] for goal in api.get("goals")["results"]] == ["Checkout", "Signed up"]

    # Clicking Germany adds "country = DE" to the filter bar; everything shows the filtered answer.
    driver.find_element(By.CSS_SELECTOR, "#web-countries-card tr[data-value=DE] [data-action=filter-by]").click()
    country = {"type": "column", "key": "country", "operator": "exact", "value": "DE"}
    chips = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#filter-bar [data-role=filter-chip]"))
    assert chips[0].text.startswith("country = DE")
    assert json.loads(parse_qs(urlparse(driver.current_url).query)["filters"][0]) == [country]
    germany = api.get("web", **period, filters=json.dumps([country]))
    assert germany["visitors"] < answer["visitors"]
    assert [row["value"] for row in germany["countries"]] == ["DE"]
    _page_matches(driver, wait, germany, "filtered by country")
    wait.until(lambda d: _goals_shown(d) == _goals_expected(germany), "goals not filtered")

    # "Direct / None" is a visit without a referrer: its filter is "is not set".
    _show_tab(driver, wait, "web-sources-card", "referrers", germany["referrers"])
    driver.find_element(
        By.CSS_SELECTOR, "#web-sources-card tr[data-value='Direct / None'] [data-action=filter-by]"
    ).click()
    direct = {"type": "column", "key": "referrer_host", "operator": "is_not_set"}
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#filter-bar [data-role=filter-chip]")) == 2)
    assert json.loads(parse_qs(urlparse(driver.current_url).query)["filters"][0]) == [country, direct]
    both = api.get("web", **period, filters=json.dumps([country, direct]))
    assert both["visitors"] < germany["visitors"]
    _page_matches(driver, wait, both, "filtered by country and no referrer")

    # The other tabs open with the same filters; the Reports page shows them as chips.
    reports = driver.find_element(By.CSS_SELECTOR, ".project-nav a[href*='filters=']")
    assert reports.text == "Reports"
    reports.click()
    chips = "return [...document.querySelectorAll('#filter-bar [data-role=filter-chip]')].map(c => c.firstChild.data)"
    wait.until(lambda d: d.execute_script(chips) == ["country = DE", "referrer_host is not set"])
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[aria-busy=true]"), "a panel is still loading")
    _no_console_errors(driver)  # every report of the Reports page takes the web columns' filters
    driver.back()
    _page_matches(driver, wait, both, "back on the Web tab")

    # Any column can be filtered from the bar too: type, column, operator, value.
    bar = driver.find_element(By.ID, "filter-bar")
    Select(bar.find_element(By.NAME, "filter_type")).select_by_value("column")
    Select(bar.find_element(By.NAME, "filter_column")).select_by_value("device_type")
    Select(bar.find_element(By.NAME, "filter_operator")).select_by_value("exact")
    bar.find_element(By.NAME, "filter_value").send_keys("desktop")
    bar.find_element(By.CSS_SELECTOR, "[data-action=add-filter]").click()
    desktop = {"type": "column", "key": "device_type", "operator": "exact", "value": "desktop"}
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#filter-bar [data-role=filter-chip]")) == 3)
    assert json.loads(parse_qs(urlparse(driver.current_url).query)["filters"][0]) == [country, direct, desktop]
    three = api.get("web", **period, filters=json.dumps([country, direct, desktop]))
    assert [row["value"] for row in three["devices"]] == ["desktop"]
    _page_matches(driver, wait, three, "filtered by a column typed in the bar")
    _no_console_errors(driver)


def test_web_tab_of_a_site_without_visits_says_what_to_add(browser, live_server):
    from selenium.webdriver.common.by import By

    project = ProjectFactory(name="New site", slug="new-site")
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    wait = _open(browser, live_server.url, f"/dashboard/{project.slug}/web/")
    empty = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#web-overview-panel [data-role=empty]:not([hidden])"))
    assert "No pageviews in this range" in empty.text
    assert f'<script src="{live_server.url}/t.js" data-key="<ingest key>"></script>' in empty.text
    assert "No goals yet" in browser.find_element(By.ID, "web-goals-card").text

    # A goal the API refuses is explained next to its field, in the API's words, and not stored.
    form = browser.find_element(By.CSS_SELECTOR, "#web-goals-card [data-role=goal-form]")
    form.find_element(By.NAME, "name").send_keys("Checkout")
    form.find_element(By.NAME, "path").send_keys("checkout/*")
    form.find_element(By.CSS_SELECTOR, "[data-action=add-goal]").click()
    wait.until(lambda d: "path starts with '/'" in (_text(d, "#web-goals-card [data-error-for=path]") or ""))
    assert form.find_element(By.NAME, "path").get_attribute("aria-invalid") == "true"
    assert Goal.objects.filter(project=project).count() == 0
    # The refused POST is logged as a failed load; any other error is not expected.
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert all("/goals - Failed to load resource" in message for message in errors), errors

"""What the dashboard's browser tests share: logging in, reading what a page shows (in one script,
so a list re-rendered meanwhile cannot go stale), the console's errors and screenshots."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from django.conf import settings

from config.browser_testing import WAIT_SECONDS

PASSWORD = "a-long-test-password"


def open_page(driver: Any, base_url: str, path: str, username: str = "admin") -> Any:
    """Sign in as ``username`` (afresh: whoever was signed in before is forgotten) and open ``path``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_SECONDS)
    driver.delete_all_cookies()
    driver.get(f"{base_url}/accounts/login/?next={path}")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit], button[type=submit]").click()
    # The sign-in page's own URL holds the path too (?next=…): wait until the browser has left it.
    wait.until(lambda d: path in d.current_url and "/accounts/login/" not in d.current_url)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    driver.get_log("browser")  # drop the login page's messages
    return wait


def top_events_shown(driver: Any) -> dict[str, int]:
    """Event → count as the top-events table shows them (read in one script: rows are replaced)."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#top-events-panel [data-role=rows] tr')]"
        ".filter(r => r.querySelector('th') && r.querySelectorAll('td').length === 2)"
        ".map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])"
    )
    return {name: int(count.replace(",", "")) for name, count in rows}


def screenshot(driver: Any, name: str, selector: str) -> None:
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


def text_of(driver: Any, selector: str) -> str | None:
    """An element's text read in one script, so a list re-rendered meanwhile cannot go stale."""
    return driver.execute_script("return document.querySelector(arguments[0])?.textContent ?? null", selector)


def no_console_errors(driver: Any) -> None:
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def lines_expected(answer: dict[str, Any]) -> dict[str, list[float]]:
    """The table's columns as the page labels them, from a POST trends answer."""
    lines = {}
    current = [(entry, "") for entry in [*answer["series"], *(answer["formula"] or [])]]
    previous = [(entry, " (previous period)") for entry in answer["compare"] or []]
    for entry, period in current + previous:
        name = f"Formula: {entry['label']}" if entry["series"] == "formula" else f"{entry['series']}. {entry['label']}"
        split = "" if entry["breakdown_value"] is None else f" · {entry['breakdown_value']}"
        lines[name + split + period] = [point["value"] for point in entry["data"]]
    return lines


def lines_shown(driver: Any) -> dict[str, list[float]]:
    columns = driver.execute_script(
        "const t = document.querySelector('#trends-panel [data-role=table]');"
        "const heads = [...t.querySelectorAll('thead th')].slice(1).map(h => h.textContent);"
        "const rows = [...t.querySelectorAll('tbody tr')]"
        ".map(r => [...r.querySelectorAll('td')].map(c => c.textContent));"
        "return heads.map((h, i) => [h, rows.map(r => r[i])]);"
    )
    return {label: [float(v.replace(",", "")) for v in values] for label, values in columns}


def table_matches(driver: Any, wait: Any, expected: dict[str, list[float]]) -> None:
    wait.until(lambda d: lines_shown(d).keys() == expected.keys(), "the trend's table has other lines than the API")
    shown = lines_shown(driver)
    for label, values in expected.items():
        assert shown[label] == pytest.approx([round(v, 2) for v in values], abs=0.01), label


def fill_filter_rows(scope: Any, prefix: str, rows: list[tuple[str, str, str]]) -> None:
    """Fills the filter rows of a series or a step (filter-row.js), adding rows as needed."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for i, (key, operator, value) in enumerate(rows):
        if i:
            scope.find_element(By.CSS_SELECTOR, f"[data-action=add-{prefix.replace('_', '-')}]").click()
        row = scope.find_elements(By.CSS_SELECTOR, "[data-role=filter-row]")[i]
        row.find_element(By.NAME, f"{prefix}_key").send_keys(key)
        Select(row.find_element(By.NAME, f"{prefix}_operator")).select_by_value(operator)
        row.find_element(By.NAME, f"{prefix}_value").send_keys(value)


def error_texts(body: Any) -> list[str]:
    """Every message of a 400 body, however nested (the page shows them all)."""
    if isinstance(body, str):
        return [body]
    if isinstance(body, dict):
        body = list(body.values())
    return [text for item in body or [] for text in error_texts(item)] if isinstance(body, list) else []


def drain_refused(driver: Any, path: str) -> None:
    """Drops the console's record of a request the test made the API refuse (Chromium logs a
    failed load for a 400), checking that it is the only error there."""
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors and all(f"/{path} " in message and "400" in message for message in errors), errors


def funnel_breakdown_expected(answer: dict[str, Any]) -> list[list[str]]:
    """The funnel's by-value table as the page draws it (value, users per step), from POST funnels."""
    return [[str(part["value"]), *[str(row["users"]) for row in part["results"]]] for part in answer["breakdown"]]


def funnel_breakdown_shown(driver: Any) -> list[list[str]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#funnel-panel [data-role=breakdown] tbody tr')]"
        ".map(r => [r.querySelector('th').textContent, ...[...r.querySelectorAll('td')].slice(0, -1)"
        ".map(c => c.textContent)])"
    )

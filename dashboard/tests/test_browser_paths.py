"""The Paths panel in headless Chromium: the Sankey diagram it draws (a bar per node, a band per
edge, each carrying its numbers) and its tables match the reporting API's answer to the same body,
first as the page loads, then after switching to page paths by clicking."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from analytics.tests.factories import events_delete, events_insert
from core import days as daysmod
from dashboard.tests.browser_support import PASSWORD, no_console_errors, open_page, screenshot
from projects.tests.factories import ProjectFactory
from reporting.tests import paths_oracle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paths_project() -> Iterator[Any]:
    project = ProjectFactory(name="Paths shop", slug="paths-shop", timezone="Europe/Berlin")
    today = daysmod.local_date(dt.datetime.now(dt.UTC), daysmod.zone(project.timezone))
    events = paths_oracle.generate(
        project_id=project.pk, tz=daysmod.zone(project.timezone), first=today - dt.timedelta(days=6), days=5,
        users=30, seed=5,
    )  # fmt: skip
    events_insert(events)
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    yield project
    events_delete([project.pk])


def _drawn(driver) -> tuple[list, list]:
    """The diagram's nodes and bands as (step, name, users) and (step, source, target, users)."""
    return driver.execute_script(
        "const root = document.getElementById('paths-panel');"
        "const nodes = [...root.querySelectorAll('.sankey__node')].map("
        "  g => [Number(g.dataset.step), g.dataset.name, Number(g.dataset.users)]);"
        "const links = [...root.querySelectorAll('.sankey__link')].map(p => [Number(p.dataset.sourceStep),"
        "  p.dataset.source, p.dataset.target, Number(p.dataset.users)]);"
        "return [nodes, links];"
    )


def _check_against_the_api(driver, project) -> dict:
    body = driver.execute_script("return window.eventbaseDashboard.panels.paths.body")
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    response = client.post(f"/api/v1/projects/{project.slug}/paths", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    answer = response.json()
    nodes, links = _drawn(driver)
    assert sorted(map(tuple, nodes)) == sorted((n["step"], n["name"], n["users"]) for n in answer["nodes"])
    expected_links = [(e["source_step"], e["source"], e["target"], e["users"]) for e in answer["edges"]]
    assert sorted(map(tuple, links)) == sorted(expected_links)
    assert nodes and links
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#paths-panel [data-role=rows] tr')]"
        ".map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])"
    )
    assert rows == [[f"{s}. {a} → {b}", f"{n:,}"] for s, a, b, n in expected_links]
    return body


def test_the_paths_panel_draws_the_api_answer_as_a_sankey(browser, live_server, paths_project):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    wait = open_page(driver, live_server.url, f"/dashboard/{paths_project.slug}/")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#paths-panel .sankey__node"), "no Sankey nodes drawn")
    body = _check_against_the_api(driver, paths_project)
    assert body["event_types"] == ["$pageview", "custom"] and "path_key" not in body

    # Page paths of pageviews only, four steps: picked and typed as a person would.
    panel = driver.find_element(By.ID, "paths-panel")
    panel.find_element(By.CSS_SELECTOR, "input[name=event_types][value=custom]").click()
    Select(panel.find_element(By.NAME, "path_key")).select_by_value("pathname")
    steps = panel.find_element(By.NAME, "steps")
    steps.clear()
    steps.send_keys("4")
    panel.find_element(By.CSS_SELECTOR, "[data-action=run-paths]").click()
    wait.until(
        lambda d: (
            d.execute_script("return window.eventbaseDashboard.panels.paths.shown?.nodes?.length")
            and d.execute_script("return window.eventbaseDashboard.panels.paths.body.path_key") == "pathname"
            and d.execute_script("return document.getElementById('paths-panel').getAttribute('aria-busy')") == "false"
        )
    )
    body = _check_against_the_api(driver, paths_project)
    assert body["event_types"] == ["$pageview"] and body["steps"] == 4
    names = {n[1] for n in _drawn(driver)[0]}
    assert names <= {p for p in paths_oracle.PAGES if p} and len(names) > 2

    screenshot(driver, "paths.png", "#paths-panel")

    # A start that nobody reached: an empty answer, said in words, and nothing stale stays drawn.
    panel.find_element(By.NAME, "start_event").send_keys("/nowhere")
    panel.find_element(By.CSS_SELECTOR, "[data-action=run-paths]").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#paths-panel [data-role=empty]").is_displayed())
    assert _drawn(driver) == [[], []]
    no_console_errors(driver)

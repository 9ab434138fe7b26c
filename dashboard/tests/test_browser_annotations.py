"""Annotations in a real Chromium: an editor adds a note through the reports page's form and the
trends chart draws its marker (read from the plugin's state on the Chart.js instance), hovering it
shows the note, the Web page's visitors chart draws it too; a viewer sees the marker, not the form."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.contrib.auth.models import User

from analytics.models import Annotation
from dashboard.tests.browser_support import PASSWORD, no_console_errors, open_page, screenshot
from projects.models import ProjectMembership, ProjectRole

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "v2 released"
# The markers the plugin drew on a chart: [[label, [texts]], …] (null before the chart exists).
MARKERS = (
    "const c = window.Chart && Chart.getChart(document.querySelector(arguments[0]));"
    "return c && c.$annotationMarkers ? c.$annotationMarkers.map(m => [m.label, m.items.map(n => n.text)]) : null;"
)


def _member(project: Any, name: str, role: str) -> User:
    user = User.objects.create_user(name, password=PASSWORD)
    ProjectMembership.objects.create(project=project, user=user, role=role)
    return user


def _markers(driver: Any, chart: str) -> list[list[Any]] | None:
    return driver.execute_script(MARKERS, f"canvas[data-chart='{chart}']")


def _hover_marker(driver: Any, chart: str) -> None:
    """Moves the mouse onto the first marker's dot (offsets from the canvas's centre, as Selenium wants)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.CSS_SELECTOR, f"canvas[data-chart='{chart}']")
    x, y, width, height = driver.execute_script(
        "const c = Chart.getChart(arguments[0]); const r = arguments[0].getBoundingClientRect();"
        "return [c.$annotationMarkers[0].x, c.chartArea.top + 4, r.width, r.height];",
        canvas,
    )
    ActionChains(driver).move_to_element_with_offset(canvas, int(x - width / 2), int(y - height / 2)).perform()


def test_editor_adds_a_note_the_charts_mark_it_and_a_viewer_sees_no_form(browser, live_server, demo_project):
    from selenium.webdriver.common.by import By

    driver = browser
    _member(demo_project, "ann-editor", ProjectRole.EDITOR)
    _member(demo_project, "ann-viewer", ProjectRole.VIEWER)
    day = (dt.datetime.now(zoneinfo.ZoneInfo(demo_project.timezone)).date() - dt.timedelta(days=3)).isoformat()
    page = f"/dashboard/{demo_project.slug}/"

    # The editor adds a note through the form; the trends chart (and active users) mark its day.
    wait = open_page(driver, live_server.url, page, "ann-editor")
    wait.until(lambda d: _markers(d, "trends") == [], "the trends chart never drew (no plugin state)")
    form = driver.find_element(By.CSS_SELECTOR, "#annotations-panel [data-role=annotation-form]")
    # A date input's typing order depends on the browser's locale; its value does not.
    driver.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, "date"), day)
    form.find_element(By.NAME, "text").send_keys(NOTE)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: _markers(d, "trends") == [[day, [NOTE]]], "the trends chart has no marker for the note")
    wait.until(lambda d: _markers(d, "active-users") == [[day, [NOTE]]], "the active users chart has no marker")
    note = Annotation.objects.get(project=demo_project)
    assert (note.date.isoformat(), note.text, note.created_by.username) == (day, NOTE, "ann-editor")

    # Hovering the marker's dot shows the note.
    _hover_marker(driver, "trends")
    title = "return document.querySelector(\"canvas[data-chart='trends']\").title"
    wait.until(lambda d: NOTE in d.execute_script(title), "hovering the marker does not show the note")
    screenshot(driver, "annotations.png", "#trends-panel")  # for a person to look at
    assert driver.find_element(By.CSS_SELECTOR, "[data-role=annotation-added]").text == f"Added the note of {day}."
    no_console_errors(driver)

    # The Web page's visitors chart marks it too.
    driver.get(f"{live_server.url}/dashboard/{demo_project.slug}/web/")
    wait.until(lambda d: _markers(d, "web-visitors") == [[day, [NOTE]]], "the visitors chart has no marker")
    no_console_errors(driver)

    # A viewer sees the marker but no form.
    wait = open_page(driver, live_server.url, page, "ann-viewer")
    wait.until(lambda d: _markers(d, "trends") == [[day, [NOTE]]], "the viewer's trends chart has no marker")
    assert driver.find_elements(By.ID, "annotations-panel") == []
    assert driver.execute_script("return window.eventbaseDashboard.ctx.role") == "viewer"
    no_console_errors(driver)

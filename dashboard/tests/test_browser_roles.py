"""What each role is offered, in a real Chromium: a viewer sees no cohort, goal or annotation form
(nor Edit/Delete of cohorts and goals), an editor sees them all, and edits then deletes a note
from the reports page's list; only an admin gets the Settings link."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone as django_timezone

from analytics.models import Annotation, Goal
from dashboard.tests.browser_support import PASSWORD, no_console_errors, open_page, screenshot
from persons.models import Cohort
from projects.models import ProjectMembership, ProjectRole

pytestmark = pytest.mark.django_db(transaction=True)

# The write controls of each page, by selector.
COHORT_WRITES = [
    "#cohort-create-panel",
    "#cohort-upload-panel",
    "[data-action=edit-cohort]",
    "[data-action=delete-cohort]",
]
GOAL_WRITES = ["[data-role=goal-form]", "[data-action=remove-goal]"]
ANNOTATION_WRITES = ["#annotations-panel", "[data-role=annotation-form]", "[data-action=delete-annotation]"]


def _member(project: Any, name: str, role: str) -> User:
    user = User.objects.create_user(name, password=PASSWORD)
    ProjectMembership.objects.create(project=project, user=user, role=role)
    return user


def _present(driver: Any, selectors: list[str]) -> list[str]:
    return [selector for selector in selectors if _exists(driver, selector)]


def _exists(driver: Any, selector: str) -> bool:
    return bool(driver.execute_script("return !!document.querySelector(arguments[0])", selector))


def _notes_listed(driver: Any) -> list[list[str]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('[data-role=annotation-list] li')]"
        ".map(li => [li.dataset.annotationId, li.querySelector('[data-role=annotation-text]')?.textContent ?? null])"
    )


@pytest.fixture
def written(demo_project: Any) -> dict[str, Any]:
    """A cohort, a goal and a note, so the lists have rows whose Edit/Delete a role may be offered."""
    today = dt.datetime.now(zoneinfo.ZoneInfo(demo_project.timezone)).date()
    author = _member(demo_project, "author", ProjectRole.EDITOR)
    day = today - dt.timedelta(days=2)
    note = Annotation.objects.create(project=demo_project, date=day, text="v2 released", created_by=author)
    goal = Goal.objects.create(project=demo_project, name="Checkout", kind="pageview", path="/checkout/*")
    cohort = Cohort.objects.create(
        project_id=demo_project.pk,
        name="Buyers",
        kind=Cohort.STATIC,
        definition={"user_ids": ["u-1"]},
        count=1,
        computed_at=django_timezone.now(),
    )
    return {"note": note, "goal": goal, "cohort": cohort, "today": today}


def _wait_for_lists(driver: Any, wait: Any, slug: str, base: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/dashboard/{slug}/cohorts/")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cohort-list-panel tr[data-cohort-id]"), "no cohort listed")


def test_a_viewer_is_offered_no_write_form(browser, live_server, demo_project, written):
    driver = browser
    _member(demo_project, "vic", ProjectRole.VIEWER)
    slug = demo_project.slug
    wait = open_page(driver, live_server.url, f"/dashboard/{slug}/", "vic")
    wait.until(lambda d: d.execute_script("return !!window.eventbaseDashboard"), "the reports page did not start")
    assert driver.execute_script("return document.querySelector('main').dataset.projectRole") == "viewer"
    assert _present(driver, ANNOTATION_WRITES) == []
    assert driver.execute_script("return !!document.querySelector('a[href$=\"/settings/\"]')") is False
    no_console_errors(driver)

    _wait_for_lists(driver, wait, slug, live_server.url)
    assert _present(driver, COHORT_WRITES) == []
    row = "return document.querySelector('#cohort-list-panel tr[data-cohort-id]').textContent"
    assert "Members" in driver.execute_script(row)
    no_console_errors(driver)

    driver.get(f"{live_server.url}/dashboard/{slug}/web/")
    wait.until(lambda d: _exists(d, "#web-goals-card tr[data-goal-id]"), "no goal listed")
    assert _present(driver, GOAL_WRITES) == []
    no_console_errors(driver)


def test_an_editor_has_the_forms_and_edits_then_deletes_a_note(browser, live_server, demo_project, written):
    from selenium.webdriver.common.by import By

    driver = browser
    _member(demo_project, "eda", ProjectRole.EDITOR)
    slug = demo_project.slug
    note = written["note"]
    wait = open_page(driver, live_server.url, f"/dashboard/{slug}/", "eda")
    wait.until(lambda d: _notes_listed(d) == [[str(note.pk), "v2 released"]], "the note is not listed")
    assert _present(driver, ANNOTATION_WRITES) == ANNOTATION_WRITES
    assert driver.execute_script("return !!document.querySelector('a[href$=\"/settings/\"]')") is False  # admins only
    screenshot(driver, "annotation-list.png", "#annotations-panel")

    # Edit: the line becomes a form; saving PATCHes the note and the list shows the new text.
    driver.find_element(By.CSS_SELECTOR, f"li[data-annotation-id='{note.pk}'] [data-action=edit-annotation]").click()
    text = driver.find_element(By.CSS_SELECTOR, "[data-role=annotation-edit] input[name=text]")
    text.clear()
    text.send_keys("v2.1 released")
    driver.find_element(By.CSS_SELECTOR, "[data-role=annotation-edit] button[type=submit]").click()
    wait.until(lambda d: _notes_listed(d) == [[str(note.pk), "v2.1 released"]], "the edited note is not listed")
    note.refresh_from_db()
    assert note.text == "v2.1 released"

    # Delete, once confirmed: gone from the list, the charts' markers and the database.
    driver.execute_script("window.confirm = () => true")
    driver.find_element(By.CSS_SELECTOR, f"li[data-annotation-id='{note.pk}'] [data-action=delete-annotation]").click()
    wait.until(lambda d: _notes_listed(d) == [], "the deleted note is still listed")
    assert not Annotation.objects.filter(pk=note.pk).exists()
    markers = "return Chart.getChart(document.querySelector(\"canvas[data-chart='trends']\")).$annotationMarkers.length"
    wait.until(lambda d: d.execute_script(markers) == 0, "the deleted note is still marked")
    no_console_errors(driver)

    _wait_for_lists(driver, wait, slug, live_server.url)
    assert _present(driver, COHORT_WRITES) == COHORT_WRITES
    no_console_errors(driver)

    driver.get(f"{live_server.url}/dashboard/{slug}/web/")
    wait.until(lambda d: _exists(d, "#web-goals-card tr[data-goal-id]"), "no goal listed")
    assert _present(driver, GOAL_WRITES) == GOAL_WRITES
    no_console_errors(driver)


def test_an_admin_gets_the_settings_link(browser, live_server, demo_project):
    from selenium.webdriver.common.by import By

    driver = browser
    _member(demo_project, "ada", ProjectRole.ADMIN)
    wait = open_page(driver, live_server.url, f"/dashboard/{demo_project.slug}/", "ada")
    driver.find_element(By.LINK_TEXT, "Settings").click()
    wait.until(lambda d: _exists(d, "[data-testid=member-list] tr[data-member=ada]"), "no settings page")
    assert driver.find_element(By.CSS_SELECTOR, ".project-nav [aria-current=page]").text == "Settings"
    screenshot(driver, "settings.png", "main")  # for a person to look at
    screenshot(driver, "settings-members.png", "#members")
    no_console_errors(driver)

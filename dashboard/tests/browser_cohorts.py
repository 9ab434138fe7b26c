"""The cohorts page (and what uses cohorts elsewhere) by clicking, for test_browser_segments: define,
upload, change and delete cohorts, break a funnel down by them, and the persons page under the
filter bar. As there, what the page shows is checked against the reporting API's answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from analytics.cohorts import cohorts_compute_due
from dashboard.tests.browser_support import funnel_breakdown_expected, funnel_breakdown_shown, screenshot, text_of

ROWS = "#cohort-list-panel tr[data-cohort-id='{id}'] [data-role={role}]"


def create_a_cohort_and_open_a_member(driver: Any, wait: Any, api: Any) -> dict[str, Any]:
    """From the project page's link: a behavioural cohort, computed by the job, its size and members."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.find_element(By.LINK_TEXT, "Cohorts").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cohort-list-panel [data-role=rows] td"))
    form = driver.find_element(By.CSS_SELECTOR, "#cohort-create-panel form")
    form.find_element(By.NAME, "name").send_keys("Buyers")
    # A person-property row checks its value before anything is sent: ">" compares numbers.
    form.find_element(By.CSS_SELECTOR, "[data-action=add-person-row]").click()
    person = form.find_element(By.CSS_SELECTOR, "[data-role=person-row]")
    person.find_element(By.NAME, "person_key").send_keys("plan")
    Select(person.find_element(By.NAME, "person_operator")).select_by_value("gt")
    person.find_element(By.NAME, "person_value").send_keys("lots")
    form.find_element(By.CSS_SELECTOR, "[data-action=create-cohort]").click()
    error = "#cohort-create-panel [data-error-for=filters]"
    wait.until(lambda d: "Person property row 1" in (text_of(d, error) or ""), "the row's error is not shown")
    assert "compares numbers" in (text_of(driver, error) or "")
    assert api.get("cohorts")["results"] == []
    person.find_element(By.CSS_SELECTOR, "[aria-label='Remove this row']").click()
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
    wait.until(lambda d: text_of(d, count) == str(cohort["count"]))

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
    screenshot(driver, "cohorts.png", "main")

    # A member opens on the persons page, with the cohort among its cohorts and its timeline.
    driver.find_element(By.CSS_SELECTOR, "#cohort-members-panel [data-role=members] a").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#person-panel .timeline__item"))
    person = api.get(f"persons/{expected[0]}")
    facts = driver.find_element(By.CSS_SELECTOR, "#person-panel [data-role=facts]").text
    assert "Buyers" in facts and str(person["event_count"]) in facts
    shown = driver.find_elements(By.CSS_SELECTOR, "#person-panel .timeline__item strong")
    assert [node.text for node in shown] == [event["event"] for event in person["timeline"]["results"]]
    screenshot(driver, "persons.png", "#person-panel")
    return cohort


def persons_under_the_filter_bar(driver: Any, wait: Any, api: Any, page: str) -> None:
    """The persons page reads the bar's ?filters= as the reports page does, and keeps them in its links."""
    from selenium.webdriver.common.by import By

    filters = [{"type": "event", "key": "plan", "operator": "exact", "value": "team"}]
    driver.get(f"{page}persons/?filters={quote(json.dumps(filters))}")
    # Read in one script: the chips are drawn again once the cohorts' names are in.
    chip = "#filter-bar [data-role=filter-chip]"
    wait.until(lambda d: (text_of(d, chip) or "").startswith("plan = team"), "the filter's chip is not shown")
    expected = [row["person_id"] for row in api.get("persons", limit=25, filters=json.dumps(filters))["results"]]
    plain = [row["person_id"] for row in api.get("persons", limit=25)["results"]]
    assert expected and expected != plain
    script = "return [...document.querySelectorAll('#persons-panel [data-action=open-person]')].map(b => b.textContent)"
    wait.until(lambda d: d.execute_script(script) == expected, "the persons list is not the filtered one")
    reports = driver.find_element(By.LINK_TEXT, "Reports").get_attribute("href")
    assert json.loads(parse_qs(urlparse(reports).query)["filters"][0]) == filters


def upload_a_static_cohort(driver: Any, wait: Any, api: Any, tmp_path: Path) -> dict[str, Any]:
    """A CSV file with bad lines is refused, the lines listed by number; the fixed file makes a cohort."""
    from selenium.webdriver.common.by import By

    bad = tmp_path / "ids-bad.csv"
    bad.write_text("user_id\nuser-001\n\nuser-002\n" + "x" * 201 + "\n")
    status, refused = api.upload("cohorts", "Beta", bad)
    assert status == 400 and [line.split(":")[0] for line in refused["file"]] == ["line 3", "line 5"]
    panel = driver.find_element(By.ID, "cohort-upload-panel")
    panel.find_element(By.NAME, "name").send_keys("Beta")
    panel.find_element(By.NAME, "file").send_keys(str(bad))
    panel.find_element(By.CSS_SELECTOR, "[data-action=upload-cohort]").click()
    lines = (
        "return [...document.querySelectorAll('#cohort-upload-panel [data-role=rejected-lines] span')]"
        ".map(s => s.textContent)"
    )
    wait.until(lambda d: d.execute_script(lines) == refused["file"], "the rejected lines differ from the API's")
    assert [c["name"] for c in api.get("cohorts")["results"]] == ["Buyers"]  # refused whole

    good = tmp_path / "ids.csv"
    ids = ["user-001", "user-002", "user-003", "nobody-999"]
    good.write_text("user_id\n" + "\n".join(ids) + "\n")
    panel.find_element(By.NAME, "file").send_keys(str(good))
    panel.find_element(By.CSS_SELECTOR, "[data-action=upload-cohort]").click()
    wait.until(lambda d: "Created" in (text_of(d, "#cohort-upload-panel [data-role=uploaded]") or ""))
    assert text_of(driver, "#cohort-upload-panel [data-role=rejected-lines]") == ""
    cohort = next(c for c in api.get("cohorts")["results"] if c["name"] == "Beta")
    assert cohort["kind"] == "static" and cohort["definition"]["user_ids"] == ids
    assert cohorts_compute_due() == 1
    cohort = api.get(f"cohorts/{cohort['id']}")
    wait.until(lambda d: text_of(d, ROWS.format(id=cohort["id"], role="count")) == str(cohort["count"]))
    return cohort


def edit_cohorts(driver: Any, wait: Any, api: Any, buyers: dict[str, Any], beta: dict[str, Any]) -> None:
    """A dynamic cohort's name and rule change through PATCH; the list shows it computed again."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"tr[data-cohort-id='{buyers['id']}'] [data-action=edit-cohort]").click()
    form = driver.find_element(By.CSS_SELECTOR, "#cohort-create-panel form")
    assert form.find_element(By.NAME, "name").get_attribute("value") == "Buyers"
    event = form.find_element(By.CSS_SELECTOR, "[data-role=behaviour-row] [name=behaviour_event]")
    assert event.get_attribute("value") == "purchase"
    form.find_element(By.NAME, "name").clear()
    form.find_element(By.NAME, "name").send_keys("Activated")
    event.clear()
    event.send_keys("activate")
    form.find_element(By.CSS_SELECTOR, "[data-action=create-cohort]").click()
    wait.until(lambda d: "Saved" in (text_of(d, "#cohort-create-panel [data-role=created]") or ""))
    changed = api.get(f"cohorts/{buyers['id']}")
    assert changed["name"] == "Activated" and changed["computed_at"] is None
    assert changed["definition"]["behaviour"][0] == {**buyers["definition"]["behaviour"][0], "event": "activate"}
    wait.until(lambda d: text_of(d, ROWS.format(id=buyers["id"], role="computed")) == "Computing…")
    assert cohorts_compute_due() == 1
    changed = api.get(f"cohorts/{buyers['id']}")
    assert changed["count"] != buyers["count"]
    wait.until(lambda d: text_of(d, ROWS.format(id=buyers["id"], role="count")) == str(changed["count"]))
    assert text_of(driver, ROWS.format(id=buyers["id"], role="computed")) != "Computing…"
    assert text_of(driver, f"tr[data-cohort-id='{buyers['id']}'] th") == "Activated"

    # A static cohort's ids come from its file: the form renames it only.
    driver.find_element(By.CSS_SELECTOR, f"tr[data-cohort-id='{beta['id']}'] [data-action=edit-cohort]").click()
    assert not form.find_element(By.CSS_SELECTOR, "[data-role=definition]").is_displayed()
    form.find_element(By.NAME, "name").clear()
    form.find_element(By.NAME, "name").send_keys("Beta testers")
    form.find_element(By.CSS_SELECTOR, "[data-action=create-cohort]").click()
    wait.until(lambda d: text_of(d, f"tr[data-cohort-id='{beta['id']}'] th") == "Beta testers")
    renamed = api.get(f"cohorts/{beta['id']}")
    assert renamed["definition"] == beta["definition"] and renamed["count"] == beta["count"]


def funnel_by_cohort(driver: Any, wait: Any, api: Any, page: str) -> None:
    """The funnel picker breaks down by cohorts: one row per cohort, as POST funnels answers."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(page)
    panel = wait.until(lambda d: d.find_element(By.ID, "funnel-panel"))
    for field, name in zip(
        panel.find_elements(By.CSS_SELECTOR, "input[name=steps]"), ("pageview", "signup"), strict=True
    ):
        field.send_keys(name)
    Select(panel.find_element(By.NAME, "breakdown_type")).select_by_value("cohort")
    boxes = wait.until(lambda d: panel.find_elements(By.NAME, "breakdown_cohort"))
    for box in boxes:
        box.click()
    panel.find_element(By.CSS_SELECTOR, "[data-action=run-funnel]").click()
    dates = driver.execute_script(
        "return [document.getElementById('range-from').value, document.getElementById('range-to').value]"
    )
    cohorts = api.get("cohorts")["results"]
    body = {
        "steps": ["pageview", "signup"],
        "from": dates[0],
        "to": dates[1],
        "window_hours": 24,
        "filters": [],
        "breakdown": {"type": "cohort", "values": [c["id"] for c in cohorts]},
    }
    answer = api.post("funnels", body)
    expected = funnel_breakdown_expected(answer)
    assert sorted(row[0] for row in expected) == sorted(c["name"] for c in cohorts)
    assert len({tuple(row[1:]) for row in expected}) == 2  # the cohorts differ, so each row is its own
    wait.until(lambda d: funnel_breakdown_shown(d) == expected, "the funnel by cohort differs from the API's")


def delete_the_cohorts(driver: Any, wait: Any, api: Any, page: str) -> None:
    """Deleting, after the question, ends on the list's empty state, which says what to do next."""
    from selenium.webdriver.common.by import By

    driver.get(f"{page}cohorts/")
    for left in range(len(api.get("cohorts")["results"]), 0, -1):
        # The list is drawn again after each deletion: click only once it shows what is left.
        wait.until(lambda d, left=left: len(d.find_elements(By.CSS_SELECTOR, "[data-action=delete-cohort]")) == left)
        driver.find_element(By.CSS_SELECTOR, "[data-action=delete-cohort]").click()
        wait.until(lambda d: d.switch_to.alert).accept()
        wait.until(lambda d, left=left: len(api.get("cohorts")["results"]) == left - 1)
    wait.until(lambda d: "No cohorts yet" in (text_of(d, "#cohort-list-panel [data-role=rows]") or ""))

"""posthog-js, analytics.js (analytics-next) and /t.js in headless Chromium, against the live server.

The SDK bundles are vendored test fixtures (fixtures/vendor/README.md); Chromium's resolver maps
every host but the live server's to nothing, and the test asserts the page loaded nothing from
anywhere else, so no SDK can quietly phone home. Skips only where Debian's chromium is missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from config.browser_testing import WAIT_SECONDS, headless_chromium
from events.models import WEB_COLUMNS
from ingestion.flush import drain
from ingestion.tests.conftest import stored
from persons.selectors import person_get

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("ingestion.tests.browser_urls")]


# What a person's Chromium on Linux says; the headless one says "HeadlessChrome", a crawler.
DESKTOP_CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with headless_chromium(tmp_path / "chromium-profile", monkeypatch, user_agent=DESKTOP_CHROME) as driver:
        yield driver


@pytest.fixture(autouse=True)
def _clean_up(project, live_server_closes_connections) -> Iterator[None]:
    yield
    with connection.cursor() as cur:  # the unmanaged events table is not truncated between tests
        cur.execute("DELETE FROM events WHERE project_id = %s", [project.pk])


def _wait_for_events(project_id: int, names: set[str]) -> list[dict]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        drain(seconds=5)
        rows = stored(project_id)
        if names <= {row["event_name"] for row in rows} or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def _open(driver, live_server, name: str, key: str, query: str = "") -> None:
    driver.get(f"{live_server.url}/test-pages/{name}?key={key}{query}")


def _open_from_elsewhere(driver, live_server, name: str, key: str, query: str) -> None:
    """Open a test page by a link on another origin (127.0.0.1), so that it has a referrer."""
    target = f"{live_server.url}/test-pages/{name}?key={key}{query}"
    other = live_server.url.replace("localhost", "127.0.0.1")
    driver.get(f"{other}/test-pages/link?to={quote(target)}")
    driver.find_element("id", "go").click()


def _web(row: dict) -> dict:
    return {name: row[name] for name in WEB_COLUMNS}


UTM = "&utm_source=newsletter&utm_medium=email&utm_campaign=launch"


def _only_local_resources(driver, live_server) -> None:
    loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded, "the page loaded nothing"
    assert [url for url in loaded if not url.startswith(live_server.url)] == []


def _names(rows: list[dict]) -> list[str]:
    return [row["event_name"] for row in rows]


def test_posthog_js(browser, live_server, project, ingest_key):
    _open_from_elsewhere(browser, live_server, "posthog", ingest_key, UTM)
    rows = _wait_for_events(project.pk, {"$pageview", "clicked_buy", "$identify", "purchase"})
    assert {"$pageview", "clicked_buy", "$identify", "purchase"} <= set(_names(rows)), _names(rows)
    by_name = {row["event_name"]: row for row in rows}
    anonymous = by_name["clicked_buy"]["user_id"]
    assert by_name["clicked_buy"]["properties"]["price"] == 5 and by_name["clicked_buy"]["source"] == "posthog"
    assert by_name["$pageview"]["properties"]["$current_url"].startswith(live_server.url)
    assert by_name["purchase"]["user_id"] == "ph-user"
    assert by_name["$identify"]["properties"]["$anon_distinct_id"] == anonymous
    assert person_get(project_id=project.pk, distinct_id=anonymous)["distinct_ids"] == sorted([anonymous, "ph-user"])
    # Derived at capture: posthog-js's own $browser/$os/$device_type, the page, referrer and UTM.
    assert _web(by_name["$pageview"]) == {
        **dict.fromkeys(WEB_COLUMNS),
        "browser": "Chrome",
        "browser_version": "156",
        "os": "Linux",
        "device_type": "desktop",
        "host": "localhost",
        "pathname": "/test-pages/posthog",
        "referrer_host": "127.0.0.1",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "launch",
        "channel": "Email",
    }
    _only_local_resources(browser, live_server)


def test_segment_analytics_js(browser, live_server, project, ingest_key):
    _open(browser, live_server, "segment", ingest_key)
    rows = _wait_for_events(project.pk, {"$pageview", "Clicked Buy", "$identify", "Purchased"})
    assert {"$pageview", "Clicked Buy", "$identify", "Purchased"} <= set(_names(rows)), _names(rows)
    by_name = {row["event_name"]: row for row in rows}
    # analytics.js replays calls made before it loaded; every message carries the anonymous id.
    anonymous = by_name["$identify"]["properties"]["$anon_distinct_id"]
    assert by_name["Clicked Buy"]["properties"]["$anonymous_id"] == anonymous
    assert by_name["Clicked Buy"]["properties"]["price"] == 5 and by_name["Clicked Buy"]["source"] == "segment"
    assert by_name["Purchased"]["user_id"] == "seg-user"
    person = person_get(project_id=project.pk, distinct_id="seg-user")
    assert person["distinct_ids"] == sorted([anonymous, "seg-user"])
    assert person["properties"] == {"name": "Ada"}
    _only_local_resources(browser, live_server)


def test_first_party_tracker(browser, live_server, project, ingest_key):
    _open_from_elsewhere(browser, live_server, "tracker", ingest_key, UTM)
    rows = _wait_for_events(project.pk, {"$pageview", "clicked_buy", "$identify", "purchase"})
    by_name = {row["event_name"]: row for row in rows}
    # Derived at capture from the user agent, the page, its referrer and its UTM parameters.
    assert _web(by_name["$pageview"]) == {
        **dict.fromkeys(WEB_COLUMNS),
        "browser": "Chrome",
        "browser_version": "156",
        "os": "Linux",
        "device_type": "desktop",
        "host": "localhost",
        "pathname": "/test-pages/tracker",
        "referrer_host": "127.0.0.1",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "launch",
        "channel": "Email",
    }
    cookie = browser.get_cookie("eb_aid")["value"]
    assert by_name["$pageview"]["user_id"] == cookie == by_name["clicked_buy"]["user_id"]
    assert by_name["$pageview"]["properties"]["$pathname"] == "/test-pages/tracker"
    assert by_name["clicked_buy"]["properties"]["price"] == 5
    assert by_name["purchase"]["user_id"] == "t-user"
    person = person_get(project_id=project.pk, distinct_id="t-user")
    assert person["distinct_ids"] == sorted([cookie, "t-user"]) and person["properties"] == {"email": "t@example.com"}
    _only_local_resources(browser, live_server)

    # Leaving the page right after an event: the queue goes out with sendBeacon on pagehide.
    browser.execute_script(
        "eventbase.track('left_page');"
        "window.__beacon = navigator.sendBeacon.bind(navigator);"
        "navigator.sendBeacon = (u, d) => { localStorage.setItem('beacon', u); return window.__beacon(u, d); };"
        "location.href = '/test-pages/blank';"
    )
    rows = _wait_for_events(project.pk, {"left_page"})
    assert "left_page" in _names(rows)
    assert "/api/v1/events?key=" in browser.execute_script("return localStorage.getItem('beacon')")
    # The anonymous id is a first-party cookie: the next page load keeps it.
    _open(browser, live_server, "tracker", ingest_key)
    assert browser.get_cookie("eb_aid")["value"] == cookie


def test_first_party_tracker_cookieless(browser, live_server, project, ingest_key):
    project.cookieless = True
    project.save(update_fields=["cookieless"])
    _open(browser, live_server, "tracker-cookieless", ingest_key)
    rows = _wait_for_events(project.pk, {"$pageview", "clicked_buy"})
    assert browser.get_cookies() == []  # nothing stored in the browser
    ids = {row["user_id"] for row in rows}
    assert len(ids) == 1 and all(row["is_anonymous"] for row in rows)  # one visitor, the server's id
    # Another page load the same day is the same visitor, though the browser keeps nothing.
    _open(browser, live_server, "tracker-cookieless", ingest_key)
    deadline = time.monotonic() + WAIT_SECONDS
    while len(rows := stored(project.pk)) < 4 and time.monotonic() < deadline:
        drain(seconds=5)
    assert len(rows) == 4 and {row["user_id"] for row in rows} == ids


def test_headless_chromium_is_a_crawler(tmp_path, monkeypatch, live_server, project, ingest_key):
    """Its own user agent says HeadlessChrome: its events are not stored, and counted as bot."""
    from ingestion.ledger import ledger_sync
    from ingestion.models import IngestionLedger

    with headless_chromium(tmp_path / "profile", monkeypatch) as driver:
        _open(driver, live_server, "tracker", ingest_key)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            ledger_sync()
            if sum(row.bot for row in IngestionLedger.objects.filter(project=project)) >= 4:
                break
            time.sleep(0.2)
    drain(seconds=5)
    assert sum(row.bot for row in IngestionLedger.objects.filter(project=project)) >= 4
    assert stored(project.pk) == []

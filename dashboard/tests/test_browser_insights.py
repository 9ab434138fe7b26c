"""The default dashboard, saved insights and share links in a real Chromium (issue 17):

(a) a viewer sees the project's default dashboard drawn, with no control that writes;
(b) an editor builds a trend, saves it as an insight (the range's preset stays relative), finds it
    as a tile, renames and moves it; the API holds what the page did;
(c) the editor makes a share link in the share dialog;
(d) a fresh browser (no cookies, no account) opens the link and the embed page, which show the
    numbers the shared API answers, and another origin frames the embed page.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from config.browser_testing import WAIT_SECONDS, headless_chromium
from dashboard.tests.browser_support import PASSWORD, lines_expected, no_console_errors, open_page, screenshot
from dashboard.tests.demo_data import FUNNEL
from projects.models import ProjectMembership, ProjectRole

pytestmark = pytest.mark.django_db(transaction=True)

EVENT = "signup"
NEW_NAME = "Signups per day"
WRITE_CONTROLS = ", ".join(
    (
        "[data-action=save-insight]",
        "[data-action=rename-board]",
        "[data-action=share-board]",
        "[data-role=tile-controls]",
        "#share-dialog",
    )
)

# A tile's state, read in one script: [[kind, name, state], …] in the grid's order.
TILES = (
    "const root = document.querySelector(arguments[0]);"
    "return root ? [...root.querySelectorAll('[data-role=tile]')].map(t => "
    "[t.dataset.kind, t.querySelector('[data-role=tile-name]').textContent, t.dataset.state || '']) : null;"
)
# A trends tile's values table as {label: [texts]}, and a table tile's rows as [[cells]].
TREND_TABLE = (
    "const t = document.querySelector(`${arguments[0]} [data-kind=trends] [data-role=table]`);"
    "if (!t) return null;"
    "const heads = [...t.querySelectorAll('thead th')].slice(1).map(h => h.textContent);"
    "const rows = [...t.querySelectorAll('tbody tr')].map(r => [...r.querySelectorAll('td')].map(c => c.textContent));"
    "const dates = [...t.querySelectorAll('tbody th')].map(h => h.textContent);"
    "return [dates, heads.map((h, i) => [h, rows.map(r => r[i])])];"
)
TOP_TABLE = (
    "return [...document.querySelectorAll(`${arguments[0]} [data-kind='top-events'] tbody tr`)]"
    ".map(r => [...r.children].map(c => c.textContent));"
)


def _still(driver: Any) -> None:
    """Charts drawn at once (no animation), so a screenshot shows the final bars and lines."""
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}
    )


def _member(project: Any, name: str, role: str) -> User:
    user = User.objects.create_user(name, password=PASSWORD)
    ProjectMembership.objects.create(project=project, user=user, role=role)
    return user


class Api:
    """The reporting API as ``user`` (a session), or a share token's public API."""

    def __init__(self, base: str, user: User | None = None) -> None:
        self.client = Client()
        if user is not None:
            self.client.force_login(user)
        self.base = base

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(self.base + path, params)
        assert response.status_code == 200, response.content
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.client.post(self.base + path, json.dumps(body), content_type="application/json")
        assert response.status_code in (200, 201), response.content
        return response.json()


def _tiles(driver: Any, root: str) -> list[list[str]] | None:
    return driver.execute_script(TILES, root)


def _all_drawn(driver: Any, root: str, count: int) -> bool:
    tiles = _tiles(driver, root)
    return bool(tiles) and len(tiles) == count and all(state == "drawn" for _, _, state in tiles)


def _trend_shown(driver: Any, root: str) -> tuple[list[str], dict[str, list[float]]] | None:
    found = driver.execute_script(TREND_TABLE, root)
    if not found:
        return None
    dates, columns = found
    return dates, {label: [float(v.replace(",", "")) for v in values] for label, values in columns}


def _trend_expected(answer: dict[str, Any]) -> tuple[list[str], dict[str, list[float]]]:
    lines = lines_expected(answer)
    dates = [point["date"] for point in answer["series"][0]["data"]]
    return dates, {label: [round(v, 2) for v in values] for label, values in lines.items()}


def _top_expected(answer: dict[str, Any]) -> list[list[str]]:
    return [[row["event"], f"{row['count']:,}", f"{row['users']:,}"] for row in answer["results"]]


@pytest.fixture
def framing_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Another origin (a plain http.server on 127.0.0.1) whose page frames the embed URL."""
    site = tmp_path / "site"
    site.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", site
    server.shutdown()
    server.server_close()


def test_default_dashboard_edit_share_and_embed(
    browser, live_server, demo_project, settings, tmp_path, monkeypatch, framing_site
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = browser
    _still(driver)
    settings.PUBLIC_URL = live_server.url  # the links the share dialog shows point at this server
    editor = _member(demo_project, "dash-editor", ProjectRole.EDITOR)
    _member(demo_project, "dash-viewer", ProjectRole.VIEWER)
    api = Api(f"/api/v1/projects/{demo_project.slug}/", editor)
    page = f"/dashboard/{demo_project.slug}/"

    # A default dashboard with one insight already on it (made through the API, as any client would).
    top = api.post(
        "insights", {"name": "Top events", "kind": "top-events", "query": {"limit": 5}, "date_range": {"last_days": 30}}
    )
    board = api.post("dashboards", {"name": "Demo shop dashboard", "is_default": True})
    api.post(f"dashboards/{board['id']}/tiles", {"insight": top["id"], "width": 6, "height": 2})

    # (a) The viewer sees it drawn, with the numbers of the insight's results, and no writing control.
    wait = open_page(driver, live_server.url, page, "dash-viewer")
    wait.until(lambda d: _all_drawn(d, "#insights-board", 1), "the viewer's dashboard never drew its tile")
    top_answer = api.get(f"insights/{top['id']}/results", dashboard=board["id"])
    assert driver.execute_script(TOP_TABLE, "#insights-board") == _top_expected(top_answer["result"])
    assert driver.find_element(By.CSS_SELECTOR, "[data-role=board-name]").text == "Demo shop dashboard"
    assert driver.find_elements(By.CSS_SELECTOR, WRITE_CONTROLS) == []
    no_console_errors(driver)

    # (b) The editor builds a trend in the trends panel and saves it; it appears as a tile.
    wait = open_page(driver, live_server.url, page, "dash-editor")
    wait.until(lambda d: _all_drawn(d, "#insights-board", 1), "the editor's dashboard never drew")
    trends = driver.find_element(By.ID, "trends-panel")
    series = trends.find_element(By.NAME, "series_event")
    wait.until(lambda d: series.get_attribute("value"), "the trends panel never picked a first event")
    series.clear()
    series.send_keys(EVENT)
    trends.find_element(By.CSS_SELECTOR, "[data-action=run-trends]").click()
    wait.until(
        lambda d: (
            d.execute_script("return window.eventbaseDashboard.panels.trends.shown.lines[0]?.label") == f"A. {EVENT}"
        ),
        "the trends panel never showed the chosen event",
    )
    trends.find_element(By.CSS_SELECTOR, "[data-action=save-insight]").click()
    wait.until(lambda d: _all_drawn(d, "#insights-board", 2), "the saved insight never appeared as a tile")
    assert (
        trends.find_element(By.CSS_SELECTOR, "[data-role=saved]").text == f"Saved “Trends: {EVENT}” to the dashboard."
    )
    assert _tiles(driver, "#insights-board")[1][:2] == ["trends", f"Trends: {EVENT}"]

    # Rename the tile, then move it above the top events and make it full width.
    tile = driver.find_element(By.CSS_SELECTOR, "#insights-board [data-kind=trends]")
    tile.find_element(By.CSS_SELECTOR, "[data-action=rename-tile]").click()
    name_input = tile.find_element(By.CSS_SELECTOR, "[data-role=rename-form] input")
    name_input.clear()
    name_input.send_keys(NEW_NAME)
    tile.find_element(By.CSS_SELECTOR, "[data-role=rename-form] [type=submit]").click()
    wait.until(lambda d: _tiles(d, "#insights-board")[1][1] == NEW_NAME, "the tile never took its new name")
    tile.find_element(By.CSS_SELECTOR, "[data-action=move-up]").click()
    wait.until(lambda d: _tiles(d, "#insights-board")[0][1] == NEW_NAME, "the tile never moved up")
    Select(tile.find_element(By.NAME, "width")).select_by_value("12")
    wait.until(lambda d: "tile--w12" in tile.get_attribute("class"), "the tile never widened")

    # The API holds it: the insight with the panel's query and a range that stays relative (the
    # page's default range is the 30-day preset), first on the default dashboard, full width.
    saved = next(row for row in api.get("insights")["results"] if row["kind"] == "trends")
    assert saved["name"] == NEW_NAME
    assert saved["date_range"] == {"last_days": 30}
    assert [s["event"] for s in saved["query"]["series"]] == [EVENT]
    assert saved["query"]["interval"] == "day" and "from" not in saved["query"]
    tiles = api.get(f"dashboards/{board['id']}")["tiles"]
    assert [(t["insight"]["id"], t["width"]) for t in tiles] == [(saved["id"], 12), (top["id"], 6)]
    wait.until(lambda d: _all_drawn(d, "#insights-board", 2), "the tiles did not draw again")
    screenshot(driver, "17-dashboard-editor.png", "#insights-board")

    # (c) The editor makes a share link: its URL and snippet are shown once, the list has it.
    driver.find_element(By.CSS_SELECTOR, "[data-action=share-board]").click()
    dialog = driver.find_element(By.ID, "share-dialog")
    wait.until(lambda d: dialog.is_displayed(), "the share dialog never opened")
    dialog.find_element(By.CSS_SELECTOR, "[data-action=create-share]").click()
    url_box = dialog.find_element(By.CSS_SELECTOR, "[data-role=share-url]")
    wait.until(lambda d: url_box.get_attribute("value"), "the share dialog never showed the link")
    url = url_box.get_attribute("value")
    embed_html = dialog.find_element(By.CSS_SELECTOR, "[data-role=share-embed]").get_attribute("value")
    wait.until(lambda d: len(dialog.find_elements(By.CSS_SELECTOR, "[data-role=share-link] [data-action=revoke]")) == 1)
    assert url.startswith(f"{live_server.url}/shared/sh_")
    token = urlsplit(url).path.split("/")[2]
    embed_path = f"/embed/{token}/"
    assert f'src="{live_server.url}{embed_path}"' in embed_html
    no_console_errors(driver)

    # (d) A fresh browser, never signed in, opens the link: the same numbers as the shared API's.
    shared_api = Api(f"/api/v1/shared/{token}")
    trend_answer = shared_api.get(f"/insights/{saved['id']}/results")["result"]
    top_shared = shared_api.get(f"/insights/{top['id']}/results")["result"]
    assert trend_answer == api.get(f"insights/{saved['id']}/results", dashboard=board["id"])["result"]
    with headless_chromium(tmp_path / "fresh-profile", monkeypatch, window="1440,1000", console_log=True) as fresh:
        fresh_wait = WebDriverWait(fresh, WAIT_SECONDS)
        _still(fresh)
        assert fresh.get_cookies() == []
        fresh.get(f"{live_server.url}{urlsplit(url).path}")
        fresh_wait.until(lambda d: _all_drawn(d, "#shared-board", 2), "the shared page never drew its tiles")
        assert _tiles(fresh, "#shared-board") == [["trends", NEW_NAME, "drawn"], ["top-events", "Top events", "drawn"]]
        assert _trend_shown(fresh, "#shared-board") == _trend_expected(trend_answer)
        assert fresh.execute_script(TOP_TABLE, "#shared-board") == _top_expected(top_shared)
        header = fresh.find_element(By.CSS_SELECTOR, ".topbar").text
        assert "Shared with you" in header and demo_project.name in header
        assert fresh.find_elements(By.CSS_SELECTOR, f"a[href*='/dashboard/'], {WRITE_CONTROLS}") == []
        assert "/accounts/login/" not in fresh.current_url
        screenshot(fresh, "17-shared-dashboard.png", "body")
        no_console_errors(fresh)

        # The embed page draws the same, and it may be framed (unlike every other page).
        fresh.get(f"{live_server.url}{embed_path}")
        fresh_wait.until(lambda d: _all_drawn(d, "#shared-board", 2), "the embed page never drew its tiles")
        assert _trend_shown(fresh, "#shared-board") == _trend_expected(trend_answer)
        screenshot(fresh, "17-embed.png", "body")
        no_console_errors(fresh)

        # Another origin frames it, with the snippet the dialog gave.
        origin, site = framing_site
        (site / "frame.html").write_text(f"<!doctype html><title>Blog</title><h1>Our numbers</h1>{embed_html}")
        fresh.get(f"{origin}/frame.html")
        fresh.switch_to.frame(fresh.find_element(By.TAG_NAME, "iframe"))
        fresh_wait.until(lambda d: _all_drawn(d, "#shared-board", 2), "the framed embed page never drew")
        fresh.switch_to.default_content()

    response = Client().get(embed_path)
    assert response.status_code == 200 and "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert Client().get(urlsplit(url).path)["X-Frame-Options"] == "DENY"

    # The editor revokes the link in the dialog: the list says so and the page is gone (410).
    dialog.find_element(By.CSS_SELECTOR, "[data-role=share-link] [data-action=revoke]").click()
    wait.until(lambda d: "revoked" in dialog.find_element(By.CSS_SELECTOR, "[data-role=share-link]").text)
    assert dialog.find_elements(By.CSS_SELECTOR, "[data-action=revoke]") == []
    driver.get(url)
    assert "This share link was revoked" in driver.find_element(By.TAG_NAME, "main").text
    assert Client().get(urlsplit(url).path).status_code == 410
    assert Client().get(embed_path).status_code == 410


def test_a_shared_insight_shows_its_funnel(browser, live_server, demo_project, settings):
    """A link to one insight (not a dashboard): the page draws that insight alone, with the
    funnel's numbers as the shared API answers them."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    settings.PUBLIC_URL = live_server.url
    api = Api(f"/api/v1/projects/{demo_project.slug}/", _member(demo_project, "funnel-editor", ProjectRole.EDITOR))
    query = {"steps": list(FUNNEL[:3]), "window_hours": 72}
    insight = api.post("insights", {"name": "Activation", "kind": "funnels", "query": query})
    link = api.post(f"insights/{insight['id']}/share", {})
    answer = Api(f"/api/v1/shared/{link['token']}").get(f"/insights/{insight['id']}/results")["result"]
    assert answer["results"][0]["users"] > 0  # something to see

    driver.get(f"{live_server.url}/shared/{link['token']}/")
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: _all_drawn(d, "#shared-board", 1), "the insight never drew")
    assert _tiles(driver, "#shared-board") == [["funnels", "Activation", "drawn"]]
    steps = driver.execute_script(
        "return [...document.querySelectorAll('#shared-board [data-kind=funnels] tbody tr')]"
        ".map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent]);"
    )
    assert steps == [[f"{i + 1}. {row['event']}", f"{row['users']:,}"] for i, row in enumerate(answer["results"])]
    assert driver.find_element(By.CSS_SELECTOR, "[data-role=board-name]").text == "Activation"
    no_console_errors(driver)


# kind -> (query, the rows its tile's first table shows, from the result: [[cells], …] with
# numbers as numbers). Each kind's drawing is the panels' own (tile-charts.js).
EVERY_KIND = {
    "trends": ({"series": [{"event": "signup"}], "interval": "week"}, None),
    "funnels": (
        {"steps": list(FUNNEL[:3]), "window_hours": 24},
        lambda r: [[f"{i + 1}. {s['event']}", s["users"]] for i, s in enumerate(r["results"])],
    ),
    "retention": ({"period": "week"}, lambda r: [[c["start_date"], c["cohort_size"]] for c in r["results"]]),
    "stickiness": (
        {"event": "pageview", "interval": "day"},
        lambda r: [[x["intervals"], x["persons"]] for x in r["results"]],
    ),
    "lifecycle": (
        {"event": "signup", "interval": "week"},
        lambda r: [[x["date"], x["new"], x["returning"], x["resurrecting"], x["dormant"]] for x in r["results"]],
    ),
    "paths": (
        {"event_types": ["custom"], "steps": 3},
        lambda r: [[f"{e['source_step']}. {e['source']} → {e['target']}", e["users"]] for e in r["edges"]],
    ),
    "active-users": ({"interval": "day"}, lambda r: [[x["date"], x["users"]] for x in r["results"]]),
    "top-events": ({"limit": 5}, lambda r: [[x["event"], x["count"], x["users"]] for x in r["results"]]),
    "sessions": ({}, lambda r: [[x["date"], x["sessions"]] for x in r["results"]]),
    "web": (
        {"limit": 5},
        lambda r: [["Visitors", r["visitors"]], ["Pageviews", r["pageviews"]], ["Visits", r["visits"]]],
    ),
}
NULL_SHOWN = "\u2013"
FIRST_TABLE = (
    "const rows = (t) => [...(t.querySelector('table tbody')?.querySelectorAll('tr') || [])];"
    "return [...document.querySelectorAll('#insights-board [data-role=tile]')]"
    ".map(t => [t.dataset.kind, rows(t).map(r => [...r.children].map(c => c.textContent))]);"
)


def _cells(row: list[str], width: int) -> list[Any]:
    out: list[Any] = []
    for text in row[:width]:
        digits = text.replace(",", "")
        # An en dash is how a tile shows a number the answer leaves null (format.js).
        out.append(int(digits) if digits.lstrip("-").isdigit() else None if text == NULL_SHOWN else text)
    return out


def test_every_kind_draws_on_the_dashboard(browser, live_server, demo_project):
    """One insight of every kind on the default dashboard: each tile draws, its table holds the
    results' numbers, and the page logs no error."""
    driver = browser
    _member(demo_project, "kinds-viewer", ProjectRole.VIEWER)
    api = Api(f"/api/v1/projects/{demo_project.slug}/", _member(demo_project, "kinds-editor", ProjectRole.EDITOR))
    board = api.post("dashboards", {"name": "Every kind", "is_default": True})
    ids = {}
    for kind, (query, _) in EVERY_KIND.items():
        insight = api.post("insights", {"name": kind, "kind": kind, "query": query, "date_range": {"last_days": 30}})
        api.post(f"dashboards/{board['id']}/tiles", {"insight": insight["id"], "width": 4, "height": 2})
        ids[kind] = insight["id"]

    wait = open_page(driver, live_server.url, f"/dashboard/{demo_project.slug}/", "kinds-viewer")
    wait.until(lambda d: _all_drawn(d, "#insights-board", len(EVERY_KIND)), "not every tile drew")
    shown = dict(driver.execute_script(FIRST_TABLE))
    for kind, (_, expected_rows) in EVERY_KIND.items():
        result = api.get(f"insights/{ids[kind]}/results", dashboard=board["id"])["result"]
        if expected_rows is None:  # trends: its dates and lines, as the shared page's check
            assert _trend_shown(driver, "#insights-board") == _trend_expected(result)
            continue
        expected = expected_rows(result)
        assert expected, f"{kind} has nothing to show in the demo data"
        rows = shown[kind][: len(expected)] if kind == "web" else shown[kind]  # (web: its first three numbers)
        assert [_cells(row, len(expected[0])) for row in rows] == expected, kind
    screenshot(driver, "17-every-kind.png", "#insights-board")
    no_console_errors(driver)

"""Headless Chromium for the browser tests: Debian's chromium and chromedriver, nothing downloaded.

Shared by the dashboard's and the SDKs' browser tests. Any host but the live server's resolves to
nothing, so a page or an SDK reaching out to the internet fails loudly instead of hanging.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_SECONDS = 20


@contextlib.contextmanager
def headless_chromium(
    profile_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    window: str = "1280,900",
    console_log: bool = False,
    user_agent: str | None = None,
) -> Iterator[object]:
    """A Selenium driver for a fresh headless Chromium; skips the test where chromium is missing.

    ``user_agent`` replaces Chromium's own, which says "HeadlessChrome" and so is a crawler to the
    capture's bot filter (ingestion.enrichment), as it is to the SDKs' own filters."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (see .ci/run)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={window}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile_dir}",
    ):
        options.add_argument(flag)
    if user_agent:
        options.add_argument(f"--user-agent={user_agent}")
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()

"""A website's traffic for the Web tab's tests: page views with the web columns set directly.

Enrichment at capture is not under test here, so the derived columns (country, device, browser,
pathname, referrer, UTM, channel) are written as the flush would store them, through the
analytics test factories, and the rollups are built. Visitors come over the last seven weeks (so
the default 30 days and the period before both have visits), a few are on the site right now
(live), and one crawler's page view is stored flagged as a bot (the overview leaves it out).
"""

from __future__ import annotations

import datetime as dt
import random

from analytics.rollups import rollups_process_dirty
from analytics.tests.factories import RawEvent, events_delete, events_insert, touched_days
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset

PAGEVIEW = "$pageview"
HOST = "shop.example"
COUNTRIES = ("DE", "DE", "DE", "US", "US", "FR", "JP", "BR", "IN", None)
DEVICES = (
    ("desktop", "Chrome", "Windows"),
    ("desktop", "Chrome", "Windows"),
    ("desktop", "Firefox", "Linux"),
    ("desktop", "Safari", "macOS"),
    ("mobile", "Safari", "iOS"),
    ("mobile", "Chrome", "Android"),
    ("tablet", "Safari", "iPadOS"),
)
# (referrer host, channel, utm source, utm campaign) of a visit's entry.
SOURCES = (
    (None, "Direct", None, None),
    (None, "Direct", None, None),
    ("google.com", "Organic Search", None, None),
    ("google.com", "Organic Search", None, None),
    ("news.ycombinator.com", "Referral", None, None),
    ("t.co", "Organic Social", None, None),
    (None, "Email", "newsletter", "spring-sale"),
    ("google.com", "Paid Search", "google", "brand"),
)
ENTRIES = ("/", "/", "/pricing", "/blog/launch", "/docs")
NEXT_PAGES = ("/pricing", "/docs", "/checkout/cart", "/checkout/pay", "/about")


def web_events_insert(*, project_id: int, visitors: int = 45, days: int = 50, seed: int = 15) -> int:
    """Insert the visits (one session id each) and return the number of rows."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    events: list[RawEvent] = []

    def visit(user: str, session: str, start: dt.datetime, where: dict, pages: list[str], signup: bool) -> None:
        referrer, channel, utm_source, utm_campaign = rng.choice(SOURCES)
        source = {"referrer_host": referrer, "channel": channel, "utm_source": utm_source, "utm_campaign": utm_campaign}
        at = start
        for path in pages:
            web = {**where, **source, "host": HOST, "pathname": path}
            events.append(RawEvent(project_id, PAGEVIEW, user, at, session_id=session, web=web))
            at += dt.timedelta(seconds=rng.randint(10, 240))
        if signup:
            plan = {"plan": rng.choice(("free", "pro"))}
            web = {**where, "host": HOST}
            events.append(RawEvent(project_id, "signup", user, at, session_id=session, properties=plan, web=web))

    for n in range(visitors):
        user = f"visitor-{n:03d}"
        country = rng.choice(COUNTRIES)
        device, browser, os_name = rng.choice(DEVICES)
        where = {"country": country, "device_type": device, "browser": browser, "os": os_name}
        for k in range(rng.randint(1, 3)):
            start = now - dt.timedelta(days=rng.randint(0, days - 1), minutes=rng.randint(30, 900))
            pages = [rng.choice(ENTRIES), *rng.sample(NEXT_PAGES, rng.choice((0, 0, 1, 2, 3)))]
            visit(user, f"{user}-{k}", start, where, pages, signup=rng.random() < 0.2)
    for n in range(4):  # on the site right now
        user = f"visitor-{n:03d}"
        start = now - dt.timedelta(seconds=40 + 45 * n)
        where = {"country": ("DE", "US", "JP", "DE")[n], "device_type": "desktop", "browser": "Chrome", "os": "Windows"}
        visit(user, f"{user}-live", start, where, [("/", "/pricing")[n % 2]], signup=False)
    crawler = {"device_type": "bot", "browser": "Googlebot", "os": None, "country": "US", "host": HOST, "pathname": "/"}
    events.append(RawEvent(project_id, PAGEVIEW, "crawler", now - dt.timedelta(hours=3), session_id="bot", web=crawler))
    stored = events_insert(events)
    # The rollups and the taxonomy, as the flusher and the rollup job would build them: the
    # Reports page (where a filter carries to) checks event names against the taxonomy.
    rollups_mark_dirty(touched=touched_days(events))
    rollups_process_dirty()
    return stored


def web_events_delete(*, project_id: int) -> None:
    """``events`` is unmanaged, so a transactional test's flush leaves it."""
    duckdb_reset()  # the overview reads through DuckDB; do not keep its connection across tests
    events_delete([project_id])

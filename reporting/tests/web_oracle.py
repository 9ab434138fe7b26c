"""The web overview computed naively in plain Python, and generated web traffic to compare it on.

Applies the definitions of analytics/query/web.py literally, event by event: no SQL, no window
functions, so a mistake in the one-pass query shows up as a mismatch.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import zoneinfo
from collections import defaultdict
from collections.abc import Callable

from analytics.tests.factories import RawEvent

PAGEVIEW = "$pageview"
NONE, DIRECT = "(none)", "Direct / None"

PATHS = ["/", "/pricing", "/docs", "/docs/start", "/blog/a", "/blog/b", "/checkout/cart", "/checkout/done", None]
SOURCES = [  # (referrer_host, channel, utm_source, utm_campaign)
    (None, "Direct", None, None),
    ("www.google.com", "Organic Search", None, None),
    ("news.ycombinator.com", "Referral", None, None),
    ("t.co", "Organic Social", "twitter", "launch"),
    (None, "Email", "newsletter", "spring"),
    ("www.bing.com", "Paid Search", "bing", None),
    (None, None, None, None),
]
DEVICES = [
    ("desktop", "Chrome", "Windows"),
    ("mobile", "Safari", "iOS"),
    ("tablet", "Chrome", "Android"),
    ("desktop", "Firefox", "Linux"),
    (None, None, None),
]
COUNTRIES = ["US", "DE", "IN", "BR", "JP", None]
PAGEVIEW_LISTS = [("pages", "pathname"), ("countries", "country"), ("devices", "device_type"), ("browsers", "browser")]
PAGEVIEW_LISTS += [("os", "os")]
SOURCE_LISTS = [("referrers", "referrer_host", DIRECT), ("channels", "channel", NONE)]
SOURCE_LISTS += [("utm_sources", "utm_source", None), ("utm_campaigns", "utm_campaign", None)]


def generate(*, project_id: int, tz: zoneinfo.ZoneInfo, first: dt.date, days: int, users: int, seed: int):
    """Visits of 1-6 pageviews (sometimes other events, sometimes none but a signup), crawlers,
    pageviews without a session, ties in time; the web columns set as enrichment would."""
    rng = random.Random(seed)
    out: list[RawEvent] = []
    for u in range(users):
        user_id = f"w{project_id}-{u}"
        bot = rng.random() < 0.08
        device, browser, os_name = ("bot", "Googlebot", None) if bot else rng.choice(DEVICES)
        country = rng.choice(COUNTRIES)
        for d in sorted(rng.sample(range(days), rng.randint(1, min(days, 6)))):
            day = first + dt.timedelta(days=d)
            for visit in range(rng.randint(1, 2)):
                session = f"v{project_id}-{u}-{d}-{visit}" if rng.random() > 0.05 else None
                t = dt.datetime.combine(day, dt.time(), tzinfo=tz) + dt.timedelta(seconds=rng.randrange(86_000))
                referrer, channel, utm_source, utm_campaign = rng.choice(SOURCES)
                web = {"device_type": device, "browser": browser, "os": os_name, "country": country, "host": "ex.com"}
                entry = {
                    "referrer_host": referrer,
                    "channel": channel,
                    "utm_source": utm_source,
                    "utm_campaign": utm_campaign,
                }
                for i in range(rng.choice([0, 1, 1, 2, 3, 6])):
                    path = rng.choice(PATHS)
                    pv_web = {**web, "pathname": path, **(entry if i == 0 else {"channel": channel})}
                    out.append(_ev(project_id, PAGEVIEW, user_id, t, session, {"path": path}, pv_web, rng))
                    if rng.random() < 0.1:  # a second event at the very same instant
                        out.append(_ev(project_id, PAGEVIEW, user_id, out[-1].timestamp, session, {}, pv_web, rng))
                    t += dt.timedelta(seconds=rng.randint(1, 300))
                if rng.random() < 0.35:
                    props = {"plan": rng.choice(["pro", "free"]), "amount": rng.choice([5, 50, "x"])}
                    out.append(_ev(project_id, "signup", user_id, t, session, props, web, rng))
    return out


def _ev(project_id, name, user_id, t, session, props, web, rng) -> RawEvent:
    return RawEvent(
        project_id=project_id,
        event_name=name,
        user_id=user_id,
        timestamp=t.astimezone(dt.UTC).replace(microsecond=rng.randrange(1_000_000)),
        source="web",
        session_id=session,
        properties=props,
        web=dict(web),
    )


def _glob(path: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in path.split("*")))


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _secs(total_us: int, n: int) -> float:
    return round(total_us / n / 1e6, 1) if n else 0.0


def _us(delta: dt.timedelta) -> int:
    return delta // dt.timedelta(microseconds=1)


def numbers(events: list[RawEvent], tz, first: dt.date, last: dt.date, keep: Callable[[RawEvent], bool]) -> dict:
    return overview(events, tz, first, last, keep, goals=[], limit=20)["numbers"]


def overview(events, tz, first, last, keep, *, goals: list[dict], limit: int) -> dict:
    """``keep``: the request's filters, as a function of an event. Goals: the API's definitions."""
    rows = [
        e
        for e in events
        if first <= e.timestamp.astimezone(tz).date() <= last and e.web.get("device_type") != "bot" and keep(e)
    ]
    pageviews = [e for e in rows if e.event_name == PAGEVIEW]
    visits: dict[str, list[RawEvent]] = defaultdict(list)
    for e in rows:
        visits[e.session_id if e.session_id is not None else f"event:{e.event_id}"].append(e)
    order = lambda e: (e.timestamp, str(e.event_id))  # noqa: E731
    visit_rows = []
    for evs in visits.values():
        evs.sort(key=order)
        pvs = [e for e in evs if e.event_name == PAGEVIEW]
        if not pvs:
            continue
        span = _us(evs[-1].timestamp - evs[0].timestamp)
        visit_rows.append({"pvs": pvs, "events": evs, "span": span, "bounce": len(pvs) == 1 and len(evs) == 1})
    visitors = {e.user_id for e in pageviews}
    out_numbers = {
        "visitors": len(visitors),
        "pageviews": len(pageviews),
        "visits": len(visit_rows),
        "views_per_visit": round(len(pageviews) / len(visit_rows), 2) if visit_rows else 0.0,
        "bounce_rate": _pct(sum(v["bounce"] for v in visit_rows), len(visit_rows)),
        "visit_duration_seconds": _secs(sum(v["span"] for v in visit_rows), len(visit_rows)),
    }
    series = defaultdict(lambda: [set(), 0])
    for e in pageviews:
        cell = series[e.timestamp.astimezone(tz).date()]
        cell[0].add(e.user_id)
        cell[1] += 1
    days, day = [], first
    while day <= last:
        days.append({"date": day.isoformat(), "visitors": len(series[day][0]), "pageviews": series[day][1]})
        day += dt.timedelta(days=1)

    def top(groups: dict[str, tuple[set, int]]) -> list[dict]:
        ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1][0]), kv[0]))[:limit]
        return [{"value": value, "visitors": len(people), "pageviews": n} for value, (people, n) in ranked]

    lists: dict[str, list[dict]] = {}
    for name, column in PAGEVIEW_LISTS:
        groups: dict = defaultdict(lambda: [set(), 0])
        for e in pageviews:
            cell = groups[e.web.get(column) or NONE]
            cell[0].add(e.user_id)
            cell[1] += 1
        lists[name] = top(groups)
    for name, pick in (("entry_pages", lambda v: v["pvs"][0]), ("exit_pages", lambda v: v["pvs"][-1])):
        groups = defaultdict(lambda: [set(), 0])
        for v in visit_rows:
            cell = groups[pick(v).web.get("pathname") or NONE]
            cell[0].add(v["pvs"][0].user_id)
            cell[1] += 1
        lists[name] = top(groups)
    for name, column, missing in SOURCE_LISTS:
        groups = defaultdict(lambda: [set(), 0])
        for v in visit_rows:
            value = v["pvs"][0].web.get(column) or missing
            if value is None:
                continue
            groups[value][0].add(v["pvs"][0].user_id)
            groups[value][1] += len(v["pvs"])
        lists[name] = top(groups)
    # Pages: bounce rate of the visits entering there, time to the next pageview of the visit.
    entered = defaultdict(lambda: [0, 0])
    gaps = defaultdict(list)
    for v in visit_rows:
        cell = entered[v["pvs"][0].web.get("pathname") or NONE]
        cell[0] += 1
        cell[1] += v["bounce"]
        for a, b in zip(v["pvs"], v["pvs"][1:], strict=False):
            gaps[a.web.get("pathname") or NONE].append(_us(b.timestamp - a.timestamp))
    for row in lists["pages"]:
        n, bounces = entered.get(row["value"], (0, 0))
        row["bounce_rate"] = _pct(bounces, n) if n else None
        g = gaps.get(row["value"], [])
        row["avg_time_on_page_seconds"] = _secs(sum(g), len(g)) if g else None
    goal_rows = []
    for goal in goals:
        if goal["kind"] == "pageview":
            pattern = _glob(goal["path"])
            hits = [
                e
                for e in rows
                if e.event_name == PAGEVIEW
                and e.web.get("pathname") is not None
                and pattern.fullmatch(e.web["pathname"])
            ]
        else:
            hits = [e for e in rows if e.event_name == goal["event"] and goal["match"](e)]
        hits = [e for e in hits if e.user_id in visitors]
        people = {e.user_id for e in hits}
        goal_rows.append(
            {
                "goal_id": goal["id"],
                "name": goal["name"],
                "visitors": len(people),
                "conversions": len(hits),
                "conversion_rate": _pct(len(people), len(visitors)),
            }
        )
    return {"numbers": out_numbers, "series": days, **lists, "goals": goal_rows}

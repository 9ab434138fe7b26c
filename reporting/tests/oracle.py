"""An independent computation of every report, in plain Python over the generated rows.

Deliberately naive: no rollups, no bitmaps, no SQL; each function re-reads the list of events and
applies the API's definitions literally, so a mistake in the fast paths shows up as a mismatch.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections import Counter, defaultdict

from analytics.tests.factories import RawEvent

OTHER, NONE = "other", "(none)"


def local_day(e: RawEvent, tz: zoneinfo.ZoneInfo) -> dt.date:
    return e.timestamp.astimezone(tz).date()


def in_range(events, tz, first: dt.date, last: dt.date) -> list[RawEvent]:
    return [e for e in events if first <= local_day(e, tz) <= last]


def bucket(day: dt.date, interval: str) -> dt.date:
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def buckets(first: dt.date, last: dt.date, interval: str) -> list[dt.date]:
    out: list[dt.date] = []
    day = first
    while day <= last:
        b = bucket(day, interval)
        if b not in out:
            out.append(b)
        day += dt.timedelta(days=1)
    return out


def active_users(events, tz, first, last, interval) -> list[dict]:
    users = defaultdict(set)
    for e in in_range(events, tz, first, last):
        users[bucket(local_day(e, tz), interval)].add(e.user_id)
    return [{"date": b.isoformat(), "users": len(users[b])} for b in buckets(first, last, interval)]


def top_events(events, tz, first, last, limit) -> list[dict]:
    counts, users = Counter(), defaultdict(set)
    for e in in_range(events, tz, first, last):
        counts[e.event_name] += 1
        users[e.event_name].add(e.user_id)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"event": name, "count": n, "users": len(users[name])} for name, n in ranked]


def _hour_key(e: RawEvent, tz) -> str:
    return e.timestamp.astimezone(tz).replace(minute=0, second=0, microsecond=0).isoformat()


def _hours(first, last, tz) -> list[str]:
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    out = []
    while start < end:
        out.append(start.astimezone(tz).isoformat())
        start += dt.timedelta(hours=1)
    return out


def trends(events, tz, event, first, last, interval, math, breakdown=None) -> list[dict]:
    rows = [e for e in in_range(events, tz, first, last) if e.event_name == event]
    if interval == "hour":
        keys, key_of = _hours(first, last, tz), lambda e: _hour_key(e, tz)
    else:
        keys = [b.isoformat() for b in buckets(first, last, interval)]
        key_of = lambda e: bucket(local_day(e, tz), interval).isoformat()  # noqa: E731

    def measure(subset) -> dict[str, int]:
        acc = defaultdict(set if math == "users" else list)
        for e in subset:
            (acc[key_of(e)].add if math == "users" else acc[key_of(e)].append)(e.user_id if math == "users" else 1)
        return {k: len(v) for k, v in acc.items()}

    if not breakdown:
        data = measure(rows)
        return [{"label": event, "data": [{"date": k, "value": data.get(k, 0)} for k in keys]}]

    def value(e):
        v = e.properties.get(breakdown)
        if v is None:
            return None
        if isinstance(v, str):
            return v
        return str(v).lower() if isinstance(v, bool) else str(v)

    by_value = defaultdict(list)
    for e in rows:
        by_value[value(e)].append(e)
    rank = {v: (len({e.user_id for e in es}) if math == "users" else len(es)) for v, es in by_value.items()}
    top = sorted(rank, key=lambda v: (-rank[v], v is None, v or ""))[:10]
    labelled = defaultdict(list)
    for v, es in by_value.items():
        label = (NONE if v is None else v) if v in top else OTHER
        labelled[label].extend(es)
    series = []
    for label, es in labelled.items():
        data = measure(es)
        series.append((label, data))
    series.sort(key=lambda item: (item[0] == OTHER, -sum(item[1].values()), item[0]))
    return [{"label": label, "data": [{"date": k, "value": d.get(k, 0)} for k in keys]} for label, d in series]


def funnel(events, tz, steps, first, last, window_hours, *, distinct_events=False) -> list[int]:
    """Per user: is there a step-1 occurrence followed, in order, by steps 2..k within the window?

    A step is an event name, or a function of an event saying whether it is that step. With
    ``distinct_events`` (steps repeat an event name) each step is a later event than the previous
    step's in (timestamp, event id) order; else one at the same time or later."""
    window = dt.timedelta(hours=window_hours)
    matchers = [step if callable(step) else (lambda e, name=step: e.event_name == name) for step in steps]
    by_user = defaultdict(list)
    for e in in_range(events, tz, first, last):
        if any(match(e) for match in matchers):
            by_user[e.user_id].append(e)
    reached = [0] * len(steps)
    for evs in by_user.values():
        evs.sort(key=lambda e: (e.timestamp, str(e.event_id)))
        best = 0
        for i0, start in enumerate(evs):
            if not matchers[0](start):
                continue
            depth, at = 1, i0
            for match in matchers[1:]:
                nxt = [
                    j
                    for j, e in enumerate(evs)
                    if match(e) and (j > at if distinct_events else evs[at].timestamp <= e.timestamp)
                ]
                if not nxt or min(evs[j].timestamp for j in nxt) > start.timestamp + window:
                    break
                depth, at = depth + 1, min(nxt, key=lambda j: (evs[j].timestamp, j))
            best = max(best, depth)
        for k in range(best):
            reached[k] += 1
    return reached


def first_seen_day(events, tz) -> dict[str, dt.date]:
    out: dict[str, dt.date] = {}
    for e in events:
        d = local_day(e, tz)
        if e.user_id not in out or d < out[e.user_id]:
            out[e.user_id] = d
    return out


def cohort_table(
    events, tz, starts: list[dt.date], periods: int, period: str, last_day: dt.date, start=None, returns=None
) -> list[dict]:
    """``start``/``returns``: functions of an event saying whether it starts a cohort / is a return."""
    step = 7 if period == "week" else 1
    first = first_seen_day([e for e in events if start is None or start(e)], tz)
    active = defaultdict(set)
    for e in events:
        if returns is None or returns(e):
            active[local_day(e, tz)].add(e.user_id)
    out = []
    for start in starts:
        cohort = {u for u, d in first.items() if start <= d < start + dt.timedelta(days=step)}
        retention = []
        for k in range(periods + 1):
            p_start = start + dt.timedelta(days=k * step)
            if p_start > last_day:
                break
            days = [p_start + dt.timedelta(days=i) for i in range(step) if p_start + dt.timedelta(days=i) <= last_day]
            seen = set().union(*(active[d] for d in days)) & cohort
            rate = round(100.0 * len(seen) / len(cohort), 2) if cohort else 0.0
            retention.append(
                {
                    "period": k,
                    "start": p_start.isoformat(),
                    "retained_users": len(seen),
                    "retention_rate": rate,
                }
            )
        out.append({"start_date": start.isoformat(), "cohort_size": len(cohort), "retention": retention})
    return out


def sessions(events, tz, first, last) -> list[dict]:
    by_session = defaultdict(list)
    for e in in_range(events, tz, first, last):
        if e.session_id is not None:
            by_session[e.session_id].append(e.timestamp)
    per_day = defaultdict(list)
    for stamps in by_session.values():
        per_day[min(stamps).astimezone(tz).date()].append(((max(stamps) - min(stamps)).total_seconds(), len(stamps)))
    out = []
    day = first
    while day <= last:
        rows = per_day.get(day, [])
        n = len(rows)
        out.append(
            {
                "date": day.isoformat(),
                "sessions": n,
                "avg_duration_seconds": round(sum(r[0] for r in rows) / n, 3) if n else 0.0,
                "avg_events_per_session": round(sum(r[1] for r in rows) / n, 3) if n else 0.0,
            }
        )
        day += dt.timedelta(days=1)
    return out


# --- Generated data ---------------------------------------------------------------------------

PATHS = ["/", "/pricing", "/docs", "/blog", "/about", "/signup", "/login", "/a", "/b", "/c", "/d", "/e"]


def generate(
    *, project_id: int, tz: zoneinfo.ZoneInfo, first: dt.date, days: int, users: int, seed: int
) -> list[RawEvent]:
    """Users who arrive over the period and come back less and less, with a signup->purchase path."""
    rng = random.Random(seed)
    out: list[RawEvent] = []
    for u in range(users):
        user_id = f"u{project_id}-{u}"
        arrival = rng.randrange(days)
        stay = 0.8
        for d in range(arrival, days):
            if d > arrival and rng.random() > stay:
                continue
            stay *= 0.85
            day = first + dt.timedelta(days=d)
            session = f"s{project_id}-{u}-{d}"
            # Any second of the local day, so both local midnights and UTC midnight get crossed.
            t = dt.datetime.combine(day, dt.time(), tzinfo=tz) + dt.timedelta(seconds=rng.randrange(86_000))
            for _ in range(rng.randint(1, 6)):
                props = {"path": rng.choice(PATHS)} if rng.random() < 0.9 else {}
                if rng.random() < 0.2:
                    props["n"] = rng.choice([1, 2, True])
                out.append(_ev(project_id, "pageview", user_id, t, session, props, rng))
                t += dt.timedelta(seconds=rng.randint(1, 400))
            if rng.random() < 0.5:
                out.append(_ev(project_id, "signup", user_id, t, session, {"plan": rng.choice("abc")}, rng))
                if rng.random() < 0.6:
                    t += dt.timedelta(hours=rng.choice([1, 5, 30]))
                    out.append(_ev(project_id, "purchase", user_id, t, None, {"plan": rng.choice("ab")}, rng))
    return out


def _ev(project_id, name, user_id, t, session, props, rng) -> RawEvent:
    return RawEvent(
        project_id=project_id,
        event_name=name,
        user_id=user_id,
        timestamp=t.astimezone(dt.UTC).replace(microsecond=rng.randrange(1_000_000)),
        source=rng.choice(["web", "ios"]),
        session_id=session,
        properties=props,
    )

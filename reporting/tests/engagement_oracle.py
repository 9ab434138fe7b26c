"""Stickiness and lifecycle in plain Python over the generated rows, by the README's definitions.

``person_of`` maps an id to its person (the test's own merges), ``keep`` says whether an event
matches the filters. Intervals come from oracle.bucket: the calendar, not the report's integers.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Callable

from analytics.tests.factories import RawEvent
from reporting.tests.oracle import bucket, buckets, local_day

PersonOf = Callable[[str], str]
Keep = Callable[[RawEvent], bool]


def _active(events, tz, event, first, last, interval, person_of: PersonOf, keep: Keep) -> dict[dt.date, set[str]]:
    active: dict[dt.date, set[str]] = defaultdict(set)
    for e in events:
        day = local_day(e, tz)
        if e.event_name == event and first <= day <= last and keep(e):
            active[bucket(day, interval)].add(person_of(e.user_id))
    return active


def stickiness(events, tz: zoneinfo.ZoneInfo, event: str, first: dt.date, last: dt.date, interval: str,
               person_of: PersonOf, keep: Keep = lambda e: True) -> list[dict]:  # fmt: skip
    start = bucket(first, interval)  # whole intervals: the first one from its start
    per_person: dict[str, int] = defaultdict(int)
    for persons in _active(events, tz, event, start, last, interval, person_of, keep).values():
        for person in persons:
            per_person[person] += 1
    total = len(buckets(start, last, interval))
    return [{"intervals": k, "persons": sum(1 for n in per_person.values() if n == k)} for k in range(1, total + 1)]


def lifecycle(events, tz: zoneinfo.ZoneInfo, event: str, first: dt.date, last: dt.date, interval: str,
              person_of: PersonOf, keep: Keep = lambda e: True) -> list[dict]:  # fmt: skip
    start = bucket(first, interval)
    before = bucket(start - dt.timedelta(days=1), interval)
    active = _active(events, tz, event, before, last, interval, person_of, keep)
    first_event: dict[str, dt.datetime] = {}
    for e in events:  # every event, unfiltered: when the person was first seen
        person = person_of(e.user_id)
        if person not in first_event or e.timestamp < first_event[person]:
            first_event[person] = e.timestamp
    out = []
    for b in buckets(start, last, interval):
        now, prev = active.get(b, set()), active.get(bucket(b - dt.timedelta(days=1), interval), set())
        new = {p for p in now if bucket(first_event[p].astimezone(tz).date(), interval) == b}
        returning = (now - new) & prev
        resurrecting = now - new - prev
        out.append(
            {
                "date": b.isoformat(),
                "new": len(new),
                "returning": len(returning),
                "resurrecting": len(resurrecting),
                "dormant": -len(prev - now),
            }
        )
    return out

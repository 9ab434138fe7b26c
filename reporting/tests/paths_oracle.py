"""Paths in plain Python over generated events, by the README's definitions (no SQL, no windows).

Per person: the counted events of the range sorted by (time, step name), named, cleaned with
``re.sub`` rule by rule, excluded names dropped, repeats collapsed, then cut at the start or end
step; the names beyond the top ``names_per_step`` of a step folded into ``(other)``.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable

from analytics.query.paths import CUSTOM, OTHER, PathSpec
from analytics.tests.factories import RawEvent
from events.models import WEB_COLUMNS
from reporting.tests.oracle import local_day

PAGES = ["/", "/pricing", "/docs", "/docs/start", "/blog/a", "/blog/b", "/checkout/cart", "/checkout/done", None]
SCREENS = ["Home", "Settings", "Cart", "Checkout"]
CUSTOM_EVENTS = ["signup", "purchase", "search"]


def generate(*, project_id: int, tz: zoneinfo.ZoneInfo, first: dt.date, days: int, users: int, seed: int):
    """Visits mixing pageviews (repeated pages, no pathname sometimes), screens, custom events and a
    $-event that no event type counts; some events at the same instant as the one before."""
    rng = random.Random(seed)
    out: list[RawEvent] = []
    for u in range(users):
        user_id = f"p{project_id}-{u}"
        for d in sorted(rng.sample(range(days), rng.randint(1, 5))):
            # Any second of the local day, so the range's local midnights get crossed.
            t = dt.datetime.combine(first + dt.timedelta(days=d), dt.time(), tzinfo=tz)
            t += dt.timedelta(seconds=rng.randrange(86_000))
            session = f"s{project_id}-{u}-{d}"
            page = rng.choice(PAGES)
            for _ in range(rng.randint(1, 9)):
                kind = rng.random()
                if kind < 0.55:
                    page = page if rng.random() < 0.25 else rng.choice(PAGES)  # repeats to collapse
                    name, props, web = "$pageview", {"path": page} if page else {}, {"pathname": page}
                elif kind < 0.7:
                    name, props, web = "$screen", {"screen": rng.choice(SCREENS)}, {}
                elif kind < 0.93:
                    name, props, web = rng.choice(CUSTOM_EVENTS), {"screen": rng.choice(SCREENS)}, {}
                else:
                    name, props, web = "$autocapture", {}, {}
                ts = t.astimezone(dt.UTC).replace(microsecond=rng.randrange(1_000_000))
                if out and out[-1].user_id == user_id and rng.random() < 0.1:
                    ts = out[-1].timestamp  # a tie: the order is by step name then
                out.append(RawEvent(project_id=project_id, event_name=name, user_id=user_id, timestamp=ts,
                                    source="web", session_id=session, properties=props, web=web))  # fmt: skip
                t += dt.timedelta(seconds=rng.randint(1, 600))
    return out


def _name(e: RawEvent, spec: PathSpec) -> str | None:
    if spec.path_key is None:
        return e.event_name
    if spec.path_key in WEB_COLUMNS:
        return e.web.get(spec.path_key)
    value = e.properties.get(spec.path_key)
    return value if isinstance(value, str) else None  # the tests' properties are strings


def _counted(e: RawEvent, spec: PathSpec) -> bool:
    if e.event_name.startswith("$"):
        return e.event_name in spec.event_types
    return CUSTOM in spec.event_types


def _cut(seq: list[tuple[dt.datetime, str]], spec: PathSpec) -> list[tuple[dt.datetime, str]]:
    names = [name for _, name in seq]
    if spec.start is not None and spec.end is not None:
        if spec.start not in names:
            return []
        s = names.index(spec.start)
        ends = [i for i in range(s + 1, len(names)) if names[i] == spec.end]
        if not ends or ends[0] - s >= spec.steps:
            return []
        return seq[s : ends[0] + 1]
    if spec.start is not None:
        if spec.start not in names:
            return []
        s = names.index(spec.start)
        return seq[s : s + spec.steps]
    if spec.end is not None:
        if spec.end not in names:
            return []
        e = names.index(spec.end)
        return seq[max(0, e + 1 - spec.steps) : e + 1]
    return seq[: spec.steps]


def person_paths(events, tz, first, last, spec: PathSpec, person_of: Callable[[str], str],
                 keep: Callable[[RawEvent], bool]) -> dict[str, list[tuple[dt.datetime, str]]]:  # fmt: skip
    """Each person's path: (time of the step's first event, step name) from step 1 on."""
    items: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for e in events:
        if not (first <= local_day(e, tz) <= last and keep(e) and _counted(e, spec)):
            continue
        name = _name(e, spec)
        if name is None:
            continue
        for regex, alias in spec.cleaning:
            name = re.sub(regex, alias, name)
        if name not in spec.exclude:
            items[person_of(e.user_id)].append((e.timestamp, name))
    out = {}
    for person, rows in items.items():
        seq: list[tuple[dt.datetime, str]] = []
        for ts, name in sorted(rows):
            if not seq or seq[-1][1] != name:
                seq.append((ts, name))
        path = _cut(seq, spec)
        if path:
            out[person] = path
    return out


def paths(events, tz, first, last, spec: PathSpec, person_of: Callable[[str], str] = str,
          keep: Callable[[RawEvent], bool] = lambda e: True) -> dict:  # fmt: skip
    """The report's answer: nodes, edges (min_edge_users applied) and drop-offs, in its order."""
    per_person = person_paths(events, tz, first, last, spec, person_of, keep)
    counts: Counter[tuple[int, str]] = Counter()
    for path in per_person.values():
        for step, (_, name) in enumerate(path, start=1):
            counts[(step, name)] += 1
    top: set[tuple[int, str]] = set()
    for step in {s for s, _ in counts}:
        ranked = sorted(((-n, name) for (s, name), n in counts.items() if s == step))
        top.update((step, name) for _, name in ranked[: spec.names_per_step])

    def fold(step: int, name: str) -> str:
        return name if (step, name) in top else OTHER

    nodes: Counter[tuple[int, str]] = Counter()
    drops: Counter[tuple[int, str]] = Counter()
    edges: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for path in per_person.values():
        for step, (ts, name) in enumerate(path, start=1):
            nodes[(step, fold(step, name))] += 1
            if step == len(path):
                drops[(step, fold(step, name))] += 1
            else:
                next_ts, next_name = path[step]
                edge = edges[(step, fold(step, name), fold(step + 1, next_name))]
                edge[0] += 1
                edge[1] += (next_ts - ts) // dt.timedelta(microseconds=1)
    return {
        "nodes": [
            {"step": s, "name": name, "users": n} for (s, name), n in sorted(nodes.items(), key=lambda i: _order(i))
        ],
        "edges": [
            {
                "source_step": s,
                "source": a,
                "target": b,
                "users": n,
                "average_conversion_seconds": round(us / n / 1e6, 1),
            }
            for (s, a, b), (n, us) in sorted(edges.items(), key=lambda i: (i[0][0], -i[1][0], i[0][1], i[0][2]))
            if n >= spec.min_edge_users
        ],
        "dropoffs": [
            {"step": s, "name": name, "users": n} for (s, name), n in sorted(drops.items(), key=lambda i: _order(i))
        ],
    }


def _order(item: tuple[tuple[int, str], int]) -> tuple[int, int, str]:
    (step, name), n = item
    return step, -n, name

"""Realistic demo data, fast: generated in Python, COPYed into ``events``, then rolled up.

The shape is what the reports are for: users arrive over the period, most only look around, some
sign up, fewer activate and fewer still buy (a funnel with drop-off); they come back on later days
with odds that decay week by week (a retention triangle that fades); each visit is a session of
page views, clicks and searches a few seconds to minutes apart, mostly in daytime hours.

Deterministic: the same ``seed`` on the same UTC hour produces the same event ids and timestamps,
and rows go in with ``ON CONFLICT DO NOTHING``, so running the command twice adds nothing.
The ingest pipeline is bypassed on purpose (no ledger, no quota, no dedupe window): this is a
bulk load, like a restore, not traffic.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson
from django.db import connection, transaction

from analytics.rollups import rollup_rebuild_days
from core import days as daysmod
from events.partitions import ensure_partitions
from projects.models import Project

Progress = Callable[[str], None]
CHUNK_ROWS = 50_000
PAGES = ("/", "/pricing", "/docs", "/blog", "/features", "/about", "/changelog")
REFERRERS = ("google", "direct", "twitter", "newsletter", "github")
BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")
PLANS = ("free", "pro", "team")
# Funnel odds: of users who did the previous step, how many do the next one.
FUNNEL = (("signup", 0.45), ("activate", 0.6), ("purchase", 0.35))
# Retention: chance of coming back on a given later day, falling week by week.
RETURN_BASE, RETURN_WEEKLY_DECAY = 0.3, 0.7

_COLUMNS = "project_id, event_id, event_name, source, user_id, is_anonymous, session_id, ts, properties"
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS demo_stage (project_id integer, event_id uuid, event_name text, "
    "source text, user_id text, is_anonymous boolean, session_id text, ts timestamptz, properties jsonb) "
    "ON COMMIT DELETE ROWS"
)
_INSERT = (
    'INSERT INTO events (project_id, event_id, event_name, source, user_id, is_anonymous, session_id, "timestamp", '
    "received_at, properties) SELECT project_id, event_id, event_name, source, user_id, is_anonymous, session_id, "
    "ts, ts, properties FROM demo_stage ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True)
class _Visit:
    user: int
    day: int  # days after the start of the period
    first: bool  # the arrival visit: the funnel happens here


@dataclass
class DemoResult:
    events: int  # rows inserted (0 when the same data was already there)
    generated: int
    users: int
    days_rebuilt: int


def _visits(rng: random.Random, *, users: int, days: int) -> list[_Visit]:
    visits = []
    for user in range(users):
        # More users arrive later in the period (a growing product), none on the last day only.
        arrival = min(days - 1, int(days * rng.random() ** 0.7))
        visits.append(_Visit(user, arrival, True))
        for day in range(arrival + 1, days):
            if rng.random() < RETURN_BASE * RETURN_WEEKLY_DECAY ** ((day - arrival) // 7):
                visits.append(_Visit(user, day, False))
    return visits


def _budgets(rng: random.Random, visits: list[_Visit], total: int) -> list[int]:
    """Events per visit, summing to exactly ``total`` (at least one per visit kept)."""
    average = total / len(visits)
    budgets = [max(1, round(rng.expovariate(1 / average))) for _ in visits]
    difference = total - sum(budgets)
    while difference:
        i = rng.randrange(len(budgets))
        if difference > 0:
            step = min(difference, max(1, difference // len(budgets)))
            budgets[i] += step
            difference -= step
        elif budgets[i] > 1:
            budgets[i] -= 1
            difference += 1
    return budgets


def demo_rows(*, project_id: int, events: int, users: int, days: int, seed: int, end: dt.datetime) -> Iterator[tuple]:
    """Exactly ``events`` rows over the ``days`` days before ``end``, in the staging column order."""
    rng = random.Random(seed)
    start = end - dt.timedelta(days=days)
    visits = _visits(rng, users=users, days=days)
    if len(visits) > events:  # fewer events than visits: keep an evenly spread sample of visits
        visits = sorted(rng.sample(visits, events), key=lambda v: (v.day, v.user))
    budgets = _budgets(rng, visits, events)
    plan_of = [rng.choice(PLANS) for _ in range(users)]
    source_of = [rng.choices(("web", "ios", "android"), (70, 20, 10))[0] for _ in range(users)]
    funnel_reached = [0] * users  # how far down the funnel each user went
    for visit, budget in zip(visits, budgets, strict=True):
        user_id = f"user-{visit.user:06d}"
        session = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        hour = min(23, max(0, int(rng.gauss(14, 4))))  # daytime-heavy
        at = start + dt.timedelta(days=visit.day, hours=hour, seconds=rng.randrange(3600))
        names = ["pageview"]
        if visit.first:
            for step, (name, odds) in enumerate(FUNNEL, start=1):
                if rng.random() >= odds:
                    break
                names.append(name)
                funnel_reached[visit.user] = step
        elif funnel_reached[visit.user] >= 2 and rng.random() < 0.08:
            names.append("purchase")  # returning customers buy again now and then
        # Browsing fills the rest of the visit; a very short visit cuts the funnel short too.
        names += [rng.choices(("pageview", "click", "search"), (6, 3, 1))[0] for _ in range(budget - len(names))]
        names = names[:budget]
        for name in names:
            at += dt.timedelta(seconds=rng.randint(5, 240))
            if at >= end:
                at = end - dt.timedelta(seconds=1)
            properties: dict = {"path": rng.choice(PAGES), "plan": plan_of[visit.user]}
            if name == "pageview":
                properties.update(referrer=rng.choice(REFERRERS), browser=rng.choice(BROWSERS))
            elif name == "purchase":
                properties.update(amount=round(rng.uniform(9, 499), 2), currency="EUR")
            elif name == "search":
                properties["query"] = rng.choice(("pricing", "api", "export", "retention"))
            yield (
                project_id,
                uuid.UUID(int=rng.getrandbits(128), version=4),
                name,
                source_of[visit.user],
                user_id,
                False,
                session,
                at,
                orjson.dumps(properties).decode(),
            )


def demo_data_generate(
    *,
    project: Project,
    events: int,
    users: int,
    days: int,
    seed: int = 1,
    end: dt.datetime | None = None,
    progress: Progress = lambda _message: None,
) -> DemoResult:
    # Anchored to the hour so that a re-run within it regenerates the very same rows (no-op).
    end = end or dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=days)
    utc_days = daysmod.days_between(start.date(), (end - dt.timedelta(microseconds=1)).date())
    inserted = generated = 0
    rows = demo_rows(project_id=project.pk, events=events, users=users, days=days, seed=seed, end=end)
    done = False
    while not done:
        with transaction.atomic(), connection.cursor() as cur:
            ensure_partitions(utc_days, cursor=cur)
            cur.execute(_STAGE)
            chunk = 0
            with cur.copy(f"COPY demo_stage ({_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    chunk += 1
                    if chunk >= CHUNK_ROWS:
                        break
                else:
                    done = True
            cur.execute(_INSERT)
            inserted += cur.rowcount
            generated += chunk
        progress(f"generated {generated}/{events} events ({inserted} new)")
    tz = daysmod.zone(project.timezone)
    local_days = daysmod.days_between(daysmod.local_date(start, tz), daysmod.local_date(end, tz))
    for offset in range(0, len(local_days), 7):
        rollup_rebuild_days(project_id=project.pk, tz_name=project.timezone, days=local_days[offset : offset + 7])
        progress(f"rollups: {min(offset + 7, len(local_days))}/{len(local_days)} days")
    return DemoResult(events=inserted, generated=generated, users=users, days_rebuilt=len(local_days))

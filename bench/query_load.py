"""The query benchmark's data: generate events with DuckDB, COPY them into ``events``, build rollups.

DuckDB generates the rows (vectorised, seconds for 10M) into a CSV file that is streamed into the
real, partitioned ``events`` table with COPY FROM STDIN, i.e. the same table and indexes
production uses. A project already loaded with about the asked number of events is reused.
Imported once Django is set up.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import duckdb
from django.conf import settings
from django.db import connection, transaction

from analytics.cohorts import cohort_compute
from analytics.rollups import derived_rows_delete, rollups_process_dirty
from analytics.web_days import web_days_build
from bench.query_measure import say
from events.columnar import columnar_mark_partition, columnar_write_dirty
from events.dirty import rollups_mark_dirty
from events.partitions import ensure_partitions, forget_known_partitions, list_partitions
from persons.models import Cohort
from persons.services import person_property_types_recount
from projects.models import Project
from projects.services import project_create

BASE_DIR = Path(__file__).resolve().parent.parent
COMPANIES = 2_000  # each user belongs to one (group type ``company``, index 0)

GENERATE = """
COPY (
WITH users AS (
    SELECT u, floor(random() * {days})::int AS arrival, random() < 0.4 AS signs_up
    FROM range({users}) t(u)
), user_days AS (
    SELECT u, arrival, signs_up, d
    FROM users, range({days}) t(d)
    WHERE d >= arrival
      AND (d = arrival OR random() < 0.04 + 0.5 * exp(-(d - arrival) / 7.0))
), sized AS (
    SELECT *, 1 + floor(random() * (2 * {per_day} - 1))::int AS n,
           floor(random() * 86000)::int AS session_start
    FROM user_days
), ev AS (
    SELECT u, arrival, signs_up, d, session_start, i, random() AS r, random() AS r2,
           floor(pow(random(), 3) * 60)::int AS page, (hash(u, d) % 10)::int AS source_pick,
           'company-' || (hash(u, 'g') % {companies}) AS company
    FROM sized, range(n) t(i)
)
SELECT
    {project_id} AS project_id,
    uuid() AS event_id,
    CASE WHEN i = 0 AND d = arrival AND signs_up THEN 'signup'
         WHEN r < 0.62 THEN '$pageview'
         WHEN r < 0.77 THEN 'click'
         WHEN r < 0.81 THEN 'search'
         WHEN r < 0.91 THEN 'view_product'
         WHEN r < 0.96 THEN 'add_to_cart'
         WHEN r < 0.975 THEN 'purchase'
         ELSE 'share' END AS event_name,
    CASE WHEN r2 < 0.7 THEN 'web' WHEN r2 < 0.9 THEN 'ios' ELSE 'android' END AS source,
    'user-' || u AS user_id,
    false AS is_anonymous,
    'session-' || u || '-' || d AS session_id,
    TIMESTAMPTZ '{start}' + to_days(d) + to_seconds(session_start + i * 20) AS "timestamp",
    TIMESTAMPTZ '{start}' + to_days(d) + to_seconds(session_start + i * 20 + 1) AS received_at,
    -- Every event names its user's company in $groups (posthog-python's groups=), as group_0 holds it.
    '{{"$groups": {{"company": "' || company || '"}}'
    || CASE WHEN r < 0.62 THEN ', "path": "/p' || page
                            || '", "browser": "'
                            || ['chrome','safari','firefox','edge','other'][1 + floor(pow(r2, 2) * 5)::int]
                            || '"'
         WHEN r < 0.91 AND r >= 0.81 THEN ', "product": ' || floor(random() * 500)::int
         WHEN r < 0.975 AND r >= 0.96 THEN ', "plan": "' || ['basic','pro','team'][1 + floor(r2 * 3)::int]
                            || '", "amount": ' || (10 + floor(r2 * 90)::int)
         ELSE '' END || '}}' AS properties,
    -- The web columns enrichment derives at capture: a device per user (3 % crawlers kept
    -- flagged), a country per user, the page of pageviews, the session's source on its first event.
    ['Chrome', 'Safari', 'Firefox', 'Edge', 'Samsung Internet'][1 + (hash(u, 'b') % 5)::int] AS browser,
    ['Windows', 'macOS', 'iOS', 'Android', 'Linux'][1 + (hash(u, 'o') % 5)::int] AS os,
    CASE WHEN hash(u, 'd') % 100 < 3 THEN 'bot'
         ELSE ['desktop', 'desktop', 'mobile', 'mobile', 'tablet'][1 + (hash(u, 'd') % 5)::int] END AS device_type,
    ['US', 'DE', 'FR', 'GB', 'IN', 'BR', 'JP', 'CA', 'ES', 'IT', 'NL', 'SE', 'PL', 'AU', 'MX']
        [1 + floor(pow(hash(u, 'c') % 1000 / 1000.0, 2) * 15)::int] AS country,
    CASE WHEN r < 0.62 THEN '/p' || page END AS pathname,
    CASE WHEN i = 0 THEN ['www.google.com', 'www.google.com', 'news.ycombinator.com', 't.co', 'www.bing.com',
                          NULL, NULL, NULL, 'duckduckgo.com', 'www.reddit.com'][1 + source_pick] END AS referrer_host,
    CASE WHEN i = 0 THEN ['Organic Search', 'Organic Search', 'Referral', 'Organic Social', 'Paid Search',
                          'Direct', 'Email', 'Direct', 'Organic Search', 'Organic Social'][1 + source_pick] END
        AS channel,
    CASE WHEN i = 0 AND source_pick IN (4, 6) THEN ['bing', 'newsletter'][1 + (source_pick = 6)::int] END
        AS utm_source,
    CASE WHEN i = 0 AND source_pick IN (4, 6) THEN 'campaign-' || (d // 7) END AS utm_campaign,
    company AS group_0
FROM ev
) TO '{path}' (FORMAT csv, HEADER false)
"""


def bench_project(*, slug: str, timezone: str, events: int, users: int, days: int) -> tuple[Project, dt.date, dt.date]:
    """The bench project with its events and rollups, and its first and last day.

    Reused when it holds about ``events`` events (within 10%) and BENCH_RELOAD is not 1; else
    deleted with its rollups, created again and loaded.
    """
    end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=days - 1)
    project = Project.objects.filter(slug=slug).first()
    reload = os.environ.get("BENCH_RELOAD") == "1"
    have = 0
    if project is not None:
        with connection.cursor() as cur:
            cur.execute(
                'SELECT count(*), min("timestamp")::date, count(*) FILTER (WHERE event_name = %s), '
                "count(*) FILTER (WHERE group_0 IS NOT NULL) FROM events WHERE project_id = %s",
                ["$pageview", project.pk],
            )
            have, first_day, pageviews, grouped = cur.fetchone()
        # Data loaded before pageviews were `$pageview` with the web columns, or before events had
        # their company (group_0), is loaded again.
        if reload or not have or not pageviews or not grouped or abs(have - events) > events * 0.1:
            with connection.cursor() as cur:
                cur.execute("DELETE FROM events WHERE project_id = %s", [project.pk])
            derived_rows_delete(project_ids=[project.pk])  # else a reload leaves its rollups behind
            project.delete()
            project, have = None, 0
        else:
            start = first_day
            end = start + dt.timedelta(days=days - 1)
    if project is None:
        project = project_create(name="Query bench", slug=slug, timezone_name=timezone).project
    # The rollup job skips days older than raw retention; the bench's oldest day is ~90 days old.
    Project.objects.filter(pk=project.pk).update(raw_retention_days=days + 30)
    if have == 0:
        load(project, start, events=events, users=users, days=days)
        build_rollups(project, start, days=days)
    else:
        say(f"reusing {have:,} loaded events (BENCH_RELOAD=1 to reload)")
        with connection.cursor() as cur:
            # Rollups built before the taxonomy's tables existed are built again.
            cur.execute("SELECT EXISTS (SELECT 1 FROM analytics_daily_prop_types WHERE project_id = %s)", [project.pk])
            built = cur.fetchone()[0]
        if not built or os.environ.get("BENCH_REBUILD") == "1":
            build_rollups(project, start, days=days)
    companies_create(project)
    write_columnar(project, rewrite=os.environ.get("BENCH_COLUMNAR_REWRITE") == "1")
    build_web_days()
    return project, start, end


def load(project: Project, start: dt.date, *, events: int, users: int, days: int) -> int:
    # Expected active user-days per user: 1 + sum_k (0.04 + 0.5 e^(-k/7)) over ~days/2 days.
    days_per_user = 1 + sum(0.04 + 0.5 * 2.718281828 ** (-k / 7) for k in range(1, days // 2))
    per_day = max(1.0, events / (users * days_per_user))
    path = BASE_DIR / "var" / "bench-events.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    duckdb.connect().execute(
        GENERATE.format(
            days=days,
            users=users,
            companies=COMPANIES,
            per_day=per_day,
            project_id=project.pk,
            start=f"{start.isoformat()} 00:00:00+00",
            path=path,
        )
    )
    say(f"generated CSV in {time.perf_counter() - t0:.1f}s ({path.stat().st_size / 1e9:.2f} GB)")
    forget_known_partitions()
    with transaction.atomic():
        ensure_partitions(start + dt.timedelta(days=d) for d in range(-1, days + 2))
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        pg = cur.connection
        with (
            pg.cursor() as c,
            c.copy(
                "COPY events (project_id, event_id, event_name, source, user_id, is_anonymous, session_id, "
                '"timestamp", received_at, properties, browser, os, device_type, country, pathname, '
                "referrer_host, channel, utm_source, utm_campaign, group_0) FROM STDIN (FORMAT csv)"
            ) as copy,
            open(path, "rb") as f,
        ):
            while chunk := f.read(8 << 20):
                copy.write(chunk)
        pg.commit()
        cur.execute("ANALYZE events")
        cur.execute("SELECT count(*) FROM events WHERE project_id = %s", [project.pk])
        loaded = cur.fetchone()[0]
    elapsed = time.perf_counter() - t0
    say(f"COPY {loaded:,} events in {elapsed:.1f}s ({loaded / elapsed:,.0f} events/s)")
    path.unlink()
    return loaded


def companies_create(project: Project) -> None:
    """The ``company`` group type (index 0, the column the load filled) and a row per company
    with a property or two, for the groups endpoints; kept when there already."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO persons_group_type (project_id, group_type, index) VALUES (%s, 'company', 0) "
            "ON CONFLICT DO NOTHING",
            [project.pk],
        )
        cur.execute(
            "INSERT INTO persons_group (project_id, group_type_index, group_key, properties, created_at, updated_at) "
            "SELECT %s, 0, 'company-' || g, jsonb_build_object('name', 'Company ' || g, "
            "'plan', (ARRAY['free', 'pro', 'enterprise'])[1 + g %% 3]), now(), now() "
            "FROM generate_series(0, %s - 1) g ON CONFLICT DO NOTHING",
            [project.pk, COMPANIES],
        )


def build_rollups(project: Project, start: dt.date, *, days: int) -> None:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM analytics_fill_state")
    rollups_mark_dirty(touched={project.pk: {start + dt.timedelta(days=d) for d in range(-1, days + 2)}})
    t0 = time.perf_counter()
    run = rollups_process_dirty(time_budget_s=3600)
    elapsed = time.perf_counter() - t0
    say(f"rollups: {run.local_days} local days rebuilt in {elapsed:.1f}s")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")


def write_columnar(project: Project, *, rewrite: bool) -> None:
    """Write the days marked, files of an older layout and, with ``rewrite``, every day again
    (BENCH_COLUMNAR_REWRITE=1: to compare COLUMNAR_PROPERTY_KEYS settings on the same data)."""
    if rewrite:
        for partition in list_partitions():
            columnar_mark_partition(partition.day, project_id=project.pk, only_missing=False)
    t0 = time.perf_counter()
    written = columnar_write_dirty(max_days=100_000, settle_seconds=0, deadline_seconds=3600)
    if written:
        keys = settings.EVENTBASE["COLUMNAR_PROPERTY_KEYS"]
        say(f"columnar: {written} days written in {time.perf_counter() - t0:.1f}s (up to {keys} typed keys)")


def build_web_days() -> None:
    """The web rollup of the days missing or stale (all of them after a load), as the job does."""
    t0 = time.perf_counter()
    built = web_days_build(max_days=100_000, deadline_seconds=3600)
    if built:
        say(f"web rollup: {built} local days built in {time.perf_counter() - t0:.1f}s")


def loaded_counts(project: Project, lo30: dt.datetime, hi30: dt.datetime) -> tuple[int, int, int]:
    """Events, users, and events in the last 30 days, as the benchmark's summary line prints them."""
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM events WHERE project_id = %s", [project.pk])
        total = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM analytics_user WHERE project_id = %s", [project.pk])
        users = cur.fetchone()[0]
        cur.execute(
            'SELECT count(*) FROM events WHERE project_id = %s AND "timestamp" >= %s AND "timestamp" < %s',
            [project.pk, lo30, hi30],
        )
        in30 = cur.fetchone()[0]
    return total, users, in30


def bench_cohort(project: Project) -> int:
    """Two behavioural cohorts computed now and timed: a purchase in the last 90 days (most users:
    the computation's target), and a signup in the last 45 days (about a fifth of the users: the
    cohort the filtered case reads). Returns the second's id."""
    ids = []
    for name, behaviour in (
        ("bench buyers", {"event": "purchase", "operator": "gte", "count": 1, "days": 90}),
        ("bench recent signups", {"event": "signup", "operator": "gte", "count": 1, "days": 45}),
    ):
        Cohort.objects.filter(project_id=project.pk, name=name).delete()
        cohort = Cohort.objects.create(
            project_id=project.pk, name=name, kind=Cohort.DYNAMIC, definition={"behaviour": [behaviour]}
        )
        t0 = time.perf_counter()
        members = cohort_compute(cohort)
        say(f"cohort {name!r}: {members:,} members computed in {time.perf_counter() - t0:.2f}s (target 5 s)")
        ids.append(cohort.pk)
    return ids[-1]


PERSONS = """
INSERT INTO persons_person (project_id, properties, created_at, updated_at)
SELECT %(p)s, jsonb_build_object(
    'email', 'person-' || g || '@example.com',
    'name', 'Person ' || g,
    'plan', (ARRAY['free', 'pro', 'team'])[1 + g %% 3],
    'country', (ARRAY['FR', 'US', 'DE', 'IN', 'BR', 'JP'])[1 + g %% 6],
    'age', 18 + g %% 60,
    'paid', g %% 2 = 0,
    'signed_up', '2026-0' || (1 + g %% 9) || '-1' || (g %% 9) || 'T10:00:00Z',
    'utm_source', CASE WHEN g %% 4 = 0 THEN 'google' END
), now(), now()
FROM generate_series(1, %(n)s) g
"""


def bench_persons(*, slug: str, persons: int) -> Project:
    """A project of ``persons`` persons (no events) for the person taxonomy: a project of its own,
    so the event reports' numbers do not change with persons joined to their users."""
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        project = project_create(name="Query bench persons", slug=slug, timezone_name="UTC").project
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM persons_person WHERE project_id = %s", [project.pk])
        if cur.fetchone()[0] != persons:
            cur.execute("DELETE FROM persons_person WHERE project_id = %s", [project.pk])
            cur.execute(PERSONS, {"p": project.pk, "n": persons})
            cur.execute("ANALYZE persons_person")
    person_property_types_recount(project_id=project.pk)
    return project

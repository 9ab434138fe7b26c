"""Query benchmark: bulk-load events, build rollups, time every reporting endpoint vs naive SQL.

    make bench-query                      # 10M events, 50k users, 90 days
    BENCH_EVENTS=500000 make bench-query  # a quick run

Without DATABASE_URL it starts its own embedded PostgreSQL and Valkey under BENCH_DATA_DIR
(default ./var/bench) and stops them at the end; the data stays there, and a rerun with the same
size reuses it (BENCH_RELOAD=1 forces a fresh load).

Loading: DuckDB generates the rows (vectorised, seconds for 10M) into a CSV file that is streamed
into the real, partitioned ``events`` table with COPY FROM STDIN, i.e. the same table and indexes
production uses. Shapes: users arrive over the 90 days and return with a decaying probability
(retention), each active day is one session of pageviews/clicks/searches, a product funnel
(view_product -> add_to_cart -> purchase) with drop-off, signups on the arrival day.

Then every endpoint is called through Django's test client (URL routing, auth, serializers, JSON:
what a client gets, minus the network), and the same questions are answered by a naive query on
the raw events table. Printed: p50/p95 per endpoint, naive p50, and the ratio.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000000"))
USERS = int(os.environ.get("BENCH_USERS", "50000"))
DAYS = int(os.environ.get("BENCH_DAYS", "90"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
NAIVE_REPEAT = int(os.environ.get("BENCH_NAIVE_REPEAT", "3"))
TIMEZONE = os.environ.get("BENCH_TIMEZONE", "Europe/Paris")
SLUG = "bench-query"


def say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def start_servers():
    if os.environ.get("DATABASE_URL"):
        return None
    from config import embedded

    root = Path(os.environ.get("BENCH_DATA_DIR") or BASE_DIR / "var" / "bench").resolve()
    say(f"starting embedded servers under {root}")
    servers = embedded.start(root, durable=False)
    os.environ["DATABASE_URL"] = servers.database_url
    if servers.redis_url:
        os.environ["REDIS_URL"] = servers.redis_url
    return servers


# --- Loading ----------------------------------------------------------------------------------

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
    SELECT u, arrival, signs_up, d, session_start, i, random() AS r, random() AS r2
    FROM sized, range(n) t(i)
)
SELECT
    {project_id} AS project_id,
    uuid() AS event_id,
    CASE WHEN i = 0 AND d = arrival AND signs_up THEN 'signup'
         WHEN r < 0.62 THEN 'pageview'
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
    CASE WHEN r < 0.62 THEN '{{"path": "/p' || floor(pow(random(), 3) * 60)::int
                            || '", "browser": "'
                            || ['chrome','safari','firefox','edge','other'][1 + floor(pow(r2, 2) * 5)::int]
                            || '"}}'
         WHEN r < 0.91 AND r >= 0.81 THEN '{{"product": ' || floor(random() * 500)::int || '}}'
         WHEN r < 0.975 AND r >= 0.96 THEN '{{"plan": "' || ['basic','pro','team'][1 + floor(r2 * 3)::int]
                            || '", "amount": ' || (10 + floor(r2 * 90)::int) || '}}'
         ELSE '{{}}' END AS properties
FROM ev
) TO '{path}' (FORMAT csv, HEADER false)
"""


def load(project, start: dt.date) -> int:
    import duckdb
    from django.db import connection, transaction

    from events.partitions import ensure_partitions, forget_known_partitions

    # Expected active user-days per user: 1 + sum_k (0.04 + 0.5 e^(-k/7)) over ~DAYS/2 days.
    days_per_user = 1 + sum(0.04 + 0.5 * 2.718281828 ** (-k / 7) for k in range(1, DAYS // 2))
    per_day = max(1.0, EVENTS / (USERS * days_per_user))
    path = BASE_DIR / "var" / "bench-events.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    duckdb.connect().execute(
        GENERATE.format(
            days=DAYS,
            users=USERS,
            per_day=per_day,
            project_id=project.pk,
            start=f"{start.isoformat()} 00:00:00+00",
            path=path,
        )
    )
    say(f"generated CSV in {time.perf_counter() - t0:.1f}s ({path.stat().st_size / 1e9:.2f} GB)")
    forget_known_partitions()
    with transaction.atomic():
        ensure_partitions(start + dt.timedelta(days=d) for d in range(-1, DAYS + 2))
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        pg = cur.connection
        with (
            pg.cursor() as c,
            c.copy(
                "COPY events (project_id, event_id, event_name, source, user_id, is_anonymous, session_id, "
                '"timestamp", received_at, properties) FROM STDIN (FORMAT csv)'
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


def build_rollups(project, start: dt.date) -> None:
    from django.db import connection

    from analytics.rollups import rollups_process_dirty
    from events.dirty import rollups_mark_dirty

    with connection.cursor() as cur:
        cur.execute("DELETE FROM analytics_fill_state")
    rollups_mark_dirty(touched={project.pk: {start + dt.timedelta(days=d) for d in range(-1, DAYS + 2)}})
    t0 = time.perf_counter()
    run = rollups_process_dirty(time_budget_s=3600)
    elapsed = time.perf_counter() - t0
    say(f"rollups: {run.local_days} local days rebuilt in {elapsed:.1f}s")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")


# --- Timing -----------------------------------------------------------------------------------


def timed(fn, repeat: int, budget_s: float = 20.0) -> list[float]:
    """Up to ``repeat`` timed runs after a warm-up; slow queries stop after ``budget_s`` (min 3 runs)."""
    fn()  # warm-up: connection, caches, DuckDB attach
    out: list[float] = []
    started = time.perf_counter()
    for _ in range(repeat):
        if len(out) >= 3 and time.perf_counter() - started > budget_s:
            break
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def naive(sql: str, params: list):
    from django.db import connection

    def run():
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    return run


def main() -> int:
    servers = start_servers()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")  # nothing is signed here
    try:
        import django

        django.setup()
        return run_bench()
    finally:
        from events.duck import duckdb_reset

        duckdb_reset()
        if servers is not None:
            servers.stop()


def run_bench() -> int:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from analytics.rollups import derived_rows_delete
    from bench.engines import funnel_compute_postgres, trend_breakdown_duckdb
    from core import days as daysmod
    from projects.models import Project
    from projects.selectors import key_cache
    from projects.services import api_key_create, project_create
    from reporting.queries import funnels, trends

    call_command("migrate", verbosity=0)
    end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=DAYS - 1)
    project = Project.objects.filter(slug=SLUG).first()
    reload = os.environ.get("BENCH_RELOAD") == "1"
    have = 0
    if project is not None:
        with connection.cursor() as cur:
            cur.execute('SELECT count(*), min("timestamp")::date FROM events WHERE project_id = %s', [project.pk])
            have, first_day = cur.fetchone()
        if reload or not have or abs(have - EVENTS) > EVENTS * 0.1:
            with connection.cursor() as cur:
                cur.execute("DELETE FROM events WHERE project_id = %s", [project.pk])
            derived_rows_delete(project_ids=[project.pk])  # else a reload leaves its rollups behind
            project.delete()
            project, have = None, 0
        else:
            start = first_day
            end = start + dt.timedelta(days=DAYS - 1)
    if project is None:
        project = project_create(name="Query bench", slug=SLUG, timezone_name=TIMEZONE).project
    # The rollup job skips days older than raw retention; the bench's oldest day is ~90 days old.
    Project.objects.filter(pk=project.pk).update(raw_retention_days=DAYS + 30)
    if have == 0:
        load(project, start)
        build_rollups(project, start)
    else:
        say(f"reusing {have:,} loaded events (BENCH_RELOAD=1 to reload)")
        with connection.cursor() as cur:
            cur.execute("SELECT EXISTS (SELECT 1 FROM analytics_daily_props WHERE project_id = %s)", [project.pk])
            built = cur.fetchone()[0]
        if not built or os.environ.get("BENCH_REBUILD") == "1":
            build_rollups(project, start)
    raw_key = api_key_create(project=project, scope="read").raw
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    base = f"/api/v1/projects/{SLUG}/"
    d30 = end - dt.timedelta(days=29)
    tz = project.timezone
    lo30, hi30 = daysmod.local_range_bounds(d30, end, daysmod.zone(tz))
    retention_start = end - dt.timedelta(days=8 * 7 + 6)

    def get(path: str, **params):
        def run():
            response = client.get(base + path, params)
            assert response.status_code == 200, response.content[:300]
            return response

        return run

    def post(path: str, body: dict):
        def run():
            response = client.post(base + path, body, content_type="application/json")
            assert response.status_code == 200, response.content[:300]
            return response

        return run

    funnel_body = {
        "steps": ["view_product", "add_to_cart", "purchase"],
        "from": d30.isoformat(),
        "to": end.isoformat(),
        "window_hours": 24,
    }
    rng30 = {"from": d30.isoformat(), "to": end.isoformat()}
    cases = [
        (
            "active-users 30 days (day)",
            50,
            get("active-users", **rng30),
            naive(
                'SELECT ("timestamp" AT TIME ZONE %s)::date, count(DISTINCT user_id) FROM events '
                'WHERE project_id = %s AND "timestamp" >= %s AND "timestamp" < %s GROUP BY 1',
                [tz, project.pk, lo30, hi30],
            ),
        ),
        (
            "active-users 90 days (week)",
            None,
            get("active-users", **{"from": start.isoformat(), "to": end.isoformat(), "interval": "week"}),
            None,
        ),
        (
            "top-events 30 days",
            50,
            get("top-events", **rng30),
            naive(
                "SELECT event_name, count(*), count(DISTINCT user_id) FROM events WHERE project_id = %s "
                'AND "timestamp" >= %s AND "timestamp" < %s GROUP BY 1 ORDER BY 2 DESC LIMIT 10',
                [project.pk, lo30, hi30],
            ),
        ),
        (
            "trends purchase users/day 30 days",
            None,
            get("trends", event="purchase", math="users", **rng30),
            naive(
                'SELECT ("timestamp" AT TIME ZONE %s)::date, count(DISTINCT user_id) FROM events '
                "WHERE project_id = %s AND event_name = 'purchase' AND \"timestamp\" >= %s "
                'AND "timestamp" < %s GROUP BY 1',
                [tz, project.pk, lo30, hi30],
            ),
        ),
        (
            "trends purchase by plan 30 days",
            300,
            get("trends", event="purchase", breakdown="plan", **rng30),
            naive(
                "SELECT (\"timestamp\" AT TIME ZONE %s)::date, properties->>'plan', count(*) FROM events "
                "WHERE project_id = %s AND event_name = 'purchase' AND \"timestamp\" >= %s "
                'AND "timestamp" < %s GROUP BY 1, 2',
                [tz, project.pk, lo30, hi30],
            ),
        ),
        (
            "trends pageview by browser 30 days",
            300,
            get("trends", event="pageview", breakdown="browser", **rng30),
            None,
        ),
        (
            "funnel 3 steps 30 days",
            1000,
            post("funnels", funnel_body),
            lambda: funnel_compute_postgres(
                project=project,
                steps=funnel_body["steps"],
                date_from=d30,
                date_to=end,
                window_hours=24,
            ),
        ),
        (
            "retention 8 weeks",
            500,
            get("retention", start_date=retention_start.isoformat(), windows=8, period="week"),
            naive(
                """
                WITH firsts AS (SELECT user_id, min("timestamp") AS f FROM events WHERE project_id = %(p)s
                                GROUP BY user_id),
                     cohort AS (SELECT user_id FROM firsts
                                WHERE f >= %(lo)s AND f < %(lo)s + interval '7 days'),
                     act AS (SELECT DISTINCT e.user_id, floor(extract(epoch FROM e."timestamp" - %(lo)s)
                                                            / 604800)::int AS k
                             FROM events e JOIN cohort c USING (user_id)
                             WHERE e.project_id = %(p)s AND e."timestamp" >= %(lo)s
                               AND e."timestamp" < %(lo)s + interval '63 days')
                SELECT k, count(*) FROM act GROUP BY k ORDER BY k
                """,
                {
                    "p": project.pk,
                    "lo": daysmod.local_midnight(retention_start, daysmod.zone(tz)),
                },
            ),
        ),
        (
            "retention cohorts 12 weeks",
            None,
            get(
                "retention/cohorts",
                **{"from": (end - dt.timedelta(days=83)).isoformat(), "to": end.isoformat()},
            ),
            None,
        ),
        (
            "sessions 7 days",
            None,
            get("sessions", **{"from": (end - dt.timedelta(days=6)).isoformat(), "to": end.isoformat()}),
            None,
        ),
        ("live", None, get("live"), None),
        ("users page", None, get("users", limit=100), None),
        ("events export page (1000)", None, get("events", **rng30), None),
    ]
    key_cache.clear()
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
    say("")
    say(f"events: {total:,}  users: {users:,}  days: {DAYS}  events in the last 30 days: {in30:,}")
    say(f"repeat: {REPEAT} (naive: {NAIVE_REPEAT})  timezone: {tz}")
    say("")
    header = f"{'query':38} {'p50 ms':>8} {'p95 ms':>8} {'target':>7} {'naive p50':>10} {'ratio':>7}"
    say(header)
    say("-" * len(header))
    failures = 0
    for name, target, endpoint, naive_fn in cases:
        times = timed(endpoint, REPEAT)
        p50, p95 = p(times, 50), p(times, 95)
        naive_p50 = statistics.median(timed(naive_fn, NAIVE_REPEAT)) if naive_fn else None
        ok = "" if target is None else ("ok" if p50 <= target else "MISS")
        failures += ok == "MISS"
        naive_s = f"{naive_p50:10.1f}" if naive_p50 is not None else f"{'-':>10}"
        ratio = f"{naive_p50 / p50:6.1f}x" if naive_p50 is not None else f"{'-':>7}"
        target_s = f"{target:>4} {ok:<2}" if target else f"{'':7}"
        say(f"{name:38} {p50:8.1f} {p95:8.1f} {target_s:>7} {naive_s} {ratio}")

    say("")
    say("engine comparison (same question, both engines, p50 ms):")
    engines = [
        (
            "funnel 3 steps 30 days",
            lambda: funnels.funnel_compute(
                project=project, steps=funnel_body["steps"], date_from=d30, date_to=end, window_hours=24
            ),
            lambda: funnel_compute_postgres(
                project=project, steps=funnel_body["steps"], date_from=d30, date_to=end, window_hours=24
            ),
        ),
        (
            "purchase by plan 30 days",
            lambda: trend_breakdown_duckdb(
                project=project,
                event="purchase",
                date_from=d30,
                date_to=end,
                interval="day",
                math="total",
                key="plan",
            ),
            lambda: trends._trend_breakdown_pg(
                project=project,
                event="purchase",
                date_from=d30,
                date_to=end,
                interval="day",
                math="total",
                key="plan",
            ),
        ),
        (
            "pageview by browser 30 days",
            lambda: trend_breakdown_duckdb(
                project=project,
                event="pageview",
                date_from=d30,
                date_to=end,
                interval="day",
                math="total",
                key="browser",
            ),
            lambda: trends._trend_breakdown_pg(
                project=project,
                event="pageview",
                date_from=d30,
                date_to=end,
                interval="day",
                math="total",
                key="browser",
            ),
        ),
    ]
    for name, duck_fn, pg_fn in engines:
        duck_ms = statistics.median(timed(duck_fn, NAIVE_REPEAT))
        pg_ms = statistics.median(timed(pg_fn, NAIVE_REPEAT))
        say(f"  {name:34} duckdb {duck_ms:8.1f}   postgresql {pg_ms:8.1f}")
    return 1 if failures and os.environ.get("BENCH_STRICT") == "1" else 0


if __name__ == "__main__":
    sys.exit(main())

"""Query benchmark: bulk-load events, build rollups, time every reporting endpoint vs naive SQL.

    make bench-query                      # 10M events, 50k users, 90 days
    BENCH_EVENTS=500000 make bench-query  # a quick run

Without DATABASE_URL it starts its own embedded PostgreSQL and Valkey under BENCH_DATA_DIR
(default ./var/bench) and stops them at the end; the data stays there, and a rerun with the same
size reuses it (BENCH_RELOAD=1 forces a fresh load; BENCH_ONLY=web times only the cases named so).

Loading (``bench/query_load.py``): DuckDB generates the rows (vectorised, seconds for 10M) into a
CSV file that is streamed into the real, partitioned ``events`` table with COPY FROM STDIN, i.e.
the same table and indexes production uses. Shapes: users arrive over the 90 days and return with
a decaying probability (retention), each active day is one session of pageviews/clicks/searches, a
product funnel (view_product -> add_to_cart -> purchase) with drop-off, signups on the arrival day.

Then every endpoint is called through Django's test client (URL routing, auth, serializers, JSON:
what a client gets, minus the network), and the same questions are answered by a naive query on
the raw events table (``bench/query_cases.py``). Printed (``bench/query_measure.py``): p50/p95 per
endpoint, naive p50, and the ratio.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.query_measure import say  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000000"))
USERS = int(os.environ.get("BENCH_USERS", "50000"))
DAYS = int(os.environ.get("BENCH_DAYS", "90"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
NAIVE_REPEAT = int(os.environ.get("BENCH_NAIVE_REPEAT", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
CONCURRENT_SECONDS = float(os.environ.get("BENCH_CONCURRENT_SECONDS", "30"))
TIMEZONE = os.environ.get("BENCH_TIMEZONE", "Europe/Paris")
PERSONS = int(os.environ.get("BENCH_PERSONS", "50000"))  # of the person taxonomy's project
# Only the endpoint cases whose name contains this text (e.g. "web"), and no engines or
# concurrency tables: to measure one target again without the whole run.
ONLY = os.environ.get("BENCH_ONLY", "")
SLUG = "bench-query"


def start_servers():
    if os.environ.get("DATABASE_URL"):
        return None
    from config import embedded

    # Not var/bench, the ingest bench's folder: after an ingest bench run there, pg_ctl could not
    # start the PostgreSQL it left behind with this script's options.
    root = Path(os.environ.get("BENCH_DATA_DIR") or BASE_DIR / "var" / "bench-query").resolve()
    os.environ.setdefault("COLUMNAR_DIR", str(root / "columnar"))
    say(f"starting embedded servers under {root}")
    servers = embedded.start(root, durable=False)
    os.environ["DATABASE_URL"] = servers.database_url
    if servers.redis_url:
        os.environ["REDIS_URL"] = servers.redis_url
    return servers


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
    from django.test import Client

    from bench.query_case_kit import period_of
    from bench.query_cases import endpoint_cases, engine_cases
    from bench.query_load import bench_cohort, bench_persons, bench_project, loaded_counts
    from bench.query_measure import concurrent_table, endpoints_table, engines_table
    from projects.selectors import key_cache
    from projects.services import api_key_create

    call_command("migrate", verbosity=0)
    project, start, end = bench_project(slug=SLUG, timezone=TIMEZONE, events=EVENTS, users=USERS, days=DAYS)
    raw_key = api_key_create(project=project, scope="read").raw
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    period = period_of(project, start, end)
    cohort_id = bench_cohort(project)
    people = bench_persons(slug=f"{SLUG}-persons", persons=PERSONS)
    people_client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_create(project=people, scope='read').raw}")
    cases = endpoint_cases(
        project=project,
        client=client,
        base=f"/api/v1/projects/{SLUG}/",
        period=period,
        persons=(people_client, f"/api/v1/projects/{SLUG}-persons/"),
        cohort_id=cohort_id,
    )
    cases = [case for case in cases if ONLY in case.name]
    key_cache.clear()
    total, users, in30 = loaded_counts(project, period.lo30, period.hi30)
    say("")
    say(f"events: {total:,}  users: {users:,}  days: {DAYS}  events in the last 30 days: {in30:,}")
    say(f"repeat: {REPEAT} (naive: {NAIVE_REPEAT})  timezone: {period.tz}")
    say("")
    failures = endpoints_table(cases, repeat=REPEAT, naive_repeat=NAIVE_REPEAT)
    if ONLY:
        return 1 if failures and os.environ.get("BENCH_STRICT") == "1" else 0
    engines_table(engine_cases(project=project, period=period), repeat=NAIVE_REPEAT)
    # The filtered questions from several clients at once: one client (and connection) each, in
    # this process, as gunicorn's threads of one worker would; DuckDB and psycopg release the GIL.
    per_client = [
        [case for case in endpoint_cases(project=project, client=Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}"),
                                         base=f"/api/v1/projects/{SLUG}/", period=period)
         if case.name.startswith("filtered")]
        for _ in range(CLIENTS)
    ]  # fmt: skip
    concurrent_table(per_client, seconds=CONCURRENT_SECONDS)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(f"peak RSS of this process (it served every request, DuckDB included): {peak_mb:,.0f} MB")
    return 1 if failures and os.environ.get("BENCH_STRICT") == "1" else 0


if __name__ == "__main__":
    sys.exit(main())

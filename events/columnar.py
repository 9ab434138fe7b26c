"""The columnar tier: each (project, UTC day) of ``events`` also as a Parquet file, for DuckDB.

PostgreSQL stays the source of truth and ``events`` the contract table. A day's file is written
from PostgreSQL by ``columnar_write_dirty`` (a periodic job) for the days the flush, persons or a
backfill marked (events.dirty), and a query reads a day from its file only while the day has a
file (``events_columnar_day``) and no marker newer than it (``events_columnar_dirty``); every
other day is read from PostgreSQL in the same query (analytics.query.source). So an answer never
misses a stored event: a late event marks its day, and the day is read from PostgreSQL until its
file is written again.

Why writing a day cannot lose an event that arrives meanwhile: the job locks the markers it
sees (``FOR UPDATE SKIP LOCKED``) before DuckDB reads the day, and deletes exactly those. An
event's marker commits with the event, so a marker the job saw belongs to an event DuckDB's later
read sees; an event committed after that read has a marker the job did not see, which stays and
sends the day back to PostgreSQL. One writer at a time (an advisory lock): two writers of one day
could otherwise replace a newer file with an older one.

Erasure and retention remove rows from PostgreSQL: they forget the days' files
(``columnar_forget``), which are deleted once that transaction commits.

Typed property columns: a file also holds, for the day's most common top-level property keys
(up to COLUMNAR_PROPERTY_KEYS, by how many of the day's events have them), the key's value as
text (``p:<key>``, exactly ``json_extract_string``'s text) and as a number (``n:<key>``, that
text cast to DOUBLE, NULL when it is not a number). Filters, breakdowns and property maths read
those instead of parsing each row's JSON; the manifest lists each file's keys, so a query knows
per file whether a key is a column or must come from the JSON. The keys are chosen per day from
the day itself, rather than from the analytics layer's property rollups, because those hold no
counts for keys with many values (paths, URLs), which are the most filtered.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from core import days as daysmod
from core import locks
from core.replicas import primary_reads
from events.duck import ATTACHED_AS, duckdb_cursor, duckdb_sql_string
from events.models import GROUP_COLUMNS, WEB_COLUMNS
from events.partitions import partition_name

logger = logging.getLogger(__name__)

# The columns of a file: those of ``events`` that queries read (not ip and user_agent).
_NAMES = ("event_id", "event_name", "source", "user_id", "is_anonymous", "session_id", '"timestamp"', "received_at",
          "properties", *WEB_COLUMNS)  # fmt: skip
BASE_COLUMNS = ", ".join(_NAMES)
# The same, read from PostgreSQL: properties as JSON text, as a file holds them.
COLUMNS = ", ".join("CAST(properties AS VARCHAR) AS properties" if name == "properties" else name for name in _NAMES)
# A file holds the group columns too (layout 4), but queries name them only when they count
# groups, so that files written before them stay readable by every other question.
GROUPS = ", ".join(GROUP_COLUMNS)
# Bumped when a file's columns change: the job rewrites files of an older layout (newest days first).
LAYOUT = 4
# Files of an older layout lack columns queries read now (2: the web columns): until the job has
# rewritten them, their days are read from PostgreSQL.
READABLE_LAYOUT = 3
# The first layout with the group columns: a question counting groups reads older files' days
# from PostgreSQL (analytics.query.source).
GROUPS_LAYOUT = 4


def columnar_root() -> Path:
    return Path(settings.EVENTBASE["COLUMNAR_DIR"])


def columnar_path(project_id: int, day: dt.date) -> Path:
    return columnar_root() / f"project={int(project_id)}" / f"{day.isoformat()}.parquet"


def text_column(key: str) -> str:
    """The quoted name of a key's text column in a file."""
    return _identifier("p:" + key)


def number_column(key: str) -> str:
    """The quoted name of a key's number column in a file."""
    return _identifier("n:" + key)


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def json_path(key: str) -> str:
    """A JSONPath naming one top-level key, whatever characters it has (``$current_url``, ``a.b``)."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def columnar_clean_days(
    *, project_id: int, first: dt.date, last: dt.date, layout: int = READABLE_LAYOUT
) -> dict[dt.date, frozenset[str]]:
    """The UTC days in ``first..last`` a query may read from their files, with each file's typed keys.

    Asked through DuckDB's attached PostgreSQL, like the rest of a query-layer question, so a
    report keeps the Django queries it had (tests pin them). ``layout``: the oldest layout
    whose files have the columns the question reads."""
    cur = duckdb_cursor()
    try:
        rows = cur.execute(
            f"SELECT m.utc_date, m.property_keys FROM {ATTACHED_AS}.public.events_columnar_day m "
            f"WHERE m.project_id = {int(project_id)} AND m.utc_date BETWEEN DATE '{first}' AND DATE '{last}' "
            f"AND m.layout >= {max(int(layout), READABLE_LAYOUT)} "
            f"AND NOT EXISTS (SELECT 1 FROM {ATTACHED_AS}.public.events_columnar_dirty d "
            f"                WHERE d.project_id = {int(project_id)} AND d.utc_date = m.utc_date)"
        ).fetchall()
    finally:
        cur.close()
    return {row[0]: frozenset(row[1] or ()) for row in rows}


def columnar_mark_partition(day: dt.date, *, project_id: int | None = None, only_missing: bool = True) -> int:
    """Mark the (project, ``day``) pairs that have events in the day's partition for writing:
    only those without a file (``only_missing``: events stored before the tier existed, a bulk
    load without markers), or all of them (to rewrite files, e.g. after COLUMNAR_PROPERTY_KEYS
    changed). Reads the whole partition; returns the pairs marked."""
    only = "AND e.project_id = %s" if project_id is not None else ""
    missing = (
        "AND NOT EXISTS (SELECT 1 FROM events_columnar_day m WHERE m.project_id = e.project_id AND m.utc_date = %s)"
        if only_missing
        else ""
    )
    params: list = [day, *([project_id] if project_id is not None else []), *([day] if only_missing else [])]
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO events_columnar_dirty (project_id, utc_date, marked_at) "
            f"SELECT DISTINCT e.project_id, %s::date, clock_timestamp() FROM {partition_name(day)} e "
            f"WHERE TRUE {only} {missing}",
            params,
        )
        return cur.rowcount


def columnar_write_dirty(
    *, max_days: int | None = None, settle_seconds: float | None = None, deadline_seconds: float = 240.0
) -> int:
    """Write the files of marked days, oldest markers first; returns the days written.

    A day still being marked (a marker younger than ``settle_seconds``, default
    COLUMNAR_SETTLE_SECONDS: today, under steady ingestion) waits: its file would be stale at
    once, and the day is read from PostgreSQL meanwhile. Returns 0 at once when another writer
    holds the lock. Stops after ``max_days`` (default COLUMNAR_DAYS_PER_RUN) or the deadline; the
    next run continues."""
    limit = max_days or settings.EVENTBASE["COLUMNAR_DAYS_PER_RUN"]
    settle = settings.EVENTBASE["COLUMNAR_SETTLE_SECONDS"] if settle_seconds is None else settle_seconds
    started, written = time.monotonic(), 0
    while written < limit and time.monotonic() - started < deadline_seconds:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [locks.COLUMNAR])
            if not cur.fetchone()[0]:
                return written
            cur.execute(
                "SELECT project_id, utc_date FROM events_columnar_dirty GROUP BY 1, 2 "
                "HAVING max(marked_at) <= now() - make_interval(secs => %s) ORDER BY min(id) LIMIT 1",
                [settle],
            )
            first = cur.fetchone()
            if first is None:
                # Nothing marked: rewrite a file of an older layout, newest day first.
                cur.execute(
                    "SELECT project_id, utc_date FROM events_columnar_day WHERE layout < %s "
                    "ORDER BY utc_date DESC LIMIT 1",
                    [LAYOUT],
                )
                first = cur.fetchone()
                if first is None:
                    return written
            project_id, day = first
            cur.execute(
                "SELECT id FROM events_columnar_dirty WHERE project_id = %s AND utc_date = %s FOR UPDATE SKIP LOCKED",
                [project_id, day],
            )
            ids = [row[0] for row in cur.fetchall()]
            rows, keys = _write_day(project_id, day)
            cur.execute(
                "INSERT INTO events_columnar_day (project_id, utc_date, rows, written_at, layout, property_keys) "
                "VALUES (%s, %s, %s, now(), %s, %s) ON CONFLICT (project_id, utc_date) DO UPDATE SET "
                "rows = EXCLUDED.rows, written_at = EXCLUDED.written_at, layout = EXCLUDED.layout, "
                "property_keys = EXCLUDED.property_keys",
                [project_id, day, rows, LAYOUT, keys],
            )
            cur.execute("DELETE FROM events_columnar_dirty WHERE id = ANY(%s)", [ids])
        written += 1
    return written


def _write_day(project_id: int, day: dt.date) -> tuple[int, list[str]]:
    """The day's rows, read from PostgreSQL by DuckDB once, into its file (replaced atomically),
    with typed columns for the day's most common property keys; returns the rows and those keys."""
    lo = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    hi = lo + dt.timedelta(days=1)
    path = columnar_path(project_id, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    # The primary's DuckDB connection even when called inside a replica scope: a lagging replica
    # would yield a file without the day's newest events, and the markers would still be deleted.
    with primary_reads():
        cur = duckdb_cursor()  # its own DuckDB connection: the temp table is not shared
    try:
        # COPY takes no parameters; every literal here is an int, a timestamp, a key or our own path.
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE columnar_day AS SELECT {COLUMNS}, {GROUPS} FROM {ATTACHED_AS}.public.events "
            f"WHERE project_id = {int(project_id)} AND \"timestamp\" >= TIMESTAMPTZ '{lo.isoformat()}' "
            f"AND \"timestamp\" < TIMESTAMPTZ '{hi.isoformat()}'"
        )
        wanted = settings.EVENTBASE["COLUMNAR_PROPERTY_KEYS"]
        keys = (
            [
                row[0]
                for row in cur.execute(
                    "SELECT k FROM (SELECT unnest(json_keys(properties)) AS k FROM columnar_day) "
                    "GROUP BY k ORDER BY count(*) DESC, k LIMIT ?",
                    [wanted],
                ).fetchall()
            ]
            if wanted
            else []
        )  # no typed keys wanted: no JSON pass to count them
        typed = "".join(
            f", v[{i}] AS {text_column(key)}, TRY_CAST(v[{i}] AS DOUBLE) AS {number_column(key)}"
            for i, key in enumerate(keys, start=1)
        )
        paths = ", ".join(duckdb_sql_string(json_path(key)) for key in keys)
        values = f", json_extract_string(properties, [{paths}]) AS v" if keys else ""
        result = cur.execute(
            f"COPY (SELECT {BASE_COLUMNS}, {GROUPS}{typed} FROM (SELECT *{values} FROM columnar_day) "
            'ORDER BY "timestamp") '
            f"TO {duckdb_sql_string(str(tmp))} (FORMAT parquet, COMPRESSION zstd)"
        ).fetchone()
        cur.execute("DROP TABLE columnar_day")
    finally:
        cur.close()
    os.replace(tmp, path)  # a query that read the manifest a moment ago opens the old or the new
    return (int(result[0]) if result else 0), keys


def columnar_forget(*, project_id: int, days: Iterable[dt.date] | None = None, before: dt.date | None = None) -> int:
    """Stop reading these days (or every day before ``before``) from files; the files are
    deleted when the caller's transaction commits. Returns the days forgotten."""
    with connection.cursor() as cur:
        if days is not None:
            cur.execute(
                "DELETE FROM events_columnar_day WHERE project_id = %s AND utc_date = ANY(%s) RETURNING utc_date",
                [project_id, sorted(set(days))],
            )
        else:
            cur.execute(
                "DELETE FROM events_columnar_day WHERE project_id = %s AND utc_date < %s RETURNING utc_date",
                [project_id, before or daysmod.LATEST_DAY],
            )
        gone = [row[0] for row in cur.fetchall()]
    paths = [columnar_path(project_id, day) for day in gone]
    transaction.on_commit(lambda: _unlink(paths))
    return len(gone)


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)

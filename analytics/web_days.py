"""The web rollup: each (project, local day) of the web overview's rows as Parquet files, so the
overview reads a few thousand rows a day instead of every event.

What a day holds is analytics.query.web_rows's relations of its events; a day is
built from the query layer's events (its columnar files, or PostgreSQL) in the project's time
zone, by ``web_days_build`` (a periodic job after the columnar tier's).

When a day's files may be read (``web_days_current``): its manifest row (``analytics_web_day``)
has the project's time zone and the current layout, no UTC day it overlaps has a dirty marker,
and those UTC days' columnar files are the ones it was built from (``sources``, their write
times, read before the events were). A late event marks its UTC day, and the day is computed
from its events until the columnar file and then the rollup are written again; so an answer
never misses a stored event. The files hold user ids, not persons: an identity merge changes
nothing stored (persons are joined when a query runs).

Erasure and retention forget the days whose events they remove (``web_days_forget``); their
files are deleted when that transaction commits.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import duckdb
from django.db import connection, transaction

from analytics.query.source import EventScope, events_relation
from analytics.query.web_rows import RELATIONS, base_sql
from core import days as daysmod
from core import locks
from events.columnar import READABLE_LAYOUT, columnar_root
from events.duck import ATTACHED_AS, duckdb_cursor

logger = logging.getLogger(__name__)

# Bumped when web_rows's relations change: days of an older layout are computed from events
# until rebuilt.
LAYOUT = 2  # 2: a visitors file
DAYS_PER_RUN = 60


def web_day_paths(project_id: int, day: dt.date) -> dict[str, Path]:
    folder = columnar_root() / "web" / f"project={int(project_id)}"
    return {kind: folder / f"{day.isoformat()}.{kind}.parquet" for kind in RELATIONS}


def utc_dates_of(day: dt.date, tz: zoneinfo.ZoneInfo) -> list[dt.date]:
    """The UTC dates a local day overlaps (one or two)."""
    lo, hi = daysmod.local_range_bounds(day, day, tz)
    return daysmod.days_between(
        lo.astimezone(dt.UTC).date(), (hi - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
    )


@dataclass(frozen=True)
class ColumnarState:
    """Of a range of UTC dates: the write time of each readable columnar file, and the dates
    with a dirty marker."""

    written: dict[dt.date, int]  # microseconds since the epoch (DuckDB gives no zoned datetimes)
    dirty: frozenset[dt.date]

    def stamp(self, utc_dates: list[dt.date]) -> str | None:
        """The files a local day over ``utc_dates`` is built from, as text; None while one is dirty."""
        if any(d in self.dirty for d in utc_dates):
            return None
        return ";".join(f"{d}={self.written.get(d, '-')}" for d in utc_dates)


def columnar_state(project_id: int, first: dt.date, last: dt.date) -> ColumnarState:
    """Asked through DuckDB's attached PostgreSQL, like the rest of a query-layer question, so a
    report keeps the Django queries it had."""
    p, between = int(project_id), f"BETWEEN DATE '{first}' AND DATE '{last}'"
    cur = duckdb_cursor()
    try:
        rows = cur.execute(
            f"SELECT utc_date, epoch_us(written_at), FALSE FROM {ATTACHED_AS}.public.events_columnar_day "
            f"WHERE project_id = {p} AND utc_date {between} AND layout >= {READABLE_LAYOUT} "
            f"UNION ALL SELECT DISTINCT utc_date, NULL, TRUE FROM {ATTACHED_AS}.public.events_columnar_dirty "
            f"WHERE project_id = {p} AND utc_date {between}"
        ).fetchall()
    finally:
        cur.close()
    written = {d: w for d, w, dirty in rows if not dirty}
    return ColumnarState(written, frozenset(d for d, _, dirty in rows if dirty))


def web_days_current(
    project_id: int, tz: zoneinfo.ZoneInfo, first: dt.date, last: dt.date
) -> dict[dt.date, frozenset[str]]:
    """The local days in first..last whose files may be read, with the dimensions some visit part
    of the day disagrees on (a filter on those reads the day's events)."""
    cur = duckdb_cursor()
    try:
        rows = cur.execute(
            f"SELECT local_date, sources, mixed FROM {ATTACHED_AS}.public.analytics_web_day "
            f"WHERE project_id = {int(project_id)} AND local_date BETWEEN DATE '{first}' AND DATE '{last}' "
            f"AND layout = {LAYOUT} AND tz = ?",
            [tz.key],
        ).fetchall()
    finally:
        cur.close()
    if not rows:
        return {}
    state = columnar_state(project_id, *_utc_span(first, last, tz))
    return {
        day: frozenset(mixed or ())
        for day, sources, mixed in rows
        if state.stamp(utc_dates_of(day, tz)) == sources
        and all(path.exists() for path in web_day_paths(project_id, day).values())
    }


def _utc_span(first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo) -> tuple[dt.date, dt.date]:
    return utc_dates_of(first, tz)[0], utc_dates_of(last, tz)[-1]


def web_days_build(*, max_days: int = DAYS_PER_RUN, deadline_seconds: float = 240.0) -> int:
    """Build the local days whose files are missing or stale and whose UTC days are settled,
    newest first; returns the days built. One builder at a time (an advisory lock): two could
    otherwise replace a newer file with an older one."""
    started, built = time.monotonic(), 0
    for project_id, tz, day in _stale_days():
        if built >= max_days or time.monotonic() - started > deadline_seconds:
            break
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [locks.WEB_ROLLUP])
            if not cur.fetchone()[0]:
                return built
            if web_day_build(project_id, tz, day):
                built += 1
    return built


def _stale_days() -> list[tuple[int, zoneinfo.ZoneInfo, dt.date]]:
    """(project, zone, local day) of every local day overlapping a columnar file whose rollup is
    missing or stale, newest first. A day retention has begun to remove is built from the events
    left, as the overview reads them without the rollup: the files mirror events, they are not
    kept longer like the aggregates."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.project_id, p.timezone, c.utc_date FROM events_columnar_day c "
            "JOIN projects_project p ON p.id = c.project_id ORDER BY c.utc_date DESC"
        )
        files = cur.fetchall()
        cur.execute("SELECT project_id, local_date, tz, layout, sources FROM analytics_web_day")
        built = {(p, day): (tz, layout, sources) for p, day, tz, layout, sources in cur.fetchall()}
    out, seen = [], set()
    for project_id, tz_name, utc_date in files:
        tz = daysmod.zone(tz_name)
        for day in sorted(daysmod.local_days_of_utc_date(utc_date, tz), reverse=True):
            if (project_id, day) not in seen:
                seen.add((project_id, day))
                out.append((project_id, tz, day))
    states: dict[int, ColumnarState] = {}
    stale = []
    for project_id, tz, day in out:
        if project_id not in states:
            days = [d for p, _, d in out if p == project_id]
            states[project_id] = columnar_state(project_id, *_utc_span(min(days), max(days), tz))
        stamp = states[project_id].stamp(utc_dates_of(day, tz))
        if stamp is not None and built.get((project_id, day)) != (tz.key, LAYOUT, stamp):
            stale.append((project_id, tz, day))
    return stale


def web_day_build(project_id: int, tz: zoneinfo.ZoneInfo, day: dt.date) -> bool:
    """Write one local day's files and its manifest row; False when a UTC day it overlaps is
    dirty (it is built once the columnar tier has caught up)."""
    stamp = columnar_state(project_id, *_utc_span(day, day, tz)).stamp(utc_dates_of(day, tz))
    if stamp is None:
        return False
    scope = EventScope(project_id, tz, day, day)
    relation, params = events_relation(scope)
    lo, hi = scope.bounds
    paths = web_day_paths(project_id, day)
    next(iter(paths.values())).parent.mkdir(parents=True, exist_ok=True)
    cur = duckdb_cursor()  # its own DuckDB connection: the temp table is not shared
    try:
        cur.execute(f"SET TimeZone = '{tz.key}'")
        cur.execute(f"CREATE OR REPLACE TEMP TABLE web_day AS {base_sql(relation, lo=lo, hi=hi, tz=tz)}", params)
        for kind, rows in RELATIONS.items():
            tmp = paths[kind].with_suffix(f".tmp{os.getpid()}")
            # COPY takes no parameters; the only literals here are our own path and dates.
            cur.execute(f"COPY ({rows('web_day')}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
            tmp.replace(paths[kind])
        mixed = _mixed(cur, paths["parts"])
        cur.execute("DROP TABLE web_day")
    finally:
        cur.close()
    with connection.cursor() as pg:
        pg.execute(
            "INSERT INTO analytics_web_day (project_id, local_date, tz, layout, sources, mixed, built_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, now()) ON CONFLICT (project_id, local_date) DO UPDATE SET "
            "tz = EXCLUDED.tz, layout = EXCLUDED.layout, sources = EXCLUDED.sources, mixed = EXCLUDED.mixed, "
            "built_at = EXCLUDED.built_at",
            [project_id, day, tz.key, LAYOUT, stamp, mixed],
        )
    return True


def _mixed(cur: duckdb.DuckDBPyConnection, parts: Path) -> list[str]:
    rows = cur.execute(f"SELECT DISTINCT unnest(mixed) FROM read_parquet('{parts}')").fetchall()
    return sorted(row[0] for row in rows)


def web_days_forget(*, project_id: int, days: set[dt.date] | None = None, before: dt.date | None = None) -> int:
    """Stop reading these local days (or every day before ``before``) from files; the files are
    deleted when the caller's transaction commits. Returns the days forgotten. Waits for a
    builder's day in progress (its lock), which could otherwise write a day's files again after
    they are deleted."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [locks.WEB_ROLLUP])
        if days is not None:
            cur.execute(
                "DELETE FROM analytics_web_day WHERE project_id = %s AND local_date = ANY(%s) RETURNING local_date",
                [project_id, sorted(days)],
            )
        else:
            cur.execute(
                "DELETE FROM analytics_web_day WHERE project_id = %s AND local_date < %s RETURNING local_date",
                [project_id, before or daysmod.LATEST_DAY],
            )
        gone = [row[0] for row in cur.fetchall()]
    paths = [path for day in gone for path in web_day_paths(project_id, day).values()]
    transaction.on_commit(lambda: _unlink(paths))
    return len(gone)


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)

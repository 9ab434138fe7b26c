"""Columnar tier: plain Parquet per (project, UTC day), as now, or DuckLake with its catalog in PostgreSQL?

    mkdir -p /tmp/ducklake-compare-days && cp .../columnar/project=1/*.parquet /tmp/ducklake-compare-days/
    .venv/bin/python bench/ducklake_compare.py

Snapshots the day files (COMPARE_FILES) into COMPARE_WORK (under /tmp; deleted at the end), writes
them as the tier does (plain), loads the same rows into a DuckLake table partitioned by UTC day whose
catalog is COMPARE_CATALOG's database (created anew, dropped at the end), and times on one DuckDB
connection (2 threads, UTC): four questions over the last 30 days (COMPARE_REPEAT runs after a
warm-up, default 10), the unit of change (one day's rows replaced, COMPARE_REWRITES times, default
20), what those changes leave behind, and DuckLake's maintenance.

No network: both extensions are LOADed from their wheels' files. The postgres one is copied to
``postgres_scanner.duckdb_extension`` first (DuckDB derives the entry point from the file name, and
its entry point is ``postgres_scanner_init``); the ducklake one loads as shipped.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

FILES = Path(os.environ.get("COMPARE_FILES", "/tmp/ducklake-compare-days"))
CATALOG = os.environ.get("COMPARE_CATALOG", "postgresql://postgres@127.0.0.1:5432/ducklake_bench")
WORK = Path(os.environ.get("COMPARE_WORK", "/tmp/ducklake-compare-work"))
REPEAT = int(os.environ.get("COMPARE_REPEAT", "10"))
REWRITES = int(os.environ.get("COMPARE_REWRITES", "20"))
WINDOW = 30  # days
TS = '"timestamp"'
DAY = f"CAST({TS} AS DATE)"  # the UTC day: the session's TimeZone is UTC
# DuckLake's day() transform is DuckDB's day(): the day of the month, so all three keys are needed.
PARTITION = f"year({TS}), month({TS}), day({TS})"
# In the order CHECKPOINT runs them, but expiry after the merges, so that the files those retire go too.
MAINTENANCE = [
    ("ducklake_flush_inlined_data", "'lake'"),
    ("ducklake_merge_adjacent_files", "'lake'"),
    ("ducklake_rewrite_data_files", "'lake'"),
    ("ducklake_expire_snapshots", "'lake', older_than => now()"),
    ("ducklake_cleanup_old_files", "'lake', cleanup_all => true"),
    ("ducklake_delete_orphaned_files", "'lake', cleanup_all => true"),
]
QUESTIONS = {
    "a Chrome users/day": "SELECT {day} AS day, count(DISTINCT user_id) FROM {src} WHERE {bound} "
    "AND {browser} = {chrome} GROUP BY 1 ORDER BY 1",
    "b ios top-10 paths/day": "SELECT {day} AS day, {path} AS path, count(*) AS n FROM {src} WHERE {bound} "
    "AND source = 'ios' AND {path} IS NOT NULL GROUP BY 1, 2 "
    "QUALIFY row_number() OVER (PARTITION BY day ORDER BY n DESC, path) <= 10 ORDER BY 1, 3 DESC, 2",
    "c p95 amount/day": "SELECT {day} AS day, quantile_cont({amount}, 0.95) FROM {src} WHERE {bound} "
    "AND event_name = 'purchase' GROUP BY 1 ORDER BY 1",
    "d purchases/day": "SELECT {day} AS day, count(*) FROM {src} WHERE {bound} "
    "AND event_name = 'purchase' GROUP BY 1 ORDER BY 1",
}

Timings = list[float]


def say(message: str = "") -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def lit(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


# The first row, the result drained: after fetchone() a maintenance call's changes were never committed.
def one(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    return tuple(con.execute(query).fetchall()[0])


def pct(values: Timings, q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def clock(fn: Callable[[], object], runs: int, warm_up: bool = True) -> Timings:
    if warm_up:
        fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def extension(package: str, shipped: str, load_as: str) -> Path:
    """The wheel's extension file, copied under the name whose entry point it has if that differs."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"{package} is not installed (make install)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
    path = folder / f"{shipped}.duckdb_extension"
    if not path.exists():
        sys.exit(f"no {path}: pin {package} to duckdb's version ({duckdb.__version__})")
    if shipped == load_as:
        return path
    target = WORK / "ext" / f"{load_as}.duckdb_extension"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return target


def admin(statement: sql.Composed) -> None:
    """A statement on the catalog's server, from its maintenance database."""
    with psycopg.connect(make_conninfo(CATALOG, dbname="postgres"), autocommit=True) as pg:
        pg.execute(statement)


def catalog_bytes() -> int:
    with psycopg.connect(CATALOG) as pg:
        return int(pg.execute("SELECT pg_database_size(current_database())").fetchall()[0][0])


def disk(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def prop(key: str, typed: set[str], number: bool = False) -> str:
    """The key's typed column if every file of the window has it, else what the tier extracts."""
    column = f"{'n' if number else 'p'}:{key}"
    text = f"json_extract_string(properties, '$.{key}')"
    return f'"{column}"' if column in typed else f"TRY_CAST({text} AS DOUBLE)" if number else text


def write_plain(con: duckdb.DuckDBPyConnection, source: Path, target: Path) -> None:
    """As the tier writes a day: sorted by time, zstd, to a temporary file moved into place."""
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    con.execute(
        f"COPY (SELECT * FROM read_parquet({lit(source)}) ORDER BY {TS}) TO {lit(tmp)} "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    os.replace(tmp, target)


def run(con: duckdb.DuckDBPyConnection, days: list[str]) -> None:
    src, plain, lake = WORK / "source", WORK / "plain", WORK / "lake"
    window = days[-WINDOW:]

    def files(folder: Path, names: list[str]) -> str:
        return "[" + ", ".join(lit(folder / f"{d}.parquet") for d in names) + "]"

    metadata = con.execute(f"SELECT file_name, num_rows FROM parquet_file_metadata({files(src, days)})").fetchall()
    rows = {Path(name).stem: int(n) for name, n in metadata}
    total = sum(rows.values())
    # The unit of change hits the newest full day of the window (a late event for yesterday).
    median = statistics.median(rows[d] for d in window)
    change_day = next(d for d in reversed(window) if rows[d] >= median / 2)
    say(f"{len(days)} day files, {total:,} rows; window {window[0]}..{window[-1]}; change day {change_day}")

    started = time.perf_counter()
    for d in days:
        write_plain(con, src / f"{d}.parquet", plain / f"{d}.parquet")
    plain_load = time.perf_counter() - started
    say(f"plain load: {plain_load:.1f} s ({total / plain_load:,.0f} rows/s), one COPY per day")

    con.execute(f"ATTACH {lit('ducklake:postgres:' + CATALOG)} AS lake (DATA_PATH {lit(str(lake) + '/')})")
    con.execute("CALL lake.set_option('parquet_compression', 'zstd')")  # its default is snappy; ours zstd
    con.execute(f"CREATE TABLE lake.events AS FROM read_parquet({files(src, days)}, union_by_name = true) LIMIT 0")
    con.execute(f"ALTER TABLE lake.events SET PARTITIONED BY ({PARTITION})")
    insert = "INSERT INTO lake.events BY NAME SELECT * FROM read_parquet({}) ORDER BY " + TS
    started = time.perf_counter()
    for d in days:
        con.execute(insert.format(lit(src / f"{d}.parquet")))
    lake_load = time.perf_counter() - started
    (lake_rows,) = one(con, "SELECT count(*) FROM lake.events")
    say(
        f"DuckLake load: {lake_load:.1f} s ({total / lake_load:,.0f} rows/s), one INSERT (snapshot) per day; "
        f"{lake_rows:,} rows" + ("" if lake_rows == total else "  MISMATCH")
    )

    filled = [d for d in window if rows[d]]  # the tier writes an empty day without typed columns
    schema = f"parquet_schema({files(src, filled)})"
    having = f"count(DISTINCT file_name) = {len(filled)}"
    typed = {name for (name,) in con.execute(f"SELECT name FROM {schema} GROUP BY name HAVING {having}").fetchall()}
    exprs = {"browser": prop("browser", typed), "path": prop("path", typed), "amount": prop("amount", typed, True)}
    # The brief says 'Chrome'; the generated data says 'chrome': take the spelling the data has.
    pick = f"SELECT {exprs['browser']} AS b FROM read_parquet({files(src, filled)}, union_by_name = true)"
    (chrome,) = one(con, f"SELECT coalesce(max(b), 'Chrome') FROM ({pick} WHERE lower(b) = 'chrome' LIMIT 1)")
    exprs["chrome"] = lit(chrome)
    say("property columns: " + ", ".join(f"{k} = {v}" for k, v in exprs.items()))
    first, hi = dt.date.fromisoformat(window[0]), dt.date.fromisoformat(window[-1]) + dt.timedelta(days=1)
    bound = f"{TS} >= TIMESTAMPTZ '{first} 00:00:00+00' AND {TS} < TIMESTAMPTZ '{hi} 00:00:00+00'"
    sources = {"plain": f"read_parquet({files(plain, window)}, union_by_name = true)", "lake": "lake.events"}
    queries = {
        (q, layout): text.format(day=DAY, src=source, bound=bound, **exprs)
        for q, text in QUESTIONS.items()
        for layout, source in sources.items()
    }
    for q in QUESTIONS:  # the same answers, or the timings mean nothing
        same = con.execute(queries[q, "plain"]).fetchall() == con.execute(queries[q, "lake"]).fetchall()
        say(f"{q}: same answer on both layouts: {same}" + ("" if same else "  MISMATCH"))

    def ask(query: str) -> Callable[[], object]:
        return lambda: con.execute(query).fetchall()

    def time_questions(layout: str) -> dict[str, Timings]:
        return {q: clock(ask(queries[q, layout]), REPEAT) for q in QUESTIONS}

    table: dict[str, dict[str, Timings]] = {"plain": {}, "lake": {}}
    for q in QUESTIONS:  # one question on both layouts in a row: the machine's other load hits both alike
        for layout, timings in table.items():
            timings[q] = clock(ask(queries[q, layout]), REPEAT)

    day = dt.date.fromisoformat(change_day)
    part = f"year={day.year}/month={day.month}/day={day.day}"
    day_bound = (
        f"{TS} >= TIMESTAMPTZ '{day} 00:00:00+00' AND {TS} < TIMESTAMPTZ '{day + dt.timedelta(days=1)} 00:00:00+00'"
    )
    new_version = src / f"{change_day}.parquet"

    def day_files(when: str) -> None:
        listed = f"ducklake_list_files('lake', 'events') WHERE data_file LIKE {lit('%/' + part + '/%')}"
        live, deletes = one(con, f"SELECT count(*), count(delete_file) FROM {listed}")
        on_disk = len(list((lake / "main" / "events" / part).glob("*")))
        (snaps,) = one(con, "SELECT count(*) FROM ducklake_snapshots('lake')")
        say(f"DuckLake {part} {when}: {live} live files, {deletes} delete files, {on_disk} on disk, {snaps} snapshots")

    def replace_lake() -> None:
        con.execute("BEGIN")
        con.execute(f"DELETE FROM lake.events WHERE {day_bound}")
        con.execute(insert.format(lit(new_version)))
        con.execute("COMMIT")

    day_files("after load")
    rewrite = lambda: write_plain(con, new_version, plain / f"{change_day}.parquet")  # noqa: E731
    changes = {
        "plain: rewrite the day's file, os.replace": clock(rewrite, REWRITES, warm_up=False),
        "DuckLake: DELETE day + INSERT, one txn": clock(replace_lake, REWRITES, warm_up=False),
    }
    day_files(f"after {REWRITES} replacements")
    table["lake, replaced"] = time_questions("lake")

    # What DuckLake allows instead: append the late event alone (inlined in the catalog when small).
    con.execute(f"CREATE TEMP TABLE late AS SELECT * FROM read_parquet({lit(new_version)}) LIMIT 1")
    late = "INSERT INTO lake.events BY NAME SELECT * REPLACE (uuid() AS event_id) FROM late"
    changes["DuckLake: INSERT one late event"] = clock(ask(late), REWRITES, warm_up=False)
    day_files(f"after {REWRITES} one-row appends")
    table["lake, appended"] = time_questions("lake")
    lake_before = disk(lake)

    available = {name for (name,) in con.execute("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall()}
    say("maintenance:")
    for name, args in MAINTENANCE:
        if name not in available:
            say(f"  {name}: not in this version")
            continue
        started = time.perf_counter()
        # Counted in SQL: some return TIMESTAMPTZ columns, which Python would need pytz to convert.
        (n,) = one(con, f"SELECT count(*) FROM {name}({args})")
        say(f"  {name}: {(time.perf_counter() - started) * 1000:,.0f} ms, {n} rows returned")
    day_files("after maintenance")
    table["lake, maintained"] = time_questions("lake")

    header = f"{'question (ms)':24}" + "".join(f"{c + ' p50':>22}{'p95':>7}" for c in table)
    say(f"\n{header}\n" + "-" * len(header))
    for q in QUESTIONS:
        say(f"{q:24}" + "".join(f"{pct(t[q], 50):22.1f}{pct(t[q], 95):7.1f}" for t in table.values()))
    say(f"\n{'unit of change, ' + change_day + f' ({rows[change_day]:,} rows)':44}{'p50 ms':>9}{'p95 ms':>9}")
    for label, t in changes.items():
        say(f"{label:44}{pct(t, 50):9.1f}{pct(t, 95):9.1f}")
    say(f"\n{'on disk':34}{'bytes':>14}{'files':>7}")
    for label, (size, count) in {
        "plain": disk(plain),
        "DuckLake data, before maintenance": lake_before,
        "DuckLake data, after maintenance": disk(lake),
        "DuckLake catalog (PostgreSQL db)": (catalog_bytes(), 0),
    }.items():
        say(f"{label:34}{size:14,}{count or '':>7}")
    say(f"load: plain {plain_load:.1f} s, DuckLake {lake_load:.1f} s")


def main() -> None:
    days = sorted(p.stem for p in FILES.glob("*.parquet"))
    if not days:
        sys.exit(f"no day files (YYYY-MM-DD.parquet) in {FILES} (COMPARE_FILES)")
    if not WORK.resolve().is_relative_to("/tmp") or WORK.resolve() == Path("/tmp"):
        sys.exit(f"COMPARE_WORK must be a folder under /tmp, not {WORK}")
    dbname = str(conninfo_to_dict(CATALOG).get("dbname") or "")
    if "bench" not in dbname:  # the database is dropped: refuse one that looks like anything else
        sys.exit(f"COMPARE_CATALOG's database must be a bench database (name with 'bench'), not {dbname!r}")
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "source").mkdir(parents=True)
    (WORK / "plain").mkdir()
    for d in days:  # a snapshot: the tier may rewrite the originals meanwhile
        shutil.copyfile(FILES / f"{d}.parquet", WORK / "source" / f"{d}.parquet")
    admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    config: dict[str, str | bool | int | float | list[str]] = {
        "threads": 2,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    con = duckdb.connect(config=config)
    try:
        con.execute("SET TimeZone = 'UTC'")  # DuckLake computes partition keys in the session's time zone
        con.execute(f"LOAD {lit(extension('duckdb_extension_postgres', 'postgres', 'postgres_scanner'))}")
        con.execute(f"LOAD {lit(extension('duckdb_extension_ducklake', 'ducklake', 'ducklake'))}")
        say(f"DuckDB {duckdb.__version__}, threads 2; catalog {CATALOG}; work {WORK}")
        run(con, days)
    finally:
        con.close()
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        shutil.rmtree(WORK, ignore_errors=True)
        say(f"cleaned up: database {dbname} dropped, {WORK} deleted")


if __name__ == "__main__":
    main()

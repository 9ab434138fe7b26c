"""What `make run`'s supervisor tells the web processes about its children: a small JSON file.

The supervisor (``config.supervisor``) rewrites the file atomically whenever a child changes state,
and every few seconds besides; /health and /metrics read it (``monitoring.processes``). Its path is
in every child's environment (``EVENTBASE_SUPERVISOR_STATE``); a web server that `make run` did
not start has no such variable, and nothing is reported. Django-free: the supervisor imports it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENV = "EVENTBASE_SUPERVISOR_STATE"

RUNNING = "running"
BACKOFF = "backoff"  # exited; waiting out its back-off before the next start
STOPPING = "stopping"

# "Crash-looping": this many restarts of one child within the window stop the stack.
CRASH_LOOP_RESTARTS = 5
CRASH_LOOP_WINDOW_SECONDS = 60.0


@dataclass
class ProcessStatus:
    name: str
    state: str
    pid: int | None = None
    restarts: int = 0
    restart_times: list[float] = field(default_factory=list)  # unix times, the last few
    last_exit: str | None = None  # "exited with status 1", "killed by SIGKILL"
    since: float = 0.0  # unix time of the last change of state
    next_start: float | None = None  # unix time, while in back-off

    def restarts_within(self, seconds: float, *, now: float | None = None) -> int:
        now = time.time() if now is None else now
        return sum(1 for t in self.restart_times if now - t <= seconds)


def state_write(path: Path, *, supervisor_pid: int, processes: list[ProcessStatus]) -> None:
    """Replace the file in one rename, so a reader never sees half of it."""
    body = {"supervisor_pid": supervisor_pid, "written_at": time.time(), "processes": [asdict(p) for p in processes]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body))
    os.replace(tmp, path)


def state_read(path: Path | None = None) -> list[ProcessStatus] | None:
    """The supervised processes, or None when no live supervisor wrote the file."""
    if path is None:
        named = os.environ.get(ENV)
        if not named:
            return None
        path = Path(named)
    try:
        body = json.loads(path.read_text())
        os.kill(int(body["supervisor_pid"]), 0)  # a file left by a supervisor that is gone says nothing
        return [ProcessStatus(**entry) for entry in body["processes"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None

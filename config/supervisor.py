"""The supervisor behind `make run`: children that exit are started again, with back-off.

On a single box `make run` is the production deployment, so one crashed or OOM-killed child must
not become an outage: each child (web, flush workers, background workers, scheduler, and the
embedded PostgreSQL and Valkey) is restarted when it exits, after 0.5 s, 1 s, 2 s … (at most
30 s; a child that ran for ``STABLE_AFTER_SECONDS`` starts from 0.5 s again). Only a crash loop,
``CRASH_LOOP_RESTARTS`` restarts of one child within ``CRASH_LOOP_WINDOW_SECONDS``, stops the
stack: that is a fault a restart will not mend, and it needs a person.

Every exit and restart is one JSON line on stdout, the same shape as the application's logs. The
children's states go to a file (``core.process_state``) that /health and /metrics read.

Why not supervisord, circus or honcho: honcho does not restart; supervisord and circus are daemons
of their own, configured by file, whose state the web processes would have to query over their
RPC interfaces. What `make run` needs on top of restarting (start the stores first and wait until
they answer, migrate, stop the stores last, tell /health and /metrics what is down) is a loop of
a couple of hundred lines over ``subprocess``, which this is.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.process_state import (
    BACKOFF,
    CRASH_LOOP_RESTARTS,
    CRASH_LOOP_WINDOW_SECONDS,
    RUNNING,
    STOPPING,
    ProcessStatus,
    state_write,
)

BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
STABLE_AFTER_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0
_HEARTBEAT_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1


def log_line(level: str, message: str, **fields: object) -> None:
    now = dt.datetime.now(dt.UTC)
    record = {
        # The format of the application's JSON log lines (config/settings.py LOGGING).
        "time": f"{now:%Y-%m-%d %H:%M:%S},{now.microsecond // 1000:03d}",
        "level": level.upper(),
        "logger": "eventbase.supervisor",
        "message": message,
        **fields,
    }
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


@dataclass
class Program:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    stop_signal: int = signal.SIGTERM
    log: Path | None = None  # the child's stdout and stderr; None: this process's own
    popen_kwargs: dict = field(default_factory=dict)
    ready: Callable[[], bool] | None = None  # a store: started means answering


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


def _die_with(stop_signal: int) -> Callable[[], None]:
    """Ask Linux to signal the child when this supervisor dies, even by SIGKILL: no orphans."""

    def preexec() -> None:
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, stop_signal)

    return preexec


class Child:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.popen: subprocess.Popen | None = None
        self.status = ProcessStatus(name=program.name, state=STOPPING, since=time.time())
        self.started = 0.0  # monotonic
        self.failures = 0  # exits in a row without a stable run
        self.next_start = 0.0  # monotonic

    def spawn(self) -> None:
        program = self.program
        out = open(program.log, "ab") if program.log else None  # noqa: SIM115 - handed to the child
        try:
            self.popen = subprocess.Popen(
                program.argv,
                env=program.env,
                cwd=program.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                # Its own session: a Ctrl-C in the terminal reaches the supervisor only, which
                # then stops the children in order (the stores last).
                start_new_session=True,
                preexec_fn=_die_with(program.stop_signal),
                **program.popen_kwargs,
            )
        finally:
            if out:
                out.close()
        self.started = time.monotonic()
        self.status.state, self.status.pid, self.status.since = RUNNING, self.popen.pid, time.time()
        self.status.next_start = None


class Supervisor:
    def __init__(self, state_path: Path | None, *, backoff_first: float = BACKOFF_FIRST_SECONDS) -> None:
        self.backoff_first = backoff_first
        self.children: dict[str, Child] = {}
        self.state_path = state_path
        self._written = 0.0

    def start(self, program: Program, *, ready_within: float = 60.0) -> None:
        """Start a child; a store is waited for until it answers (it must be up before the apps)."""
        child = self.children[program.name] = Child(program)
        child.spawn()
        if program.ready is not None:
            deadline = time.monotonic() + ready_within
            while not program.ready():
                assert child.popen is not None
                if child.popen.poll() is not None:
                    raise RuntimeError(f"{program.name} {describe_exit(child.popen.returncode)} at start-up")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{program.name} did not answer within {ready_within:.0f} s")
                time.sleep(0.1)
        self.write_state(force=True)

    def poll(self) -> str | None:
        """Restart what exited and is due; returns why the stack must stop (a crash loop), or None."""
        changed = False
        now = time.monotonic()
        for child in self.children.values():
            popen = child.popen
            if child.status.state == RUNNING and popen is not None and popen.poll() is not None:
                changed = True
                reason = self._exited(child, popen.returncode, now)
                if reason:
                    self.write_state(force=True)
                    return reason
            elif child.status.state == BACKOFF and now >= child.next_start:
                changed = True
                self._restart(child)
        self.write_state(force=changed)
        return None

    def _exited(self, child: Child, returncode: int, now: float) -> str | None:
        status = child.status
        status.last_exit = describe_exit(returncode)
        if status.restarts_within(CRASH_LOOP_WINDOW_SECONDS) >= CRASH_LOOP_RESTARTS:
            status.state, status.pid, status.since = STOPPING, None, time.time()
            reason = (
                f"{child.program.name} {status.last_exit} after {CRASH_LOOP_RESTARTS} restarts within "
                f"{CRASH_LOOP_WINDOW_SECONDS:.0f} s (crash loop)"
            )
            log_line("error", "crash loop: stopping the stack", process=child.program.name, exit=status.last_exit)
            return reason
        child.failures = 1 if now - child.started >= STABLE_AFTER_SECONDS else child.failures + 1
        delay = min(self.backoff_first * 2 ** (child.failures - 1), BACKOFF_MAX_SECONDS)
        child.next_start = now + delay
        status.state, status.pid, status.since = BACKOFF, None, time.time()
        status.next_start = time.time() + delay
        log_line(
            "warning",
            "process exited; restarting it",
            process=child.program.name,
            pid=child.popen.pid if child.popen else None,
            exit=status.last_exit,
            restart_in_seconds=delay,
        )
        return None

    def _restart(self, child: Child) -> None:
        try:
            child.spawn()
        except OSError as exc:  # e.g. out of memory for the fork: try again after the next back-off
            self._exited(child, 1, time.monotonic())
            log_line("error", "process could not be started", process=child.program.name, error=str(exc))
            return
        status = child.status
        status.restarts += 1
        status.restart_times = [*status.restart_times[-(CRASH_LOOP_RESTARTS * 2) :], time.time()]
        log_line(
            "warning",
            "process restarted",
            process=child.program.name,
            pid=status.pid,
            restarts=status.restarts,
            after=status.last_exit,
        )

    def write_state(self, *, force: bool = False) -> None:
        if self.state_path is None:
            return
        if not force and time.monotonic() - self._written < _HEARTBEAT_SECONDS:
            return
        self._written = time.monotonic()
        processes = [child.status for child in self.children.values()]
        state_write(self.state_path, supervisor_pid=os.getpid(), processes=processes)

    def stop_all(self) -> None:
        """Apps first, all at once; then the stores, in the reverse of their start order."""
        apps = [c for c in self.children.values() if c.program.ready is None]
        stores = [c for c in self.children.values() if c.program.ready is not None]
        self._stop(apps)
        for store in reversed(stores):
            self._stop([store])
        if self.state_path is not None:
            self.state_path.unlink(missing_ok=True)

    def _stop(self, children: list[Child]) -> None:
        live = [c for c in children if c.popen is not None and c.popen.poll() is None]
        for child in children:
            child.status.state = STOPPING
        for child in live:
            assert child.popen is not None
            child.popen.send_signal(child.program.stop_signal)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in live:
            assert child.popen is not None
            try:
                child.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.popen.kill()
                child.popen.wait()

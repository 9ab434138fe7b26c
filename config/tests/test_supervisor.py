"""The supervisor restarts what exits, with back-off, and stops only on a crash loop (real processes)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
import time

from config.supervisor import Program, Supervisor
from core.process_state import BACKOFF, CRASH_LOOP_RESTARTS, RUNNING, state_read


def _program(tmp_path, name: str, code: str) -> Program:
    return Program(name=name, argv=[sys.executable, "-c", code], env=dict(os.environ), cwd=tmp_path)


def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_child_is_started_again_and_counted(tmp_path, capsys):
    state = tmp_path / "processes.json"
    supervisor = Supervisor(state, backoff_first=0.05)
    try:
        supervisor.start(_program(tmp_path, "sleeper", "import time; time.sleep(60)"))
        [status] = state_read(state)
        first_pid = status.pid
        assert status.state == RUNNING and status.restarts == 0

        os.kill(first_pid, signal.SIGKILL)
        _until(lambda: supervisor.poll() is None and supervisor.children["sleeper"].status.restarts == 1)
        [status] = state_read(state)
        assert status.state == RUNNING and status.pid != first_pid
        assert status.last_exit == "killed by SIGKILL"
    finally:
        supervisor.stop_all()
    assert not state.exists()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["message"], line["process"]) for line in lines] == [
        ("process exited; restarting it", "sleeper"),
        ("process restarted", "sleeper"),
    ]
    assert lines[0]["exit"] == "killed by SIGKILL" and lines[0]["level"] == "WARNING"


def test_back_off_doubles_and_a_crash_loop_stops(tmp_path):
    state = tmp_path / "processes.json"
    supervisor = Supervisor(state, backoff_first=0.05)
    try:
        supervisor.start(_program(tmp_path, "crasher", "raise SystemExit(3)"))
        delays = []
        reason = None
        deadline = time.monotonic() + 20
        while reason is None and time.monotonic() < deadline:
            child = supervisor.children["crasher"]
            was = child.status.state
            reason = supervisor.poll()
            if was == RUNNING and child.status.state == BACKOFF:
                delays.append(round(child.next_start - time.monotonic(), 2))
            time.sleep(0.01)
        assert reason is not None and "crash loop" in reason and "exited with status 3" in reason
        assert supervisor.children["crasher"].status.restarts == CRASH_LOOP_RESTARTS
        assert len(delays) == CRASH_LOOP_RESTARTS
        assert all(later > earlier for earlier, later in itertools.pairwise(delays))
    finally:
        supervisor.stop_all()


def test_a_store_is_waited_for_and_stopped_last(tmp_path):
    marker = tmp_path / "ready"
    order = tmp_path / "order"
    store = Program(
        name="store",
        argv=[
            sys.executable,
            "-c",
            "import pathlib, signal, sys, time\n"
            f"signal.signal(signal.SIGINT, lambda *a: (open({str(order)!r}, 'a').write('store\\n'), sys.exit(0)))\n"
            f"time.sleep(0.3); pathlib.Path({str(marker)!r}).touch(); time.sleep(60)",
        ],
        env=dict(os.environ),
        cwd=tmp_path,
        stop_signal=signal.SIGINT,
        ready=marker.exists,
    )
    app = _program(
        tmp_path,
        "app",
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (open({str(order)!r}, 'a').write('app\\n'), sys.exit(0)))\n"
        "time.sleep(60)",
    )
    supervisor = Supervisor(None)
    supervisor.start(store)
    assert marker.exists(), "start() returns once the store answers"
    supervisor.start(app)
    time.sleep(0.3)  # let the app install its handler
    supervisor.stop_all()
    assert order.read_text().split() == ["app", "store"]

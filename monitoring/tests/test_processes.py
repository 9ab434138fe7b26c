"""What /health and /metrics say about the children of `make run`'s supervisor (from its state file)."""

from __future__ import annotations

import os
import time

import pytest

from core.process_state import BACKOFF, ENV, RUNNING, ProcessStatus, state_write
from monitoring.tests.test_pages import _samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervised(tmp_path, monkeypatch):
    """Write the supervisor's state file as `make run` would, with this process as the supervisor."""
    path = tmp_path / "processes.json"
    monkeypatch.setenv(ENV, str(path))

    def _write(*processes: ProcessStatus) -> None:
        state_write(path, supervisor_pid=os.getpid(), processes=list(processes))

    return _write


def test_all_children_running_is_ok_and_counted(client, supervised):
    now = time.time()
    supervised(
        ProcessStatus(name="web", state=RUNNING, pid=1, restarts=0),
        ProcessStatus(name="flusher-1", state=RUNNING, pid=2, restarts=2, restart_times=[now - 600, now - 300]),
    )
    assert client.get("/health").json()["status"] == "ok"
    samples = _samples(client.get("/metrics").content.decode())
    assert samples[("eventbase_process_restarts_total", (("process", "flusher-1"),))] == 2
    assert samples[("eventbase_process_restarts_total", (("process", "web"),))] == 0
    assert samples[("eventbase_process_up", (("process", "flusher-1"),))] == 1


def test_a_child_down_makes_health_degraded_with_the_reason(client, supervised):
    supervised(
        ProcessStatus(name="web", state=RUNNING, pid=1),
        ProcessStatus(
            name="flusher-2", state=BACKOFF, restarts=1, last_exit="killed by SIGKILL", next_start=time.time() + 2
        ),
    )
    body = client.get("/health").json()
    assert body["status"] == "degraded"
    [alert] = body["alerts"]
    assert alert["name"] == "process_down"
    assert alert["message"].startswith("flusher-2 is down (killed by SIGKILL); the supervisor starts it again in")
    samples = _samples(client.get("/metrics").content.decode())
    assert samples[("eventbase_process_up", (("process", "flusher-2"),))] == 0
    assert samples[("eventbase_alert_firing", (("alert", "process_down"),))] == 1


def test_a_crash_looping_child_is_degraded_while_up(client, supervised):
    now = time.time()
    supervised(
        ProcessStatus(
            name="scheduler",
            state=RUNNING,
            pid=3,
            restarts=3,
            restart_times=[now - 20, now - 10, now - 2],
            last_exit="exited with status 1",
        )
    )
    [alert] = client.get("/health").json()["alerts"]
    assert alert["name"] == "process_flapping" and "scheduler was restarted 3 times" in alert["message"]


def test_a_state_file_whose_supervisor_is_gone_says_nothing(client, tmp_path, monkeypatch):
    path = tmp_path / "processes.json"
    monkeypatch.setenv(ENV, str(path))
    state_write(path, supervisor_pid=2**22 + 12345, processes=[ProcessStatus(name="web", state=BACKOFF)])
    assert client.get("/health").json()["status"] == "ok"
    assert "eventbase_process_up" not in client.get("/metrics").content.decode()

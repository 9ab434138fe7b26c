"""Fault test: the real `make run` stack under load while its children are killed with SIGKILL in turn.

Every accepted event must be stored exactly once, and /health must be back to ``ok`` within 30 s
of each kill. Real processes, real signals, embedded PostgreSQL and Valkey of the stack's own, in
a data folder of the test's; the stack is stopped (and, failing that, killed) when the test ends.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from config import embedded
from config.settings import BASE_DIR
from core.process_state import RUNNING, state_read

RECOVERY_SECONDS = 30
BATCH = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = root / "stack.log"
        env = {
            k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"}
        }
        env.update(
            EVENTBASE_DATA_DIR=str(root),
            PORT=str(self.port),
            HOST="127.0.0.1",
            WEB_CONCURRENCY="2",
            INGEST_STREAM_SHARDS="2",
            SECRET_KEY="fault-test-secret-key",
        )
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "config.stack"],
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def health(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"{self.base}/health", timeout=3) as response:
                return json.load(response)
        except (OSError, ValueError):
            return None

    def pid_of(self, name: str) -> int | None:
        for p in state_read(self.root / "processes.json") or []:
            if p.name == name:
                return p.pid if p.state == RUNNING else None
        return None

    def whole_and_ok(self) -> bool:
        processes = state_read(self.root / "processes.json") or []
        health = self.health()
        return bool(processes) and all(p.state == RUNNING for p in processes) and (health or {}).get("status") == "ok"

    def stored(self) -> int:
        """Fault events in PostgreSQL now (a new connection each time: PostgreSQL is killed too)."""
        try:
            with psycopg.connect(embedded.default_database_url(self.root), connect_timeout=3) as conn:
                return conn.execute("SELECT count(*) FROM events WHERE event_name = 'fault'").fetchone()[0]
        except psycopg.Error:
            return -1

    def ingest_key(self) -> str:
        found = re.search(r"ingest key (\S+)", self.log.read_text())
        assert found, self.log.read_text()[-3000:]
        return found.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Sender(threading.Thread):
    """An SDK in a loop: batches with fresh event ids, each resent until the API answers 2xx."""

    def __init__(self, stack: Stack, key: str, *, max_events: int = 200_000) -> None:
        super().__init__(daemon=True)
        self.stack, self.key, self.max_events = stack, key, max_events
        self.sent: set[str] = set()
        # Answers other than 2xx, by status (None: no answer, e.g. while the web server restarts).
        self.refused: Counter[int | None] = Counter()
        self.unexpected: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set() and len(self.sent) < self.max_events:
            ids = [str(uuid.uuid4()) for _ in range(BATCH)]
            body = json.dumps(
                {"events": [{"event": "fault", "event_id": i, "user_id": f"u{n % 37}"} for n, i in enumerate(ids)]}
            ).encode()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                status = self._post(body)
                if status in (200, 202):
                    self.sent.update(ids)
                    break
                if status is not None and status < 500 and status != 429:
                    self.unexpected.append(f"status {status}")
                    return
                self.refused[status] += 1
                time.sleep(0.1)
            else:
                self.unexpected.append("a batch was refused for two minutes")
                return
            time.sleep(0.02)

    def _post(self, body: bytes) -> int | None:
        request = urllib.request.Request(
            f"{self.stack.base}/api/v1/events",
            data=body,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None


def _until(condition, seconds: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            return float("inf")
        time.sleep(0.2)
    return time.monotonic() - started


def _gunicorn_worker(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert children, "gunicorn has no workers"
    return int(children[0])


@pytest.fixture
def stack():
    if not os.environ.get("EVENTBASE_EMBEDDED_TEST_ROOT"):
        pytest.skip("runs in the embedded run of the suite (it starts a whole stack of its own either way)")
    root = Path(os.environ["EVENTBASE_EMBEDDED_TEST_ROOT"]).parent / "test-faults"
    embedded.stop_all_at(root)
    embedded.remove(root)
    root.mkdir(parents=True)
    running = Stack(root)
    try:
        ready = _until(lambda: running.health() is not None or running.process.poll() is not None, 180)
        assert ready != float("inf") and running.process.poll() is None, running.log.read_text()[-3000:]
        yield running
    finally:
        running.stop()
        embedded.stop_all_at(root)
        embedded.remove(root)


def test_killing_any_child_loses_nothing_and_the_stack_heals(stack):
    sender = Sender(stack, stack.ingest_key())
    sender.start()
    try:
        assert _until(lambda: len(sender.sent) >= 500, 30) != float("inf"), "the load did not start"
        victims = {
            "flusher-1": lambda: stack.pid_of("flusher-1"),
            "web worker": lambda: _gunicorn_worker(stack.pid_of("web")),
            "web": lambda: stack.pid_of("web"),
            "scheduler": lambda: stack.pid_of("scheduler"),
            "valkey": lambda: stack.pid_of("valkey"),
            "postgres": lambda: stack.pid_of("postgres"),
        }
        recovery = {}
        for name, pid_of in victims.items():
            assert _until(stack.whole_and_ok, RECOVERY_SECONDS) != float("inf"), f"not whole before killing {name}"
            before, stored_before = len(sender.sent), stack.stored()
            os.kill(pid_of(), signal.SIGKILL)
            time.sleep(0.5)  # let the supervisor notice before "whole and ok" is asked again
            recovery[name] = _until(stack.whole_and_ok, RECOVERY_SECONDS)
            assert recovery[name] < RECOVERY_SECONDS, f"/health not ok {RECOVERY_SECONDS} s after killing {name}"
            # Events keep being accepted, and stored, after each recovery.
            assert _until(lambda before=before: len(sender.sent) > before + BATCH, 20) != float("inf"), name
            flowing = _until(lambda n=stored_before: stack.stored() > n + BATCH, 20)
            assert flowing != float("inf"), f"nothing was stored for 20 s after killing {name}"
    finally:
        sender.stopping.set()
        sender.join(timeout=150)
    assert not sender.unexpected, sender.unexpected
    assert set(sender.refused) <= {503, None}, f"only 503s while a store restarts, never a 500: {sender.refused}"
    assert stack.process.poll() is None, "the stack stopped"

    url = embedded.default_database_url(stack.root)
    with psycopg.connect(url, autocommit=True) as conn:

        def stored() -> list[str]:
            rows = conn.execute("SELECT event_id::text FROM events WHERE event_name = 'fault'").fetchall()
            return [row[0] for row in rows]

        _until(lambda: len(stored()) >= len(sender.sent), 120)
        rows = stored()
    assert len(rows) == len(set(rows)), "an event was stored twice"
    assert set(rows) == sender.sent, f"{len(sender.sent - set(rows))} accepted events were lost"

    with urllib.request.urlopen(f"{stack.base}/metrics", timeout=10) as response:
        metrics = response.read().decode()
    for name in ("flusher-1", "web", "scheduler", "valkey", "postgres"):
        assert re.search(rf'eventbase_process_restarts_total{{process="{name}"}} [1-9]', metrics), name
    log = stack.log.read_text()
    assert log.count('"message": "process restarted"') >= len(victims) - 1  # a web worker is gunicorn's to restart
    print(f"recovery seconds: {recovery}; events: {len(rows)}; refused attempts: {sender.refused}")

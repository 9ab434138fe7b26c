"""``make run``: the whole stack in the foreground, one Ctrl-C to stop it.

Starts the embedded PostgreSQL and Valkey when ``DATABASE_URL`` / ``REDIS_URL`` are unset, checks
that both answer, migrates, makes sure a demo project exists, then runs the web server
(gunicorn), the RQ workers and the RQ cron scheduler as children. Children run in their own
sessions so that only this supervisor decides how they stop: on Ctrl-C or SIGTERM it asks each
to finish, waits, and stops the embedded servers last. If any child dies, everything stops
with a non-zero status rather than limping on half-alive.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config import embedded
from config.env import DEFAULT_STREAM_SHARDS

BASE_DIR = Path(__file__).resolve().parent.parent


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _children_commands(env: dict[str, str]) -> dict[str, list[str]]:
    python = sys.executable
    manage = str(BASE_DIR / "manage.py")
    # One flush worker per shard: a shard is drained by one worker at a time.
    flushers = int(env.get("RQ_WORKERS") or env.get("INGEST_STREAM_SHARDS") or DEFAULT_STREAM_SHARDS)
    background = int(env.get("RQ_BACKGROUND_WORKERS", "1"))
    commands = {
        "web": [
            python,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "-c",
            str(BASE_DIR / "config" / "gunicorn_conf.py"),
        ],
        "scheduler": [python, manage, "rqcron", "config.cron"],
    }
    # Flush workers listen only to the ingest queue, so a long rollup rebuild can never hold
    # back the flush (and the ingest-to-queryable lag); background workers take everything else.
    for n in range(flushers):
        commands[f"flusher-{n + 1}"] = [
            python,
            manage,
            "rqworker",
            "ingest",
            "--worker-class",
            "rq.worker.SimpleWorker",
        ]
    for n in range(background):
        commands[f"worker-{n + 1}"] = [
            python,
            manage,
            "rqworker",
            "rollups",
            "default",
            "--worker-class",
            "rq.worker.SimpleWorker",
        ]
    return commands


def _prepare(env: dict[str, str]) -> None:
    """Migrate and ensure the demo project, in a child so this process stays Django-free."""
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), "preflight"], env=env, check=True)
    subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "migrate", "--no-input", "-v", "0"], env=env, check=True
    )
    out = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "ensure_demo_project", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    demo = json.loads(out.stdout)
    port = env.get("PORT", "8000")
    base = f"http://localhost:{port}"
    _say("")
    _say(f"  eventbase is starting on {base}")
    _say(f"  health:        {base}/health")
    _say(
        f"  ingest:        curl -X POST {base}/api/v1/events -H 'Authorization: Bearer "
        f"{demo['ingest_key']}' -H 'Content-Type: application/json' -d '{{\"event\": \"signup\"}}'"
    )
    _say(f"  demo project:  {demo['slug']}  ingest key {demo['ingest_key']}  read key {demo['read_key']}")
    _say(f"  admin:         {base}/admin/  (create a login with: make superuser)")
    _say(f"  API docs:      {base}/api/docs/   metrics: {base}/metrics")
    _say("  Ctrl-C stops everything.")
    _say("")


def run() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    servers = None
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        root = embedded.data_dir()
        _say(f"starting embedded servers under {root} …")
        servers = embedded.start(root, postgres=not env.get("DATABASE_URL"), valkey=not env.get("REDIS_URL"))
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    status = 0
    try:
        try:
            _prepare(env)
        except subprocess.CalledProcessError as exc:
            return exc.returncode or 1
        for name, command in _children_commands(env).items():
            children[name] = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, start_new_session=True, cwd=BASE_DIR
            )
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    _say(f"{name} exited with status {child.returncode}; stopping the stack")
                    status, stopping = 1, True
                    break
            time.sleep(0.5)
    finally:
        _say("stopping …")
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if servers is not None:
            servers.stop()
        _say("stopped.")
    return status


if __name__ == "__main__":
    sys.exit(run())

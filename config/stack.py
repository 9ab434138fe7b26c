"""``make run``: the whole stack in the foreground, supervised, one Ctrl-C to stop it.

Starts the embedded PostgreSQL and Valkey when ``DATABASE_URL`` / ``REDIS_URL`` are unset and
waits until they answer, migrates, makes sure a demo project exists, then runs the web server
(gunicorn), the RQ workers and the RQ cron scheduler. Every child, the embedded servers included,
is supervised (config.supervisor): one that exits is started again with back-off, and only a crash
loop or Ctrl-C/SIGTERM stops the stack, the embedded servers last.

Without ``SECRET_KEY`` in the environment it uses a random key made once and kept in the data
folder (``core.env.local_secret_key``).
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
from config.supervisor import Program, Supervisor
from core import process_state
from core.env import DEFAULT_STREAM_SHARDS, local_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _children_commands(env: dict[str, str]) -> dict[str, list[str]]:
    python = sys.executable
    # Workers and the scheduler wait for the stores before they start (config.when_ready); the
    # web server starts at once: while a store is down it answers 503, which clients retry.
    manage = [python, "-m", "config.when_ready", str(BASE_DIR / "manage.py")]
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
        "scheduler": [*manage, "rqcron", "config.cron"],
    }
    # Flush workers listen only to the ingest queue, so a long rollup rebuild can never hold
    # back the flush (and the ingest-to-queryable lag); the rollup worker only to the rollups
    # queue, so maintenance (columnar files, catch-up, alerts) never delays the rollups (and the
    # ingest-to-report lag); background workers take the rest, and rollups when they are free.
    for n in range(flushers):
        commands[f"flusher-{n + 1}"] = [
            *manage,
            "rqworker",
            "ingest",
            "--worker-class",
            "rq.worker.SimpleWorker",
        ]
    commands["rollups"] = [*manage, "rqworker", "rollups", "--worker-class", "rq.worker.SimpleWorker"]
    for n in range(background):
        commands[f"worker-{n + 1}"] = [
            *manage,
            "rqworker",
            "default",
            "rollups",
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


def _store_programs(root: Path, env: dict[str, str]) -> list[Program]:
    """The embedded servers to start and supervise (none for a store given by URL, or already running)."""
    programs = []
    for name, url_variable, server_of in (
        ("postgres", "DATABASE_URL", embedded.postgres_server),
        ("valkey", "REDIS_URL", embedded.valkey_server),
    ):
        if env.get(url_variable):
            continue
        server = server_of(root)
        if server is None:
            _say(f"an embedded {name} already runs under this data folder: using it (not supervised)")
            continue
        programs.append(
            Program(
                name=name,
                argv=server.argv,
                env=env,
                cwd=server.log.parent,
                stop_signal=server.stop_signal,
                log=server.log,
                popen_kwargs=server.popen_kwargs,
                ready=server.ready,
            )
        )
    return programs


def run() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    root = embedded.data_dir()
    root.mkdir(parents=True, exist_ok=True)
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = local_secret_key(root)
    state_path = root / "processes.json"
    env[process_state.ENV] = str(state_path)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    supervisor = Supervisor(state_path)
    status = 0
    try:
        stores = _store_programs(root, dict(env))
        if stores:
            _say(f"starting embedded servers under {root} …")
        for program in stores:
            supervisor.start(program)
        try:
            _prepare(env)
        except subprocess.CalledProcessError as exc:
            return exc.returncode or 1
        for name, command in _children_commands(env).items():
            supervisor.start(Program(name=name, argv=command, env=env, cwd=BASE_DIR))
        while not stopping:
            reason = supervisor.poll()
            if reason is not None:
                _say(f"{reason}; stopping the stack")
                status = 1
                break
            time.sleep(0.2)
    except RuntimeError as exc:  # a store that would not start
        _say(f"error: {exc}")
        status = 1
    finally:
        _say("stopping …")
        supervisor.stop_all()
        _say("stopped.")
    return status


if __name__ == "__main__":
    sys.exit(run())

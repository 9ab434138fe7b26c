"""The `make run` stack, for the benches that measure it from outside (ingest, freshness).

Started as `make run` starts it (embedded PostgreSQL and Valkey under ``data_dir`` unless
DATABASE_URL/REDIS_URL are set), waited for until /health answers, given a project whose rate
limits do not get in the way, and stopped with everything it started.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from config import embedded

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stack:
    process: subprocess.Popen
    env: dict[str, str]
    port: int
    data_dir: Path
    database_url: str


def stack_start(*, data_dir: Path, port: int, log_name: str, keep_data: bool = False) -> Stack:
    """A fresh stack (the data folder emptied first unless ``keep_data``), healthy on ``port``."""
    env = dict(os.environ)
    env.update(EVENTBASE_DATA_DIR=str(data_dir), PORT=str(port), LOG_LEVEL=env.get("LOG_LEVEL", "WARNING"))
    if data_dir.exists() and not keep_data:
        embedded.stop_all_at(data_dir)
        embedded.remove(data_dir)
    print(f"starting the stack on :{port} (data under {data_dir}) …", flush=True)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = open(data_dir.parent / log_name, "w")  # noqa: SIM115 - the stack writes it until it stops
    process = subprocess.Popen(
        [sys.executable, "-m", "config.stack"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    stack = Stack(process, env, port, data_dir, env.get("DATABASE_URL") or embedded.default_database_url(data_dir))
    try:
        wait_http(port)
    except BaseException:
        stack_stop(stack)
        raise
    return stack


def wait_http(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the stack did not become healthy")


def unlimited_project(stack: Stack, *, prefix: str) -> dict:
    """A new project (``slug``, ``ingest_key``, ``read_key``) whose rate limits a bench cannot reach."""
    out = subprocess.run(
        [sys.executable, "manage.py", "create_project", f"{prefix}-{uuid.uuid4().hex[:6]}", "--json"],
        env=stack.env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    project = json.loads(out.stdout)
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE projects_project SET rate_limit_per_minute = 100000000, "
            "rate_limit_per_ip_per_minute = 100000000 WHERE slug = %s",
            [project["slug"]],
        )
    time.sleep(11)  # the API key cache (10 s) must see the raised limits
    return project


def stack_stop(stack: Stack) -> None:
    stack.process.send_signal(signal.SIGTERM)
    try:
        stack.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(stack.process.pid, signal.SIGKILL)
    embedded.stop_all_at(stack.data_dir)  # anything a killed stack left behind

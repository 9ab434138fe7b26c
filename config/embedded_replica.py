"""A streaming replica of the embedded PostgreSQL, made with the wheel's own ``pg_basebackup``.

For tests (and trying ``DATABASE_REPLICA_URLS`` on one machine): ``start_replica`` copies the
running embedded server under ``primary_root`` with ``pg_basebackup -R`` (which writes
``standby.signal`` and ``primary_conninfo``) into ``root`` and starts it as a hot standby on a
Unix socket of its own. The primary needs nothing extra: initdb's defaults are ``wal_level=replica``,
ten WAL senders and a ``local replication all trust`` line in pg_hba.conf.

Like ``config.embedded``, the server runs with its output in files, never on the caller's pipes.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from config import embedded
from config.embedded_paths import DATABASE_NAME, socket_dir


@dataclass
class ReplicaServer:
    root: Path
    sockets: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "postgres"

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql://postgres@/{database}?host={self.sockets}"

    def start(self) -> None:
        # A hot standby refuses to start with fewer connections than its primary allows: the
        # embedded server's settings, on the replica's own socket.
        settings = embedded._postgres_settings(self.sockets, durable=False) | {"hot_standby": "on"}
        options = " ".join(f"-c {name}='{value}'" for name, value in settings.items())
        embedded._pg_ctl(self.pgdata, "start", "-w", "-t", "60", "-l", str(self.pgdata / "server.log"), "-o", options)

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            embedded._pg_ctl(self.pgdata, "stop", "-m", "immediate", "-w", check=False)


def pg_basebackup_available() -> bool:
    try:
        return Path(embedded._pg_bin("pg_basebackup")).exists()
    except RuntimeError:
        return False


def start_replica(primary_root: Path, root: Path) -> ReplicaServer:
    """Copy the embedded primary under ``primary_root`` into ``root`` and start it as a standby."""
    root = root.resolve()
    pgdata = root / "postgres"
    sockets = socket_dir(root)
    sockets.mkdir(parents=True, exist_ok=True)
    pgdata.mkdir(parents=True, exist_ok=True)
    embedded._prepare_for_root(pgdata, sockets)
    with open(root / "basebackup.out", "ab") as out:
        subprocess.run(
            [
                embedded._pg_bin("pg_basebackup"),
                "-D",
                str(pgdata),
                "-h",
                str(socket_dir(primary_root.resolve())),
                "-U",
                "postgres",
                "-R",  # standby.signal + primary_conninfo: a streaming replica on start
                "-X",
                "stream",
                "-c",
                "fast",  # an immediate checkpoint, not a spread one: seconds, not minutes
                # A throwaway copy: no fsync of every file, no manifest to verify it by later.
                "--no-sync",
                "--no-manifest",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            check=True,
            timeout=300,
            **embedded._run_as_pg_user(),
        )
    replica = ReplicaServer(root=root, sockets=sockets)
    try:
        replica.start()
    except BaseException:
        replica.stop()
        raise
    return replica


def remove_replicas_under(parent: Path, pattern: str = "replica-*") -> None:
    """Stop and delete replicas a killed earlier run left in ``parent`` (folders named ``pattern``)."""
    for root in parent.glob(pattern):
        ReplicaServer(root=root, sockets=socket_dir(root)).stop()
        shutil.rmtree(root, ignore_errors=True)

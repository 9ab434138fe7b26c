"""Reads from PostgreSQL streaming replicas (``DATABASE_REPLICA_URLS``), writes to the primary.

Settings turn each replica URL into a database alias ``replica_0``, ``replica_1``, … Nothing reads
from them unless code asks: ``replica_reads()`` opens a scope (a context variable, so threads
and async tasks each have their own) in which ``read_alias()`` names a healthy replica, chosen
once per scope so that every read of one answer sees one replica. The reporting API opens that
scope around its reading handlers; ingestion, rollups, the columnar writer and every write never
do, so they read the primary. ``ReplicaRouter`` makes the ORM follow the same rule and sends every
write to the primary; after a write inside a scope, the scope's reads go to the primary too (they
may need to see it). Across requests, a write through the API leaves a fence (the primary's WAL
position, in Redis, per project): the project's reads then use only a replica that has replayed
that far, so a client reads its own writes.

A replica is used only while it is no more than ``REPLICA_MAX_LAG_SECONDS`` behind. The lag is an
upper bound on how stale its data is, measured without comparing clocks of two hosts:

- The primary's WAL insert position is sampled with each check (``pg_current_wal_insert_lsn``).
  A replica that has replayed up to that position holds everything the primary held: lag 0.
- Otherwise it holds at least what the primary held at the newest sample (kept for a while, in
  this process, with its monotonic time) whose position it has replayed: lag <= age of that
  sample. And it holds every transaction committed before the next one it has not replayed,
  which committed after the last one it did: lag <= ``now() - pg_last_xact_replay_timestamp()``
  (both on the replica's clock). The smaller of the two bounds counts; with neither, the replica
  is skipped.

A replica that does not answer (or is not in recovery: promoted, or a primary given by mistake)
is skipped; when none is usable, reads go to the primary. Results are cached for
``CHECK_SECONDS`` (``RETRY_SECONDS`` after a failure, so a dead host does not hold every request).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from redis.exceptions import RedisError

from core import keys
from core.redis import get_redis

logger = logging.getLogger(__name__)

ALIAS_PREFIX = "replica_"
CHECK_SECONDS = 1.0
RETRY_SECONDS = 5.0


@dataclass
class _Scope:
    alias: str | None = None  # chosen on the first read of the scope
    min_lsn: int = 0  # a replica must have replayed this far (read-your-writes across requests)
    wrote: bool = False


@dataclass(frozen=True)
class ReplicaState:
    """What the last check of one replica found."""

    alias: str
    usable: bool
    reason: str  # "ok", "lagging", "unreachable: …", "not in recovery"
    lag_seconds: float | None = None
    replay_lsn: int = 0
    checked_at: float = 0.0  # time.monotonic()


_scope: ContextVar[_Scope | None] = ContextVar("eventbase_replica_scope", default=None)
_lock = threading.Lock()
_states: dict[str, ReplicaState] = {}
# (monotonic time, primary WAL insert position) of recent checks, oldest first.
_samples: deque[tuple[float, int]] = deque(maxlen=512)
_next = [0]  # round robin over usable replicas


def replica_aliases() -> list[str]:
    return sorted(alias for alias in connections.settings if alias.startswith(ALIAS_PREFIX))


def max_lag_seconds() -> float:
    return float(settings.EVENTBASE["REPLICA_MAX_LAG_SECONDS"])


@contextmanager
def replica_reads(*, min_lsn: int = 0) -> Iterator[None]:
    """Reads inside may be answered by a replica (one per scope) no further behind than allowed."""
    token = _scope.set(_Scope(min_lsn=min_lsn))
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def primary_reads() -> Iterator[None]:
    """Reads inside go to the primary, even within a ``replica_reads`` scope (writers that read)."""
    token = _scope.set(None)
    try:
        yield
    finally:
        _scope.reset(token)


def read_alias() -> str:
    """The database alias reads should use now: the scope's replica, or the primary."""
    scope = _scope.get()
    if scope is None or scope.wrote:
        return DEFAULT_DB_ALIAS
    # Inside a transaction on the primary, reads belong to that transaction.
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    if scope.alias is None:
        scope.alias = _choose(scope.min_lsn)
    return scope.alias


def current_replica() -> str | None:
    """The replica this scope reads from, if it chose one."""
    scope = _scope.get()
    alias = scope.alias if scope is not None else None
    return alias if alias is not None and alias != DEFAULT_DB_ALIAS else None


def mark_failed(alias: str, error: BaseException) -> None:
    """A replica failed during a read: skip it until it is checked again."""
    if alias.startswith(ALIAS_PREFIX):
        with _lock:
            _states[alias] = ReplicaState(alias, False, f"unreachable: {str(error)[:200]}", checked_at=time.monotonic())
        with suppress(DatabaseError):  # already broken: the next use connects anew
            connections[alias].close()


def primary_lsn() -> int:
    """The primary's WAL insert position: a replica that replayed this far holds every commit so far."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cur:
        cur.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint")
        return int(cur.fetchone()[0])


def replica_state(alias: str, *, fresh: bool = False) -> ReplicaState:
    """The replica's state, checked at most every CHECK_SECONDS (RETRY_SECONDS after a failure)."""
    now = time.monotonic()
    with _lock:
        state = _states.get(alias)
    if state is not None and not fresh:
        ttl = CHECK_SECONDS if state.usable or state.reason in ("lagging", "ok") else RETRY_SECONDS
        if now - state.checked_at < ttl:
            return state
    state = _check(alias)
    if not state.reason.startswith("primary"):  # a primary outage says nothing about the replica
        with _lock:
            _states[alias] = state
    return state


def reset() -> None:
    """Forget every check and sample (tests that change the replicas)."""
    with _lock:
        _states.clear()
        _samples.clear()


def _choose(min_lsn: int) -> str:
    aliases = replica_aliases()
    if not aliases:
        return DEFAULT_DB_ALIAS
    with _lock:
        start = _next[0]
        _next[0] += 1
    for i in range(len(aliases)):
        alias = aliases[(start + i) % len(aliases)]
        state = replica_state(alias)
        if state.usable and state.replay_lsn >= min_lsn:
            return alias
    return DEFAULT_DB_ALIAS


def _check(alias: str) -> ReplicaState:
    try:
        primary = primary_lsn()
    except DatabaseError as exc:  # the primary is down: so is everything else; let callers meet it
        return ReplicaState(alias, False, f"primary unreachable: {str(exc)[:200]}", checked_at=time.monotonic())
    now = time.monotonic()
    with _lock:
        _samples.append((now, primary))
        horizon = now - max(60.0, 2 * max_lag_seconds())
        while _samples and _samples[0][0] < horizon:
            _samples.popleft()
        samples = list(_samples)
    try:
        with connections[alias].cursor() as cur:
            cur.execute(
                "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint, "
                "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8"
            )
            in_recovery, replay, since_replayed_commit = cur.fetchone()
    except DatabaseError as exc:
        connections[alias].close()
        logger.warning("replica unreachable", extra={"alias": alias, "error": str(exc)[:200]})
        return ReplicaState(alias, False, f"unreachable: {str(exc)[:200]}", checked_at=now)
    if not in_recovery or replay is None:
        logger.warning("replica is not in recovery; not reading from it", extra={"alias": alias})
        return ReplicaState(alias, False, "not in recovery", checked_at=now)
    lag = _lag(int(replay), primary, now, samples, since_replayed_commit)
    usable = lag is not None and lag <= max_lag_seconds()
    return ReplicaState(alias, usable, "ok" if usable else "lagging", lag, int(replay), now)


def _lag(
    replay: int, primary: int, now: float, samples: list[tuple[float, int]], since_commit: float | None
) -> float | None:
    if replay >= primary:
        return 0.0
    bounds: list[float] = []
    held = [at for at, lsn in samples if lsn <= replay]
    if held:
        bounds.append(now - max(held))
    if since_commit is not None:
        bounds.append(max(0.0, since_commit))
    return min(bounds) if bounds else None


# Keeps the larger position: two writers may finish in either order.
_FENCE = """
local old = redis.call('GET', KEYS[1])
if (not old) or tonumber(old) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""
NO_REPLICA = 2**63  # a fence no replica passes


def fence_after_write(project_id: int) -> None:
    """After a write for the project committed: its next reads use only a replica holding it.

    The fence outlives the lag limit: past it, every replica still in use holds the write."""
    if not replica_aliases():
        return
    ttl = int(max_lag_seconds()) + 5
    try:
        get_redis().eval(_FENCE, 1, keys.replica_fence(project_id), primary_lsn(), ttl)
    except (DatabaseError, RedisError) as exc:  # the write stands; its reader may meet a lagging replica
        logger.warning("replica fence not set", extra={"project_id": project_id, "error": str(exc)[:200]})


def project_fence(project_id: int) -> int:
    """How far a replica must have replayed to be read for the project (0: any)."""
    if not replica_aliases():
        return 0
    try:
        value = get_redis().get(keys.replica_fence(project_id))
    except RedisError:
        return NO_REPLICA  # the last write is unknown: read the primary
    return int(value) if value else 0


class ReplicaRouter:
    """Django database router: reads follow ``read_alias()``, writes and migrations the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        scope = _scope.get()
        if scope is not None:
            scope.wrote = True  # later reads of this scope may need to see the write
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # replicas hold the primary's rows

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS

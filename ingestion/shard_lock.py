"""Which flush worker drains a stream shard: a Redis lock per shard, taken over from a dead holder.

One worker at a time per shard keeps server sessions consistent (ingestion.sessions). The lock
expires ``LOCK_MS`` after its holder last renewed it, which frees the shard of a worker on another
machine that died. A worker killed on THIS machine (the OOM killer, a ``kill -9``, a Redis restart
that made it exit) is noticed at once instead: the lock's value names the holder's host and
process, and a worker that finds that process gone takes the lock over, and with it the stream
entries the dead one had read but not stored, rather than leaving the shard idle for up to 30 s
and its entries for ``FLUSH_CLAIM_IDLE_MS``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import cast

import redis
from redis.typing import StreamIdT

from core import keys
from ingestion import buffer

logger = logging.getLogger(__name__)

LOCK_MS = 30_000  # a dead worker's shard on another machine is free again after this long

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


def consumer_name() -> str:
    """This process as a stream consumer (and lock holder): host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


def lock_token() -> str:
    """A value for the locks one drain takes: its consumer, then something unique to the drain."""
    return f"{consumer_name()}:{uuid.uuid4().hex}"


def lock_key(shard: int) -> str:
    return keys.flush_lock(shard)


def lock_acquire(client: redis.Redis, shard: int, token: str) -> bool:
    """Take the shard's lock if it is free or its holder died on this machine."""
    key = lock_key(shard)
    if client.set(key, token, nx=True, px=LOCK_MS):
        return True
    holder = cast("bytes | None", client.get(key))  # replies are bytes (core.redis)
    if holder is None:
        return bool(client.set(key, token, nx=True, px=LOCK_MS))
    dead = _dead_local_consumer(holder.decode())
    if dead is None or not client.eval(_TAKE_OVER, 1, key, holder, token, LOCK_MS):
        return False
    adopted = _adopt_pending(client, buffer.stream_key(shard), dead=dead, consumer=token.rsplit(":", 1)[0])
    logger.warning(
        "took over the flush lock of a dead worker",
        extra={"shard": shard, "dead_consumer": dead, "adopted_entries": adopted},
    )
    return True


def lock_renew(client: redis.Redis, shard: int) -> None:
    client.pexpire(lock_key(shard), LOCK_MS)


def lock_release(client: redis.Redis, shard: int, token: str) -> None:
    client.eval(_RELEASE, 1, lock_key(shard), token)


def _dead_local_consumer(holder: str) -> str | None:
    """The holder's consumer name when it is a process of this machine that no longer exists."""
    consumer = holder.rsplit(":", 1)[0]
    host, _, pid = consumer.rpartition("-")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return consumer
    except PermissionError:  # alive, another user's
        return None
    return None


def _adopt_pending(client: redis.Redis, stream: str, *, dead: str, consumer: str) -> int:
    """Move the dead consumer's unacknowledged entries to ``consumer``, which reads its own first."""
    adopted = 0
    while True:
        pending = client.xpending_range(stream, buffer.GROUP, min="-", max="+", count=1000, consumername=dead)
        if not pending:
            break
        ids: list[StreamIdT] = [entry["message_id"] for entry in pending]
        claimed = client.xclaim(stream, buffer.GROUP, consumer, 0, ids, justid=True)
        adopted += len(claimed)
        if not claimed:  # only entries deleted meanwhile, which XCLAIM drops from the pending list
            break
    client.xgroup_delconsumer(stream, buffer.GROUP, dead)  # it owns nothing now
    return adopted

"""The Redis-stream buffer between the capture API and PostgreSQL.

Layout (all keys prefixed ``eb:``):
- ``eb:events:<shard>`` — streams, one per shard; an entry holds one request's accepted events
  for that shard as a JSON array (field ``d``), its project (``p``) and receive time (``r``, µs).
  Events are sharded by hash(project, user), so one user's events always meet in one shard and
  one flusher: server-side sessions need no cross-worker coordination. Throughput scales by
  adding shards (``INGEST_STREAM_SHARDS``) and workers; each shard is drained by one worker at
  a time under a lock.
- consumer group ``flushers`` on every shard; entries are acknowledged *and deleted* together
  after the PostgreSQL commit, so a stream holds exactly the entries not yet stored.
- ``eb:dd:<project>:<event_id>`` — dedupe window (SET NX EX) for client retries.
- ``eb:dlq`` — dead letters: entries that failed repeatedly, with the error; replayable.

The append is one Lua script, atomic in Redis: dedupe, XADD, ledger counters and the quota
counter happen together or not at all, so a client that retries after a lost reply is told its
events are duplicates instead of having them stored twice.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from django.conf import settings

from config.redis import get_redis

GROUP = "flushers"
DLQ = "eb:dlq"


def stream_key(shard: int) -> str:
    return f"eb:events:{shard}"


def shard_count() -> int:
    return settings.EVENTBASE["STREAM_SHARDS"]


def all_stream_keys() -> list[str]:
    return [stream_key(n) for n in range(shard_count())]


def shard_for(project_id: int, user_id: str) -> int:
    return zlib.crc32(f"{project_id}:{user_id}".encode()) % shard_count()


# KEYS: ledger hash, quota counter, then one stream key per shard used.
# ARGV: project id, dedupe ttl, received µs, the events, then ledger field/value pairs.
# The events travel as ONE argument, a line per event "<event id>\t<KEYS index>\t<JSON>": packing
# hundreds of separate arguments cost more CPU in redis-py than the script costs in Redis.
# (JSON from orjson never holds a raw newline or tab.) Returns a string of 1 (accepted) and
# 0 (duplicate), one character per event.
_APPEND = """
local project = ARGV[1]
local ttl = tonumber(ARGV[2])
local received = ARGV[3]
local flags = {}
local per_stream = {}
local accepted, n = 0, 0
local data, pos, size = ARGV[4], 1, #ARGV[4]
while pos <= size do
  -- Plain finds (memchr) rather than a pattern: a character-class scan of a 30 KB argument
  -- cost more than all the writes of the script.
  local line_end = string.find(data, '\\n', pos, true) or (size + 1)
  local tab1 = string.find(data, '\\t', pos, true)
  local tab2 = string.find(data, '\\t', tab1 + 1, true)
  n = n + 1
  local event_id = string.sub(data, pos, tab1 - 1)
  local fresh = true
  if ttl > 0 then
    fresh = redis.call('SET', 'eb:dd:' .. project .. ':' .. event_id, '1', 'NX', 'EX', ttl)
  end
  if fresh then
    accepted = accepted + 1
    flags[n] = '1'
    local key_index = tonumber(string.sub(data, tab1 + 1, tab2 - 1))
    local list = per_stream[key_index]
    if not list then list = {}; per_stream[key_index] = list end
    list[#list + 1] = string.sub(data, tab2 + 1, line_end - 1)
  else
    flags[n] = '0'
  end
  pos = line_end + 1
end
for key_index, blobs in pairs(per_stream) do
  local data = '[' .. table.concat(blobs, ',') .. ']'
  redis.call('XADD', KEYS[key_index], '*', 'p', project, 'r', received, 'd', data)
end
redis.call('HINCRBY', KEYS[1], 'accepted', accepted)
if n > accepted then redis.call('HINCRBY', KEYS[1], 'duplicate', n - accepted) end
for pos = 5, #ARGV - 1, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[pos], tonumber(ARGV[pos + 1]))
end
redis.call('EXPIRE', KEYS[1], 259200)
redis.call('SADD', 'eb:ledger:dirty', KEYS[1])
if accepted > 0 then
  redis.call('INCRBY', KEYS[2], accepted)
  redis.call('EXPIRE', KEYS[2], 3024000)
end
return table.concat(flags)
"""


@dataclass(frozen=True)
class StreamEvent:
    event_id: str
    shard: int
    blob: bytes  # the event as JSON, exactly as the flusher will read it


class BufferUnavailable(Exception):
    """Redis could not be reached or refused the write; nothing of the request was buffered."""


_script = None


def _append_script(client: redis.Redis):
    global _script
    if _script is None:
        _script = client.register_script(_APPEND)
    return _script


def append(
    *,
    project_id: int,
    received_us: int,
    events: Sequence[StreamEvent],
    ledger_key: str,
    quota_key: str,
    ledger_counts: dict[str, int],
) -> list[bool]:
    """Buffer events atomically; returns, per event, True if accepted and False if a duplicate."""
    client = get_redis()
    shards = sorted({event.shard for event in events})
    key_index = {shard: n + 3 for n, shard in enumerate(shards)}
    lines = b"\n".join(
        b"%s\t%d\t%s" % (event.event_id.encode(), key_index[event.shard], event.blob) for event in events
    )
    args: list[object] = [project_id, settings.EVENTBASE["DEDUPE_WINDOW_SECONDS"], received_us, lines]
    for name, value in ledger_counts.items():
        if value:
            args += (name, value)
    keys = [ledger_key, quota_key, *(stream_key(shard) for shard in shards)]
    try:
        flags = _append_script(client)(keys=keys, args=args)
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError) as exc:
        # ResponseError covers OOM under noeviction and a read-only replica: nothing was written.
        raise BufferUnavailable(str(exc)) from exc
    return [flag == 49 for flag in flags]  # b"1"


def ensure_groups(client: redis.Redis | None = None) -> None:
    """Create the consumer group on every shard (from the beginning, so nothing is skipped)."""
    client = client or get_redis()
    for key in all_stream_keys():
        try:
            client.xgroup_create(key, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

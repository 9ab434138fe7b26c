"""The Redis-stream buffer between the capture API and PostgreSQL.

Layout (all keys prefixed ``eb:``):
- ``eb:events:<shard>`` — streams, one per shard; an entry holds one request's accepted events
  for that shard as newline-separated records (field ``e``, see ``ingestion.records``), its
  project (``p``), receive time (``r``, µs) and the records' version (``v``, absent before the
  web columns). Entries written before records existed hold a JSON array in ``d`` instead; the
  flusher still reads both older shapes.
  Events are sharded by hash(project, user), so one user's events always meet in one shard and
  one flusher: server-side sessions need no cross-worker coordination. Throughput scales by
  adding shards (``INGEST_STREAM_SHARDS``) and workers; each shard is drained by one worker at
  a time under a lock.
- ``eb:streams`` — every stream the append script has written to. Readers go by it as well as by
  ``INGEST_STREAM_SHARDS``, so lowering the shard count strands nothing: a retired shard is still
  drained and shown until it is empty, then forgotten.
- consumer group ``flushers`` on every shard; entries are acknowledged *and deleted* together
  after the PostgreSQL commit, so a stream holds exactly the entries not yet stored.
- ``eb:dd:<project>:<window>`` — sets of the event ids accepted per dedupe window, so a client
  retry is recognised for one to two windows (``INGEST_DEDUPE_WINDOW_SECONDS``, default a day).
- ``eb:dlq`` — dead letters: entries that failed repeatedly, with the error; replayable.

The append is one Lua script, atomic in Redis: dedupe, XADD, ledger counters and the quota
counter happen together or not at all, so a client that retries after a lost reply is told its
events are duplicates instead of having them stored twice.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import NamedTuple, cast

import redis
from django.conf import settings
from redis.commands.core import Script
from redis.typing import EncodableT

from core import keys
from core.redis import get_redis
from ingestion import records

GROUP = "flushers"
DLQ = keys.DLQ
STREAMS = keys.STREAMS


def stream_key(shard: int) -> str:
    return keys.stream(shard)


def shard_count() -> int:
    return settings.EVENTBASE["STREAM_SHARDS"]


def shard_for(project_id: int, user_id: str, shards: int | None = None) -> int:
    """The shard of a user's events (``shards``: ``shard_count()``, passed in by a caller that loops)."""
    return zlib.crc32(f"{project_id}:{user_id}".encode()) % (shards or shard_count())


def shard_of(key: str) -> int:
    return int(key.rsplit(":", 1)[1])


def configured_stream_keys() -> list[str]:
    """The streams new events go to (``INGEST_STREAM_SHARDS``)."""
    return [stream_key(n) for n in range(shard_count())]


def all_stream_keys(client: redis.Redis | None = None) -> list[str]:
    """The configured streams, then any other stream that was written to and is not yet empty.

    A web process started with a higher ``INGEST_STREAM_SHARDS`` (before the setting was lowered,
    or during a rolling restart) may have left events in a shard the configuration no longer names.
    """
    configured = configured_stream_keys()
    members = cast("set[bytes]", (client or get_redis()).smembers(STREAMS))  # replies are bytes (core.redis)
    registered = {key.decode() for key in members}
    return configured + sorted(registered.difference(configured), key=shard_of)


# Atomic with the append script (which registers a stream as it writes to it), so an entry can
# never land in a stream that was just forgotten. The shard's session state goes with it: its
# users' events now go to other shards, which keep their own.
_RETIRE = """
if redis.call('XLEN', KEYS[1]) > 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], KEYS[1])
return 1
"""


def retire_if_empty(client: redis.Redis, key: str, session_key: str) -> bool:
    """Forget a stream the configuration no longer names, once it holds nothing (True: forgotten)."""
    return bool(client.eval(_RETIRE, 3, key, session_key, STREAMS))


# KEYS: ledger hash, quota counter, dedupe set of this window, of the previous window, the stream
#       registry, the set of dirty ledger minutes, then one stream key per shard used.
# ARGV: project id, dedupe ttl (0: no dedupe), received µs, the events, the ledger's and the quota
#       counter's lifetimes, the records' version, then ledger field/value pairs. (Names and lifetimes: core/keys.py.)
# The events travel as ONE argument, a line per event "<event id>\t<KEYS index>\t<record>": packing
# hundreds of separate arguments cost more CPU in redis-py than the script costs in Redis.
# (A record never holds a raw newline.) Returns a string of 1 (accepted) and
# 0 (duplicate), one character per event.
#
# Dedupe uses one Redis set per project and window (SMISMEMBER on this window's and the previous
# window's set, then one SADD), rather than a key per event: a hundred SET NX EX per request made
# Valkey the second-largest CPU user of the pipeline. An id is recognised for one to two windows.
_APPEND = """
local project = ARGV[1]
local ttl = tonumber(ARGV[2])
local received = ARGV[3]
local data, pos, size = ARGV[4], 1, #ARGV[4]
local ids, shards, blobs = {}, {}, {}
while pos <= size do
  -- Plain finds (memchr) rather than a pattern: a character-class scan of a 30 KB argument is slow.
  local line_end = string.find(data, '\\n', pos, true) or (size + 1)
  local tab1 = string.find(data, '\\t', pos, true)
  local tab2 = string.find(data, '\\t', tab1 + 1, true)
  ids[#ids + 1] = string.sub(data, pos, tab1 - 1)
  shards[#shards + 1] = tonumber(string.sub(data, tab1 + 1, tab2 - 1))
  blobs[#blobs + 1] = string.sub(data, tab2 + 1, line_end - 1)
  pos = line_end + 1
end
local n = #ids
local seen_now, seen_before = {}, {}
if ttl > 0 and n > 0 then
  seen_now = redis.call('SMISMEMBER', KEYS[3], unpack(ids))
  seen_before = redis.call('SMISMEMBER', KEYS[4], unpack(ids))
end
local flags, fresh_ids, per_stream, taken = {}, {}, {}, {}
local accepted = 0
for i = 1, n do
  local id = ids[i]
  if seen_now[i] == 1 or seen_before[i] == 1 or taken[id] then
    flags[i] = '0'
  else
    taken[id] = true
    flags[i] = '1'
    accepted = accepted + 1
    fresh_ids[#fresh_ids + 1] = id
    local list = per_stream[shards[i]]
    if not list then list = {}; per_stream[shards[i]] = list end
    list[#list + 1] = blobs[i]
  end
end
if ttl > 0 and accepted > 0 then
  redis.call('SADD', KEYS[3], unpack(fresh_ids))
  redis.call('EXPIRE', KEYS[3], 2 * ttl + 3600)
end
for key_index, list in pairs(per_stream) do
  redis.call('XADD', KEYS[key_index], '*', 'p', project, 'r', received, 'v', ARGV[7], 'e', table.concat(list, '\\n'))
  redis.call('SADD', KEYS[5], KEYS[key_index])
end
redis.call('HINCRBY', KEYS[1], 'accepted', accepted)
if n > accepted then redis.call('HINCRBY', KEYS[1], 'duplicate', n - accepted) end
for i = 8, #ARGV - 1, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], tonumber(ARGV[i + 1]))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
redis.call('SADD', KEYS[6], KEYS[1])
if accepted > 0 then
  redis.call('INCRBY', KEYS[2], accepted)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
end
return table.concat(flags)
"""


class StreamEvent(NamedTuple):
    event_id: str
    shard: int
    record: str  # the event as the flusher will COPY it (ingestion.records)


class BufferUnavailable(Exception):
    """Redis could not be reached or refused the write; nothing of the request was buffered."""


_script: Script | None = None


def _append_script(client: redis.Redis) -> Script:
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
    key_index = {shard: n + 7 for n, shard in enumerate(shards)}
    lines = "\n".join(f"{event.event_id}\t{key_index[event.shard]}\t{event.record}" for event in events).encode()
    window = settings.EVENTBASE["DEDUPE_WINDOW_SECONDS"]
    bucket = received_us // 1_000_000 // window if window else 0
    args: list[EncodableT] = [
        project_id,
        window,
        received_us,
        lines,
        keys.LEDGER_TTL_SECONDS,
        keys.QUOTA_TTL_SECONDS,
        records.VERSION,
    ]
    for name, value in ledger_counts.items():
        if value:
            args += (name, value)
    script_keys = [
        ledger_key,
        quota_key,
        keys.dedupe(project_id, bucket),
        keys.dedupe(project_id, bucket - 1),
        keys.STREAMS,
        keys.LEDGER_DIRTY,
        *(stream_key(shard) for shard in shards),
    ]
    try:
        flags = _append_script(client)(keys=script_keys, args=args)
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError) as exc:
        # ResponseError covers OOM under noeviction and a read-only replica: nothing was written.
        raise BufferUnavailable(str(exc)) from exc
    return [flag == 49 for flag in flags]  # b"1"


def ensure_groups(client: redis.Redis | None = None) -> list[str]:
    """Create the consumer group on every stream (from the beginning, so nothing is skipped); returns the streams."""
    client = client or get_redis()
    streams = all_stream_keys(client)
    for key in streams:
        try:
            client.xgroup_create(key, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
    return streams

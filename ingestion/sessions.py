"""Server-side sessions for events sent without a session id: 60 minutes of inactivity close one.

State per user ("<session id> <last µs>") lives in one Redis hash per stream shard. Streams are
sharded by user and each shard has one flusher at a time, so no two workers ever update the same
user's state concurrently; the flush assigns sessions just before it writes a batch.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict

import redis

from core import keys
from core.redis import get_redis
from ingestion import buffer, records
from ingestion.records import Entry

SESSION_GAP_US = 60 * 60 * 1_000_000  # a session closes after 60 minutes without events


def session_key(stream: str) -> str:
    return keys.sessions(stream)


# Session state moves in and out as one newline-joined string each way: per-field arguments
# made the Redis client's argument packing cost more CPU than the whole COPY. Inside the script,
# one variadic HMGET/HSET per few thousand users instead of a redis.call per user halves the
# script's time (Lua's unpack() is bounded by its stack, hence the chunks).
_SESSIONS_GET = """
local data, pos, size = ARGV[1], 1, #ARGV[1]
local fields, out = {}, {}
while pos <= size do
  local line_end = string.find(data, '\\n', pos, true) or (size + 1)
  fields[#fields + 1] = string.sub(data, pos, line_end - 1)
  pos = line_end + 1
end
for i = 1, #fields, 4000 do
  local states = redis.call('HMGET', KEYS[1], unpack(fields, i, math.min(i + 3999, #fields)))
  for j = 1, #states do out[#out + 1] = states[j] or '' end
end
return table.concat(out, '\\n')
"""
_SESSIONS_SET = """
local data, pos, size = ARGV[1], 1, #ARGV[1]
local args = {}
while pos <= size do
  local line_end = string.find(data, '\\n', pos, true) or (size + 1)
  local tab = string.find(data, '\\t', pos, true)
  args[#args + 1] = string.sub(data, pos, tab - 1)
  args[#args + 1] = string.sub(data, tab + 1, line_end - 1)
  pos = line_end + 1
end
for i = 1, #args, 4000 do
  redis.call('HSET', KEYS[1], unpack(args, i, math.min(i + 3999, #args)))
end
return 1
"""


def session_field(project_id: int, user_id: str) -> str:
    """The field of a user's server-session state in its shard's hash."""
    return f"{project_id}:{records.copy_escape(user_id)}"


def assign_sessions(client: redis.Redis, entries: list[Entry]) -> None:
    """Give events without a client session id a server session (60 minutes of inactivity).

    State per user ("<session id> <last µs>") lives in one Redis hash per shard. Streams are
    sharded by user and each shard has one flusher at a time, so no two workers ever update the
    same user's state concurrently. ``sessions_sweep`` drops users idle longer than a session.
    """
    by_hash: dict[str, dict[str, list[list[str]]]] = defaultdict(dict)
    for entry in entries:
        prefix = f"{entry.project_id}:"
        users = by_hash[session_key(entry.stream)]
        for record in entry.records:
            if not record[2]:
                # session_field(), inlined: the user is already COPY-escaped in the record, so the
                # field holds no raw newline or tab (the scripts' framing).
                user_field = prefix + record[1]
                pending = users.get(user_field)
                if pending is None:
                    users[user_field] = [record]
                else:
                    pending.append(record)
    for hash_key, users in by_hash.items():
        if not users:
            continue
        states = client.eval(_SESSIONS_GET, 1, hash_key, "\n".join(users)).split(b"\n")
        updates = []
        for (user_field, pending), state in zip(users.items(), states, strict=True):
            session, last = None, None
            if state:
                session, _, last_text = state.decode().partition(" ")
                last = int(last_text)
            if len(pending) > 1:
                pending.sort(key=lambda record: int(record[0]))
            for record in pending:
                ts = int(record[0])
                # A user with no state yet has neither; both are tested so the type checker knows it.
                if session is None or last is None or abs(ts - last) > SESSION_GAP_US:
                    session = os.urandom(16).hex()
                record[2] = session
                if last is None or ts > last:
                    last = ts
            updates.append(f"{user_field}\t{session} {last}")
        client.eval(_SESSIONS_SET, 1, hash_key, "\n".join(updates))


def sessions_sweep(*, now_us: int | None = None) -> int:
    """Forget users whose last event is older than any session could still be open."""
    client = get_redis()
    cutoff = (now_us or int(time.time() * 1_000_000)) - 2 * SESSION_GAP_US
    removed = 0
    for stream in buffer.all_stream_keys(client):
        key = session_key(stream)
        stale = [field for field, value in client.hscan_iter(key, count=1000) if int(value.split(b" ", 1)[1]) < cutoff]
        for offset in range(0, len(stale), 1000):
            removed += client.hdel(key, *stale[offset : offset + 1000])
    return removed

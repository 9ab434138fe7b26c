"""The dead-letter stream: entries the flusher gave up on, kept with their error until replayed."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass

import orjson
import redis
from django.conf import settings
from redis.typing import EncodableT

from core import keys
from core.redis import get_redis, stream_entries
from ingestion import buffer, records

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    id: str
    stream: str
    entry_id: str
    project_id: int | None
    events: int | None
    error: str
    failed_at: int


def dead_letters_list(*, limit: int = 100) -> list[DeadLetter]:
    letters = []
    for letter_id, fields in stream_entries(get_redis().xrange(buffer.DLQ, count=limit)):
        events = _event_count(fields)
        letters.append(
            DeadLetter(
                id=letter_id.decode(),
                stream=fields.get(b"stream", b"").decode(),
                entry_id=fields.get(b"entry_id", b"").decode(),
                project_id=int(fields[b"p"]) if fields.get(b"p", b"").isdigit() else None,
                events=events,
                error=fields.get(b"error", b"").decode(errors="replace"),
                failed_at=int(fields.get(b"failed_at", b"0")),
            )
        )
    return letters


def _event_count(fields: dict[bytes, bytes]) -> int | None:
    if b"e" in fields:
        return fields[b"e"].count(b"\n") + 1
    try:
        return len(orjson.loads(fields.get(b"d", b"[]")))
    except (orjson.JSONDecodeError, TypeError):
        return None


def dead_letters_naming(*, project_id: int, user_ids: Collection[str], page: int = 1000) -> list[str]:
    """The ids of the project's dead letters that hold events sent under one of ``user_ids``.

    A letter whose records cannot be read is included too: it may hold them. For an erasure's
    report: the letters are not erased, and replaying them would store those events again.
    """
    client = get_redis()
    wanted, project = set(user_ids), str(project_id).encode()
    found: list[str] = []
    start = "-"
    while True:
        letters = stream_entries(client.xrange(buffer.DLQ, min=start, count=page))
        for letter_id, fields in letters:
            if fields.get(b"p") != project:
                continue
            senders = _senders(fields)
            if senders is None or not wanted.isdisjoint(senders):
                found.append(letter_id.decode())
        if len(letters) < page:
            return found
        start = "(" + letters[-1][0].decode()


def _senders(fields: dict[bytes, bytes]) -> set[str | None] | None:
    """The user ids a letter's events were sent under (None for a NULL one); None when it cannot be read."""
    try:
        if b"e" in fields:
            return {records.copy_unescape(records.split(line)[1]) for line in fields[b"e"].decode().split("\n")}
        return {str(event["u"]) for event in orjson.loads(fields[b"d"])}
    except (KeyError, ValueError, TypeError):  # decoding and JSON errors are ValueErrors
        return None


def dead_letters_count(*, client: redis.Redis | None = None) -> int:
    return (client or get_redis()).xlen(buffer.DLQ)


def dead_letters_replay(*, ids: list[str] | None = None) -> int:
    """Put dead letters back on their stream (as new entries) and remove them from the DLQ.

    The flusher stores them with ON CONFLICT DO NOTHING, so replaying a letter whose events were
    partly stored already is safe. Each letter moves in one transaction: never lost, never twice.
    """
    client = get_redis()
    buffer.ensure_groups(client)
    replayed = 0
    for raw_id, fields in stream_entries(client.xrange(buffer.DLQ)):
        letter_id = raw_id.decode()
        if ids is not None and letter_id not in ids:
            continue
        stream = fields.get(b"stream", b"").decode()
        if stream not in buffer.configured_stream_keys():
            stream = buffer.stream_key(0)
        payload: dict[EncodableT, EncodableT] = {k: v for k, v in fields.items() if k in (b"p", b"r", b"v", b"e", b"d")}
        pipe = client.pipeline(transaction=True)
        pipe.xadd(stream, payload)
        pipe.xdel(buffer.DLQ, letter_id)
        pipe.execute()
        replayed += 1
    return replayed


# --- Failing entries ----------------------------------------------------------------------------

FAILURES = keys.FLUSH_FAILURES  # attempts per stream entry id; cleared when it is stored or dead-lettered


def failure_record(
    client: redis.Redis,
    stream: str,
    entry_id: str,
    fields: dict[bytes, bytes],
    error: str,
    *,
    immediate: bool = False,
) -> bool:
    """Count a failed attempt to store an entry; at ``FLUSH_MAX_ATTEMPTS`` (or ``immediate``) dead-letter it.

    Returns True when the entry went to the dead letters.
    """
    attempts = client.hincrby(FAILURES, entry_id, 1)
    if immediate or attempts >= settings.EVENTBASE["FLUSH_MAX_ATTEMPTS"]:
        dead_letter(client, stream, entry_id, fields, error)
        return True
    logger.warning(
        "stream entry failed; it will be retried",
        extra={"stream": stream, "entry_id": entry_id, "attempt": attempts, "error": error},
    )
    return False


def dead_letter(client: redis.Redis, stream: str, entry_id: str, fields: dict[bytes, bytes], error: str) -> None:
    # The entry's own fields, then where it was and why it failed (typed as xadd takes them).
    letter: dict[EncodableT, EncodableT] = dict(fields.items())
    letter.update(
        {b"stream": stream, b"entry_id": entry_id, b"error": error[:2000], b"failed_at": str(int(time.time()))}
    )
    pipe = client.pipeline(transaction=True)
    pipe.xadd(buffer.DLQ, letter)
    pipe.xack(stream, buffer.GROUP, entry_id)
    pipe.xdel(stream, entry_id)
    pipe.hdel(FAILURES, entry_id)
    pipe.execute()
    logger.error("stream entry dead-lettered", extra={"stream": stream, "entry_id": entry_id, "error": error})

"""One Redis connection pool per process, shared by the stream producer, rate limits and jobs."""

from __future__ import annotations

import functools
from typing import cast

import redis
from django.conf import settings

# The client is made without ``decode_responses``, so every reply is bytes. redis-py types each
# reply for both modes (``bytes | str``); readers narrow it to bytes (``cast``, no work at run time).
StreamEntry = tuple[bytes, dict[bytes, bytes]]


@functools.cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
    )


def stream_entries(reply: object) -> list[StreamEntry]:
    """The entries of an XRANGE (or XCLAIM) reply, as this client receives them: (id, fields)."""
    return cast("list[StreamEntry]", reply or [])

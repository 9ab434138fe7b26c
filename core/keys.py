"""Every Redis key eventbase writes, and how long each lives: the one place their names are spelled.

Lua scripts receive their keys as ``KEYS`` (never a name written inside the script), so a script's
keys are the ones listed here too. All names start with ``eb:``, so a Redis shared with other
applications keeps them apart (``redis-cli --scan --pattern 'eb:*'`` lists eventbase's).
"""

from __future__ import annotations

import datetime as dt

# Django's cache (config/settings.py CACHES): its own prefix, so a cache clear touches nothing else.
CACHE_PREFIX = "eb:cache"

# --- The event buffer (ingestion.buffer) ------------------------------------------------------
STREAMS = "eb:streams"  # set: every stream the append script wrote to (retired shards included)
DLQ = "eb:dlq"  # stream: dead letters, replayable
BUFFER_MARKER = "eb:buffer:marker"  # written by the first flush; gone later means Redis lost its data
BUFFER_RESET = "eb:buffer:reset"  # the last reset (JSON), shown by /health while it lives
BUFFER_RESET_SHOWN_SECONDS = 3600


def stream(shard: int) -> str:
    return f"eb:events:{shard}"


def dedupe(project_id: int, window: int) -> str:
    """Set of the event ids a project had accepted in one dedupe window."""
    return f"eb:dd:{project_id}:{window}"


# --- The flush (ingestion.flush, ingestion.sessions, ingestion.shard_lock) -----------------------
FLUSH_FAILURES = "eb:flush:failures"  # hash: stream entry id -> failed attempts
FLUSH_LAST_SUCCESS = "eb:flush:last_success"  # unix time of the last flush that stored entries


def flush_lock(shard: int) -> str:
    return f"eb:flushlock:{shard}"


def sessions(stream_key: str) -> str:
    """Hash of a shard's server-session state per user (named by the stream's shard number)."""
    return "eb:sess:" + stream_key.rsplit(":", 1)[-1]


# --- Limits and the ledger (ingestion.limits, ingestion.services, ingestion.ledger) ------------
LEDGER_DIRTY = "eb:ledger:dirty"  # set: ledger minutes not yet copied to PostgreSQL
LEDGER_TTL_SECONDS = 3 * 86_400
QUOTA_TTL_SECONDS = 35 * 86_400  # a month's counter outlives its month


def ledger(project_id: int, minute_epoch: int) -> str:
    return f"eb:ledger:{project_id}:{minute_epoch}"


def quota(project_id: int, moment: dt.datetime) -> str:
    return f"eb:quota:{project_id}:{moment:%Y%m}"


def rate_limit_project(project_id: int, window: int) -> str:
    return f"eb:rl:p:{project_id}:{window}"


def rate_limit_ip(project_id: int, ip: str, window: int) -> str:
    return f"eb:rl:ip:{project_id}:{ip}:{window}"


# --- Keys and alerts (projects.services, monitoring.alerts) -------------------------------------
KEYS_LAST_USED = "eb:keys:last_used"  # hash: key id -> unix minute of the last use seen
PERSONAL_KEYS_LAST_USED = "eb:pkeys:last_used"  # the same, for personal API keys
ALERTS_FIRING = "eb:alerts:firing"  # set: the alerts the job last saw firing, to log resolutions


# --- Cookieless visitors (ingestion.cookieless) ------------------------------------------------

COOKIELESS_SALT_TTL_SECONDS = 86_400 + 3_600  # a day's salt dies an hour after its day ends, at most


def cookieless_salt(project_id: int, day: dt.date) -> str:
    """A project's salt for one UTC day: a random secret, destroyed by its expiry."""
    return f"eb:salt:{project_id}:{day:%Y%m%d}"


# --- Read-your-writes with replicas (core.replicas) ---------------------------------------------


def replica_fence(project_id: int) -> str:
    """The primary's WAL position after a project's last write through the API: replicas that
    have not replayed that far are not read for the project (lives REPLICA_MAX_LAG_SECONDS + 5)."""
    return f"eb:replica:fence:{project_id}"

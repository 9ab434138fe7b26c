"""Reads about the ingestion pipeline's progress."""

from __future__ import annotations

import datetime as dt


def flushed_until() -> dt.datetime:
    """Every event accepted (received) before this instant is stored in PostgreSQL.

    Placeholder until the stream flusher lands: it will be the receive time of the oldest
    accepted event still buffered in Redis (or now, when the buffer is empty).
    """
    return dt.datetime.now(dt.UTC)

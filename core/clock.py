"""Time as the pipeline counts it: the Unix epoch, microseconds since it, and whole minutes.

Stream records carry timestamps as integer microseconds since the epoch (ingestion.records), the
flush turns them back into dates and times, and the ledger, rate limits and key-use marks count
per whole minute. One definition each, here.
"""

from __future__ import annotations

import datetime as dt

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_ORDINAL = EPOCH.date().toordinal()  # 719,163: day numbers from µs without building datetimes
MICROSECOND = dt.timedelta(microseconds=1)


def to_micros(moment: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact, unlike timestamp())."""
    return (moment - EPOCH) // MICROSECOND


def from_micros(micros: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=micros)


def minute_floor(unix_seconds: float) -> int:
    """The start of the minute holding ``unix_seconds``, in whole seconds."""
    return int(unix_seconds) // 60 * 60

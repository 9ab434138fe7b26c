"""Reads about the health of the pipeline: streams, workers, flush, rollups, ledger, partitions.

Everything here is read-only and cheap enough to run on a page view or a Prometheus scrape: a few
Redis round trips (pipelined) and small indexed queries. ``pipeline_vitals`` is the subset the
alerts need, so /health can evaluate them on every probe.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import redis
from django.db.models import Q, Sum

from analytics.models import FillState
from analytics.rollups import ROLLUPS_FILL_STATE
from core.redis import get_redis
from events.models import RollupDirtyDay
from ingestion import buffer
from ingestion.dead_letters import dead_letters_count
from ingestion.flush import LAST_SUCCESS
from ingestion.models import IngestionLedger
from ingestion.selectors import oldest_received_us, queue_oldest_reads


@dataclass(frozen=True)
class ShardStatus:
    stream: str
    length: int  # entries not yet stored (the flusher deletes what it stored)
    lag: int | None  # entries never delivered to the group (XINFO GROUPS "lag"; None if unknown)
    pending: int  # delivered to a flusher, not yet acknowledged
    consumers: int


@dataclass(frozen=True)
class PipelineVitals:
    """What the alerts look at, read in one pass."""

    now: dt.datetime
    buffered_entries: int
    oldest_buffered_at: dt.datetime | None
    last_flush_success: dt.datetime | None

    @property
    def flush_lag_seconds(self) -> float:
        """now - flushed_until(): how old the oldest event not yet stored is (0 when none is)."""
        if self.oldest_buffered_at is None:
            return 0.0
        return max(0.0, (self.now - self.oldest_buffered_at).total_seconds())


def _timestamp(raw: bytes | None) -> dt.datetime | None:
    if not raw:
        return None
    return dt.datetime.fromtimestamp(float(raw), dt.UTC)


def pipeline_vitals(*, now: dt.datetime | None = None, client: redis.Redis | None = None) -> PipelineVitals:
    """Buffered entries, the receive time of the oldest one, and the last flush that made progress.

    The oldest entry's receive time is what ``ingestion.selectors.flushed_until`` reads (the
    streams hold exactly the entries not yet stored), fetched here in the same round trip.
    """
    now = now or dt.datetime.now(dt.UTC)
    client = client or get_redis()
    keys = buffer.all_stream_keys(client)
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.xlen(key)
    queue_oldest_reads(pipe, keys)
    pipe.get(LAST_SUCCESS)
    results = pipe.execute()
    lengths = results[: len(keys)]
    oldest_us = oldest_received_us(results[len(keys) : 2 * len(keys)])
    return PipelineVitals(
        now=now,
        buffered_entries=sum(lengths),
        oldest_buffered_at=None if oldest_us is None else dt.datetime.fromtimestamp(oldest_us / 1e6, dt.UTC),
        last_flush_success=_timestamp(results[-1]),
    )


def shards_status(*, client: redis.Redis | None = None) -> list[ShardStatus]:
    """Per shard: length, consumer-group lag and pending entries of the ``flushers`` group."""
    client = client or get_redis()
    keys = buffer.all_stream_keys(client)
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.xlen(key)
        pipe.xinfo_groups(key)
    # A shard that was never written has no stream yet: XINFO answers an error, not an exception.
    results = pipe.execute(raise_on_error=False)
    shards = []
    for n, key in enumerate(keys):
        length, groups = results[2 * n], results[2 * n + 1]
        group = None
        if isinstance(groups, list):
            group = next((g for g in groups if g.get("name") in (buffer.GROUP, buffer.GROUP.encode())), None)
        shards.append(
            ShardStatus(
                stream=key,
                length=length if isinstance(length, int) else 0,
                lag=group.get("lag") if group else None,
                pending=int(group.get("pending", 0)) if group else 0,
                consumers=int(group.get("consumers", 0)) if group else 0,
            )
        )
    return shards


def dead_letter_count(*, client: redis.Redis | None = None) -> int:
    return dead_letters_count(client=client)


@dataclass(frozen=True)
class WorkerStatus:
    name: str
    state: str
    queues: list[str]
    last_heartbeat: dt.datetime | None
    current_job: str | None


def workers_status(*, client: redis.Redis | None = None) -> list[WorkerStatus]:
    """RQ workers registered in Redis; a worker that died without deregistering expires with its TTL."""
    from rq import Worker

    workers = []
    for worker in Worker.all(connection=client or get_redis()):
        heartbeat = worker.last_heartbeat
        if heartbeat is not None and heartbeat.tzinfo is None:
            heartbeat = heartbeat.replace(tzinfo=dt.UTC)  # rq stores UTC without a zone
        workers.append(
            WorkerStatus(
                name=worker.name,
                state=str(worker.get_state()),
                queues=worker.queue_names(),
                last_heartbeat=heartbeat,
                current_job=worker.get_current_job_id(),
            )
        )
    return sorted(workers, key=lambda w: w.name)


@dataclass(frozen=True)
class RollupStatus:
    watermark: dt.datetime | None  # every event received before it is aggregated
    last_run: dt.datetime | None  # when the watermark last moved
    dirty_days: int  # (project, UTC day) pairs waiting to be rebuilt


def rollups_status() -> RollupStatus:
    state = FillState.objects.filter(name=ROLLUPS_FILL_STATE).first()
    return RollupStatus(
        watermark=state.end_time if state else None,
        last_run=state.last_modified if state else None,
        dirty_days=RollupDirtyDay.objects.count(),
    )


@dataclass(frozen=True)
class IngestWindow:
    minutes: int
    received: int
    accepted: int
    rejected: int
    flushed: int

    @property
    def received_per_minute(self) -> float:
        return self.received / self.minutes

    @property
    def error_rate(self) -> float:
        return self.rejected / self.received if self.received else 0.0


def ingest_window(*, minutes: int, now: dt.datetime | None = None) -> IngestWindow:
    """Ledger totals over the last ``minutes`` whole and current minutes (all projects).

    The ledger's PostgreSQL rows trail the Redis counters by about a second (the flush job syncs
    them), which is fine for a rate over minutes.
    """
    now = now or dt.datetime.now(dt.UTC)
    since = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=minutes - 1)
    totals = IngestionLedger.objects.filter(minute__gte=since).aggregate(
        received=Sum("received"), accepted=Sum("accepted"), rejected=Sum("rejected"), flushed=Sum("flushed")
    )
    return IngestWindow(minutes=minutes, **{k: v or 0 for k, v in totals.items()})


@dataclass(frozen=True)
class ProjectViolations:
    project_id: int
    slug: str
    rate_limited: int
    quota_exceeded: int
    rejected: int


def violations_by_project(*, since: dt.datetime) -> list[ProjectViolations]:
    """Requests refused by rate limit or quota, and events rejected, per project since ``since``."""
    rows = (
        IngestionLedger.objects.filter(minute__gte=since)
        .filter(Q(rate_limited__gt=0) | Q(quota_exceeded__gt=0) | Q(rejected__gt=0))
        .values("project_id", "project__slug")
        .annotate(rl=Sum("rate_limited"), qe=Sum("quota_exceeded"), rj=Sum("rejected"))
        .order_by("project__slug")
    )
    return [
        ProjectViolations(
            project_id=row["project_id"],
            slug=row["project__slug"],
            rate_limited=row["rl"],
            quota_exceeded=row["qe"],
            rejected=row["rj"],
        )
        for row in rows
    ]

"""Prometheus metrics of our own, next to django-prometheus's request and database metrics.

Gunicorn runs several worker processes and a scrape reaches one of them, so a counter kept in one
process's memory would be a per-process number. Two answers, one per kind of metric:

- Pipeline numbers (events received, accepted, rejected by reason, flushed, lag, buffered entries,
  dead letters, workers, alerts) are **computed at scrape time** by ``PipelineCollector`` from the
  shared stores: the ledger in PostgreSQL and the streams in Redis. Exact whichever process
  answers, and the ingest hot path does no extra work for them.
- Latencies measured in the request (``eventbase_report_query_seconds``, defined where it is
  measured: ``reporting.metrics``) are histograms in
  prometheus_client's **multiprocess mode**: config/gunicorn_conf.py sets
  ``PROMETHEUS_MULTIPROC_DIR`` so every worker writes to shared files that ``metrics_view`` merges.
  Without it (``runserver``, tests) the histogram lives in the process, which is then the only one.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator

import redis
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.process_state import RUNNING, state_read
from monitoring.alerts import NAMES, alerts_evaluate
from monitoring.selectors import dead_letter_count, pipeline_vitals, rollups_status, shards_status, workers_status

logger = logging.getLogger(__name__)


_LEDGER_TOTALS = """
SELECT p.slug, sum(l.received), sum(l.accepted), sum(l.duplicate), sum(l.rejected), sum(l.rate_limited),
       sum(l.quota_exceeded), sum(l.flushed)
FROM ingestion_ingestionledger l JOIN projects_project p ON p.id = l.project_id
GROUP BY p.slug ORDER BY p.slug
"""
_LEDGER_REASONS = """
SELECT p.slug, r.key, sum(r.value::bigint)
FROM ingestion_ingestionledger l JOIN projects_project p ON p.id = l.project_id,
     jsonb_each_text(l.rejected_by_reason) r
WHERE l.rejected > 0
GROUP BY 1, 2 ORDER BY 1, 2
"""
# Per destination: events forwarded (ever), and events waiting (pending or failed) or dead now.
_DESTINATIONS = """
SELECT p.slug, d.id::text,
       (SELECT coalesce(sum(l.forwarded), 0) FROM ingestion_destinationledger l WHERE l.destination_id = d.id),
       (SELECT coalesce(sum(b.event_count), 0) FROM ingestion_destinationbatch b
        WHERE b.destination_id = d.id AND b.status IN ('pending', 'failed')),
       (SELECT coalesce(sum(b.event_count), 0) FROM ingestion_destinationbatch b
        WHERE b.destination_id = d.id AND b.status = 'dead')
FROM ingestion_destination d JOIN projects_project p ON p.id = d.project_id
ORDER BY 1, 2
"""
# In the column order of _LEDGER_TOTALS; each becomes "<name>_total".
_COUNTERS = (
    ("eventbase_events_received", "Events that reached the capture API (valid or not)."),
    ("eventbase_events_accepted", "Events accepted into the buffer."),
    ("eventbase_events_duplicate", "Events recognised as retries of an event already accepted."),
    ("eventbase_events_rejected", "Events refused by validation."),
    ("eventbase_rate_limited_requests", "Requests refused by a rate limit."),
    ("eventbase_quota_exceeded_requests", "Requests refused by the monthly quota."),
    ("eventbase_events_flushed", "Events stored in PostgreSQL."),
)


class PipelineCollector:
    """Reads the ledger and the buffer on each scrape (a handful of queries; scrapes are rare)."""

    def collect(self) -> Iterator[Metric]:
        ok = GaugeMetricFamily("eventbase_metrics_ok", "1 when the pipeline metrics below could be read.")
        try:
            yield from self._ledger()
            yield from self._pipeline()
        except (DatabaseError, redis.RedisError, OSError) as exc:
            logger.warning("metrics: a store did not answer", extra={"error": str(exc)})
            ok.add_metric([], 0)
        else:
            ok.add_metric([], 1)
        yield ok

    def _ledger(self) -> Iterator[Metric]:
        with connection.cursor() as cur:
            cur.execute(_LEDGER_TOTALS)
            totals = cur.fetchall()
            cur.execute(_LEDGER_REASONS)
            reasons = cur.fetchall()
            cur.execute(_DESTINATIONS)
            destinations = cur.fetchall()
        families = [CounterMetricFamily(name, doc, labels=["project"]) for name, doc in _COUNTERS]
        for slug, *values in totals:
            for family, value in zip(families, values, strict=True):
                family.add_metric([slug], int(value or 0))
        yield from families
        by_reason = CounterMetricFamily(
            "eventbase_events_rejected_by_reason",
            "Events refused by validation, by reason.",
            labels=["project", "reason"],
        )
        for slug, reason, value in reasons:
            by_reason.add_metric([slug, reason], int(value))
        yield by_reason
        labels = ["project", "destination"]
        forwarded = CounterMetricFamily(
            "eventbase_events_forwarded", "Events delivered to a destination (webhook).", labels=labels
        )
        waiting = GaugeMetricFamily(
            "eventbase_destination_events_waiting", "Events in batches not yet delivered (retrying).", labels=labels
        )
        dead = GaugeMetricFamily(
            "eventbase_destination_events_dead", "Events in dead batches, to be replayed.", labels=labels
        )
        for slug, destination_id, n_forwarded, n_waiting, n_dead in destinations:
            forwarded.add_metric([slug, destination_id], int(n_forwarded))
            waiting.add_metric([slug, destination_id], int(n_waiting))
            dead.add_metric([slug, destination_id], int(n_dead))
        yield from (forwarded, waiting, dead)

    def _pipeline(self) -> Iterator[Metric]:
        now = dt.datetime.now(dt.UTC)
        vitals = pipeline_vitals(now=now)
        yield GaugeMetricFamily(
            "eventbase_flush_lag_seconds",
            "Age of the oldest event not yet stored in PostgreSQL (0 when the buffer is empty).",
            value=vitals.flush_lag_seconds,
        )
        if vitals.last_flush_success is not None:
            yield GaugeMetricFamily(
                "eventbase_flush_last_success_timestamp_seconds",
                "Unix time of the last flush that stored entries.",
                value=vitals.last_flush_success.timestamp(),
            )
        length = GaugeMetricFamily("eventbase_stream_entries", "Entries waiting in a stream shard.", labels=["stream"])
        pending = GaugeMetricFamily(
            "eventbase_stream_pending", "Entries delivered to a flusher, not yet acknowledged.", labels=["stream"]
        )
        for shard in shards_status():
            length.add_metric([shard.stream], shard.length)
            pending.add_metric([shard.stream], shard.pending)
        yield length
        yield pending
        yield GaugeMetricFamily(
            "eventbase_dead_letters", "Entries in the dead-letter stream.", value=dead_letter_count()
        )
        yield GaugeMetricFamily("eventbase_rq_workers", "RQ workers registered in Redis.", value=len(workers_status()))
        rollups = rollups_status()
        if rollups.watermark is not None:
            yield GaugeMetricFamily(
                "eventbase_rollup_lag_seconds",
                "now - the rollup watermark (every event received before it is aggregated).",
                value=max(0.0, (now - rollups.watermark).total_seconds()),
            )
        yield GaugeMetricFamily("eventbase_rollup_dirty_days", "Days waiting to be rebuilt.", value=rollups.dirty_days)
        firing = GaugeMetricFamily("eventbase_alert_firing", "1 while an alert fires.", labels=["alert"])
        active = {alert.name for alert in alerts_evaluate(now=now)}
        for name in NAMES:
            firing.add_metric([name], 1 if name in active else 0)
        yield firing


class ProcessCollector:
    """The children of `make run`'s supervisor: restarts and whether each is up (nothing outside it)."""

    def collect(self) -> Iterator[Metric]:
        processes = state_read()
        if processes is None:
            return
        restarts = CounterMetricFamily(
            "eventbase_process_restarts", "Restarts of a child of `make run` by its supervisor.", labels=["process"]
        )
        up = GaugeMetricFamily("eventbase_process_up", "1 while the process runs.", labels=["process"])
        for p in processes:
            restarts.add_metric([p.name], p.restarts)
            up.add_metric([p.name], 1 if p.state == RUNNING else 0)
        yield restarts
        yield up


_pipeline_collector = PipelineCollector()
_process_collector = ProcessCollector()


def metrics_registry() -> CollectorRegistry:
    """The registry one scrape reads: every process's metrics (multiprocess mode) or this one's."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(_pipeline_collector)
    registry.register(_process_collector)
    return registry


def metrics_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)

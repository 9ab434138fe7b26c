"""The list of periodic jobs, in one place, so the scheduler and the docs agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analytics import jobs as analytics_jobs
from ingestion import jobs as ingestion_jobs
from monitoring import jobs as monitoring_jobs
from projects import jobs as projects_jobs
from reporting import jobs as reporting_jobs


@dataclass(frozen=True)
class PeriodicJob:
    func: Callable
    queue: str
    interval: int  # seconds
    ttl: int  # a job not started within this many seconds is dropped: the next tick replaces it
    timeout: int


def _jobs() -> list[PeriodicJob]:
    return [
        # Every second, so an accepted event is queryable within a few seconds; a tick that finds
        # the shards locked by a running drain returns at once, and unstarted ticks expire.
        PeriodicJob(ingestion_jobs.flush_streams, "ingest", interval=1, ttl=5, timeout=120),
        # Destinations: batches the flush wrote to the outbox are posted within a few seconds. Jobs
        # on several workers share the due batches (SKIP LOCKED); a run stops after 20 s.
        PeriodicJob(ingestion_jobs.deliver_destinations, "default", interval=5, ttl=4, timeout=120),
        PeriodicJob(ingestion_jobs.sweep_sessions, "default", interval=900, ttl=600, timeout=600),
        PeriodicJob(analytics_jobs.maintain_partitions, "default", interval=3600, ttl=600, timeout=300),
        # Every 5 s, so an accepted event is in the rollup-backed reports within ~10 s; the queue
        # has a worker of its own (config.stack) so maintenance never delays it. A run stops
        # after ~4 min of work and the next tick continues; unstarted ticks expire.
        PeriodicJob(analytics_jobs.rebuild_dirty_rollups, "rollups", interval=5, ttl=4, timeout=600),
        PeriodicJob(analytics_jobs.catch_up_rollups, "default", interval=900, ttl=600, timeout=900),
        # Days changed since their columnar file are read from PostgreSQL until rewritten: a
        # slower cadence costs speed, never correctness.
        PeriodicJob(analytics_jobs.write_columnar_days, "default", interval=30, ttl=25, timeout=300),
        # The web rollup of the days the columnar tier wrote; until then the web overview reads
        # those days' events, so, again, a slower cadence costs speed only.
        PeriodicJob(analytics_jobs.build_web_days, "default", interval=30, ttl=25, timeout=300),
        # New and changed cohorts within seconds; every cohort again after COHORT_REFRESH_SECONDS.
        PeriodicJob(analytics_jobs.compute_cohorts, "default", interval=10, ttl=9, timeout=300),
        # /health evaluates the same alerts on every probe; this job is what logs them.
        PeriodicJob(monitoring_jobs.evaluate_alerts, "default", interval=60, ttl=50, timeout=60),
        # The request path only notes key use and refusals in Redis; these copy them to PostgreSQL.
        PeriodicJob(projects_jobs.sync_key_usage, "default", interval=60, ttl=50, timeout=60),
        PeriodicJob(ingestion_jobs.audit_refusals, "default", interval=60, ttl=50, timeout=60),
        # Insight alerts: each tick judges only the intervals completed since the last (an hourly
        # alert is judged within a minute or so of its hour's data being complete).
        PeriodicJob(reporting_jobs.evaluate_insight_alerts, "default", interval=60, ttl=50, timeout=300),
        # Subscriptions are due at a minute of local time; a tick a minute keeps them on time.
        PeriodicJob(reporting_jobs.run_subscriptions, "default", interval=60, ttl=50, timeout=300),
        # Notifications are sent within ~15 s; a batch waits at most 50 x 5 s on dead webhook hosts.
        PeriodicJob(reporting_jobs.send_notifications, "default", interval=15, ttl=14, timeout=600),
    ]


PERIODIC_JOBS = _jobs()

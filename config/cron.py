"""Periodic jobs, loaded by `manage.py rqcron config.cron` (started by `make run`)."""

from rq import cron

from config.jobs_registry import PERIODIC_JOBS

for spec in PERIODIC_JOBS:
    cron.register(
        spec.func,
        spec.queue,
        interval=spec.interval,
        ttl=spec.ttl,
        job_timeout=spec.timeout,
        result_ttl=0,
        failure_ttl=86_400,
    )

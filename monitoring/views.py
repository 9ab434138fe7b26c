"""The admin's system-health page (staff only; wrapped by admin.site.admin_view in config/urls.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.contrib import admin
from django.db import DatabaseError
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from events.partitions import list_partitions
from ingestion.ledger import ledger_sync
from ingestion.models import IngestionLedger
from monitoring import selectors
from monitoring.alerts import alerts_evaluate


def _safely(read: Callable[[], Any]) -> dict[str, Any]:
    # One store being down must not take the page down: that is exactly when people open it.
    try:
        return {"value": read(), "error": None}
    except (DatabaseError, redis.RedisError, OSError) as exc:
        return {"value": None, "error": str(exc).strip().splitlines()[0][:200]}


def _ingest_per_minute(now: dt.datetime) -> list[dict[str, Any]]:
    """Received / accepted / rejected / flushed per minute over the last 15 minutes (all projects)."""
    ledger_sync()  # the page shows the current minute too, not only what the flush job copied
    since = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=14)
    rows = (
        IngestionLedger.objects.filter(minute__gte=since)
        .values("minute")
        .annotate(received=Sum("received"), accepted=Sum("accepted"), rejected=Sum("rejected"), flushed=Sum("flushed"))
        .order_by("-minute")
    )
    return [dict(row) for row in rows]


def system_health(request: HttpRequest) -> HttpResponse:
    now = dt.datetime.now(dt.UTC)
    conf = settings.EVENTBASE
    partitions = _safely(list_partitions)
    context = {
        **admin.site.each_context(request),
        "title": "System health",
        "now": now,
        "alerts": _safely(lambda: alerts_evaluate(now=now)),
        "vitals": _safely(lambda: selectors.pipeline_vitals(now=now)),
        "shards": _safely(selectors.shards_status),
        "dead_letters": _safely(selectors.dead_letter_count),
        "workers": _safely(selectors.workers_status),
        "rollups": _safely(selectors.rollups_status),
        "window": _safely(lambda: selectors.ingest_window(minutes=conf["ALERT_ERROR_WINDOW_MINUTES"], now=now)),
        "per_minute": _safely(lambda: _ingest_per_minute(now)),
        "violations": _safely(lambda: selectors.violations_by_project(since=now - dt.timedelta(hours=24))),
        "partitions": partitions,
        "partitions_total_bytes": sum(p.total_bytes for p in partitions["value"] or []),
        "thresholds": {
            "flush_lag_seconds": conf["ALERT_FLUSH_LAG_SECONDS"],
            "stall_minutes": conf["ALERT_STALL_MINUTES"],
            "error_rate_percent": conf["ALERT_ERROR_RATE_PERCENT"],
            "error_window_minutes": conf["ALERT_ERROR_WINDOW_MINUTES"],
        },
    }
    return TemplateResponse(request, "monitoring/system_health.html", context)

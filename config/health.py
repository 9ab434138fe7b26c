"""GET /health: can this process reach PostgreSQL and Redis, and is the pipeline keeping up?

- 200 ``{"status": "ok"}``: both stores answer and no alert fires.
- 200 ``{"status": "degraded", "alerts": [...]}``: both stores answer but the pipeline is unhealthy
  (flush lag, stalled flush, error-rate spike; see monitoring/alerts.py). Still 200 on purpose:
  a load balancer must keep sending traffic to a web node that can accept events, and the fix is
  elsewhere (workers, clients). Monitoring reads ``status``.
- 503 ``{"status": "down"}``: a store does not answer; this node cannot accept events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.redis import get_redis
from monitoring.alerts import alerts_evaluate

logger = logging.getLogger(__name__)


def _probe(check: Callable[[], object]) -> dict:
    started = time.perf_counter()
    try:
        check()
    except (DatabaseError, redis.RedisError, OSError) as exc:
        return {"status": "down", "error": str(exc).strip().splitlines()[0][:200]}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _probe(_database), "redis": _probe(lambda: get_redis().ping())}
    if not all(check["status"] == "ok" for check in checks.values()):
        return JsonResponse({"status": "down", "checks": checks}, status=503)
    try:
        alerts = alerts_evaluate()
    except (DatabaseError, redis.RedisError, OSError) as exc:
        # A store that answered a ping a moment ago failed the real reads: report it as down.
        logger.warning("health: alert evaluation failed", extra={"error": str(exc)})
        return JsonResponse({"status": "down", "checks": checks, "error": str(exc)[:200]}, status=503)
    body = {"status": "degraded" if alerts else "ok", "checks": checks, "alerts": [a.as_dict() for a in alerts]}
    return JsonResponse(body, status=200)

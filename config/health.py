"""GET /health: is this process able to reach PostgreSQL and Redis?"""

from __future__ import annotations

import time

import redis
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.redis import get_redis


def _probe(check) -> dict:
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
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "down", "checks": checks}, status=200 if healthy else 503)

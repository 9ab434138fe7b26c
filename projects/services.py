"""Writes for projects and API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from core import keys
from core.clock import minute_floor
from core.redis import get_redis
from projects.audit import audit_record
from projects.models import ApiKey, ApiKeyScope, AuditAction, AuditEntry, EventSource, Project

# Stripe-style prefixes make a leaked key recognisable at a glance: pk_ is public, sk_ secret.
KEY_PREFIXES = {ApiKeyScope.INGEST: "pk_", ApiKeyScope.READ: "sk_"}
# Personal keys (projects.personal_keys) get their own, so the bearer authentication knows which
# table a key lives in; uk_ ("user key") because pk_ is already the ingest keys'.
PERSONAL_KEY_PREFIX = "uk_"
DEFAULT_SOURCES = ("api", "web", "ios", "android", "backend")


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    """An API key as created: ``raw`` exists only here and is never stored."""

    api_key: ApiKey
    raw: str


@transaction.atomic
def api_key_create(*, project: Project, scope: str, name: str = "", actor: str = "system") -> IssuedKey:
    raw = KEY_PREFIXES[ApiKeyScope(scope)] + secrets.token_urlsafe(24)
    api_key = ApiKey.objects.create(project=project, scope=scope, name=name, prefix=raw[:10], key_hash=hash_key(raw))
    audit_record(
        action=AuditAction.API_KEY_CREATED,
        project=project,
        api_key=api_key,
        actor=actor,
        details={"prefix": api_key.prefix, "scope": scope, "name": name},
    )
    return IssuedKey(api_key=api_key, raw=raw)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: str = "system") -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditAction.API_KEY_REVOKED,
            project=api_key.project,
            api_key=api_key,
            actor=actor,
            details={"prefix": api_key.prefix, "scope": api_key.scope},
        )
    return api_key


# --- Key use: throttled, so the request path never writes to PostgreSQL -----------------------

KEYS_LAST_USED = keys.KEYS_LAST_USED
_marked: dict[int, int] = {}  # this process: key id -> the minute it last reported to Redis


def api_key_mark_used(*, key_id: int, now: float | None = None) -> None:
    """Note that a key was used this minute: at most one Redis write per key, minute and process.

    ``api_key_usage_sync`` (a periodic job) copies the minutes into ``ApiKey.last_used_at``.
    Best effort: losing a mark only makes last_used_at a minute staler.
    """
    minute = minute_floor(now if now is not None else time.time())
    if _marked.get(key_id) == minute:
        return
    try:
        get_redis().hset(KEYS_LAST_USED, str(key_id), minute)
    except (redis.RedisError, OSError):
        return
    if len(_marked) > 10_000:  # bounded, like the key cache
        _marked.clear()
    _marked[key_id] = minute


_SYNC_USAGE = """
WITH seen(id, at) AS (SELECT * FROM unnest(%s::bigint[], %s::timestamptz[])),
before AS (SELECT k.id, k.last_used_at FROM projects_apikey k JOIN seen USING (id)),
moved AS (
    UPDATE projects_apikey k SET last_used_at = seen.at FROM seen
    WHERE k.id = seen.id AND (k.last_used_at IS NULL OR k.last_used_at < seen.at)
    RETURNING k.id, k.project_id, k.prefix, seen.at
)
SELECT moved.id, moved.project_id, moved.prefix, moved.at, before.last_used_at
FROM moved JOIN before USING (id)
"""


def api_key_usage_sync() -> int:
    """Copy last-use minutes from Redis into ``ApiKey.last_used_at``; returns keys updated.

    Only moves forward, so re-running (or two workers running it) is harmless. The first use of a
    key on a UTC day also writes an audit entry: the log shows which keys were in use when,
    without a row per request.
    """
    raw = get_redis().hgetall(KEYS_LAST_USED)
    if not raw:
        return 0
    ids = [int(k) for k in raw]
    moments = [dt.datetime.fromtimestamp(int(v), dt.UTC) for v in raw.values()]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_SYNC_USAGE, [ids, moments])
        moved = cur.fetchall()
        first_of_day = [
            AuditEntry(
                at=at,
                action=AuditAction.API_KEY_USED,
                project_id=project_id,
                api_key_id=key_id,
                actor="system",
                details={"prefix": prefix},
                dedupe_key=f"api_key.used:{key_id}:{at:%Y-%m-%d}",
            )
            for key_id, project_id, prefix, at, before in moved
            if before is None or before.date() < at.date()
        ]
        AuditEntry.objects.bulk_create(first_of_day, ignore_conflicts=True)
    return len(moved)


@dataclass(frozen=True)
class CreatedProject:
    project: Project
    ingest_key: IssuedKey
    read_key: IssuedKey


def unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "project"
    slug, n = base, 2
    while Project.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def project_create(*, name: str, slug: str | None = None, timezone_name: str = "UTC") -> CreatedProject:
    """Create a project with one ingest key, one read key and the usual event sources."""
    project = Project(name=name, slug=slug or unique_slug(name), timezone=timezone_name)
    project.full_clean()
    project.save()
    EventSource.objects.bulk_create(EventSource(project=project, name=source) for source in DEFAULT_SOURCES)
    return CreatedProject(
        project=project,
        ingest_key=api_key_create(project=project, scope=ApiKeyScope.INGEST, name="default ingest key"),
        read_key=api_key_create(project=project, scope=ApiKeyScope.READ, name="default read key"),
    )


DEMO_SLUG = "demo"


def _key_active(raw: str) -> bool:
    return ApiKey.objects.filter(key_hash=hash_key(raw), revoked_at__isnull=True).exists()


def demo_project_ensure(*, state_file: Path) -> dict[str, str]:
    """The demo project's slug and keys for `make run` to print.

    Keys are stored hashed, so the raw demo keys are remembered in a local file (development
    convenience only). When that file is missing or its keys were revoked, fresh keys are minted.
    """
    state: dict[str, str] = {}
    if state_file.exists():
        try:
            state = json.loads(state_file.read_text())
        except ValueError:
            state = {}
    project = Project.objects.filter(slug=DEMO_SLUG).first()
    if project is None:
        created = project_create(name="Demo", slug=DEMO_SLUG)
        state = {"slug": DEMO_SLUG, "ingest_key": created.ingest_key.raw, "read_key": created.read_key.raw}
    else:
        for field, scope in (("ingest_key", ApiKeyScope.INGEST), ("read_key", ApiKeyScope.READ)):
            if not state.get(field) or not _key_active(state[field]):
                state[field] = api_key_create(project=project, scope=scope, name="demo key").raw
        state["slug"] = DEMO_SLUG
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state, indent=2))
    state_file.chmod(0o600)
    return state

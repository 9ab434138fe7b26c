"""Writes for personal API keys: minting, revoking, and noting their use.

A personal key is hashed and shown once like a project key (``projects.services``); what it may
read is decided per request by ``projects.access``.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core import keys
from core.clock import minute_floor
from core.redis import get_redis
from projects.audit import audit_record
from projects.models import AuditAction, PersonalApiKey, PersonalKeyScope, Project
from projects.services import PERSONAL_KEY_PREFIX, hash_key

PERSONAL_KEYS_LAST_USED = keys.PERSONAL_KEYS_LAST_USED


@dataclass(frozen=True)
class IssuedPersonalKey:
    """A personal key as created: ``raw`` exists only here and is never stored."""

    key: PersonalApiKey
    raw: str


@transaction.atomic
def personal_key_create(
    *,
    user: AbstractBaseUser,
    name: str,
    scope: str = PersonalKeyScope.READ,
    projects: Iterable[Project] = (),
    actor: str,
) -> IssuedPersonalKey:
    """A new key of ``user`` for ``projects`` (none: all the projects the user reads, now and later).

    The caller checks that the user reads ``projects``; the key would not read the others anyway.
    """
    raw = PERSONAL_KEY_PREFIX + secrets.token_urlsafe(24)
    chosen = list(projects)
    key = PersonalApiKey.objects.create(
        user_id=user.pk,
        name=name,
        scope=PersonalKeyScope(scope),
        prefix=raw[:10],
        key_hash=hash_key(raw),
        all_projects=not chosen,
    )
    key.projects.set(chosen)
    audit_record(
        action=AuditAction.PERSONAL_KEY_CREATED,
        actor=actor,
        details={
            "prefix": key.prefix,
            "scope": key.scope,
            "name": name,
            "user": user.get_username(),
            "projects": sorted(p.slug for p in chosen) or "all",
        },
    )
    return IssuedPersonalKey(key=key, raw=raw)


@transaction.atomic
def personal_key_revoke(*, key: PersonalApiKey, actor: str) -> PersonalApiKey:
    """Revoke ``key`` (idempotent); web processes stop accepting it within the key cache lifetime."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditAction.PERSONAL_KEY_REVOKED,
            actor=actor,
            details={"prefix": key.prefix, "name": key.name, "user": key.user.get_username()},
        )
    return key


# --- Use: throttled through Redis like project keys, so reads do not write PostgreSQL ----------

_marked: dict[int, int] = {}  # this process: key id -> the minute it last reported to Redis


def personal_key_mark_used(*, key_id: int, now: float | None = None) -> None:
    """Note that a key was used this minute (best effort, at most one Redis write a minute)."""
    minute = minute_floor(now if now is not None else time.time())
    if _marked.get(key_id) == minute:
        return
    try:
        get_redis().hset(PERSONAL_KEYS_LAST_USED, str(key_id), minute)
    except (redis.RedisError, OSError):
        return
    if len(_marked) > 10_000:
        _marked.clear()
    _marked[key_id] = minute


def personal_key_usage_sync() -> int:
    """Copy last-use minutes from Redis into ``PersonalApiKey.last_used_at``, forward only."""
    raw = get_redis().hgetall(PERSONAL_KEYS_LAST_USED)
    moved = 0
    for key_id, minute in raw.items():
        at = dt.datetime.fromtimestamp(int(minute), dt.UTC)
        moved += PersonalApiKey.objects.filter(pk=int(key_id)).exclude(last_used_at__gte=at).update(last_used_at=at)
    return moved

"""Reads for projects and API keys, including the per-request key lookup.

Every request that carries a key resolves it here, so tenant scoping has one entry point: the
returned ``ProjectContext`` is the only way views learn which project they act for.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone

from projects.models import ApiKey, EventSource, Invitation, PersonalApiKey, Project, ProjectMembership
from projects.services import PERSONAL_KEY_PREFIX, hash_key


@dataclass(frozen=True)
class KeyLookup:
    """What one API key grants, as cached in-process for the hot ingest path."""

    key_id: int
    key_hash: str
    scope: str
    revoked: bool
    project: Project
    sources: frozenset[str]


@dataclass(frozen=True)
class PersonalKeyLookup:
    """What one personal API key names: whose it is and which projects (or all the user's).

    Only the key's own facts are cached; whether the user is active and may read the project is
    asked of the database on every request, so those changes take effect at once.
    """

    key_id: int
    key_hash: str
    scope: str
    revoked: bool
    user_id: int
    all_projects: bool
    project_ids: frozenset[int]


_Lookup = TypeVar("_Lookup", KeyLookup, PersonalKeyLookup)


class _KeyCache:
    """A tiny TTL cache so the ingest path does not query PostgreSQL on every request.

    Revocation and project setting changes therefore take up to ``API_KEY_CACHE_SECONDS``
    (10 s by default) to reach every web worker.
    """

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, KeyLookup | PersonalKeyLookup | None]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> tuple[bool, KeyLookup | PersonalKeyLookup | None]:
        item = self._items.get(key_hash)
        if item is None or item[0] < time.monotonic():
            return False, None
        return True, item[1]

    def put(self, key_hash: str, value: KeyLookup | PersonalKeyLookup | None) -> None:
        ttl = settings.EVENTBASE["API_KEY_CACHE_SECONDS"]
        if ttl <= 0:
            return
        with self._lock:
            if len(self._items) > 10_000:  # bound memory against floods of random keys
                self._items.clear()
            self._items[key_hash] = (time.monotonic() + ttl, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


key_cache = _KeyCache()


def api_key_lookup(*, raw_key: str) -> KeyLookup | None:
    """Resolve a raw key to what it grants, or None when no such key exists.

    The lookup is by SHA-256 of the key (never the key itself), and the stored hash is compared
    in constant time, so neither the database index nor the comparison leaks key prefixes.
    """
    if not raw_key or len(raw_key) > 200 or raw_key.startswith(PERSONAL_KEY_PREFIX):
        return None
    digest = hash_key(raw_key)

    def load() -> KeyLookup | None:
        api_key = ApiKey.objects.select_related("project").filter(key_hash=digest).first()
        if api_key is None:
            return None
        return KeyLookup(
            key_id=api_key.pk,
            key_hash=api_key.key_hash,
            scope=api_key.scope,
            revoked=api_key.revoked_at is not None,
            project=api_key.project,
            sources=frozenset(EventSource.objects.filter(project_id=api_key.project_id).values_list("name", flat=True)),
        )

    return _cached_lookup(digest, KeyLookup, load)


def personal_key_lookup(*, raw_key: str) -> PersonalKeyLookup | None:
    """Resolve a raw personal key (``uk_...``), as ``api_key_lookup`` does project keys.

    Cached for ``API_KEY_CACHE_SECONDS`` like project keys: revocation takes that long at most.
    """
    if not raw_key.startswith(PERSONAL_KEY_PREFIX) or len(raw_key) > 200:
        return None
    digest = hash_key(raw_key)

    def load() -> PersonalKeyLookup | None:
        key = PersonalApiKey.objects.filter(key_hash=digest).first()
        if key is None:
            return None
        return PersonalKeyLookup(
            key_id=key.pk,
            key_hash=key.key_hash,
            scope=key.scope,
            revoked=key.revoked_at is not None,
            user_id=key.user_id,
            all_projects=key.all_projects,
            project_ids=frozenset(key.projects.values_list("pk", flat=True)),
        )

    return _cached_lookup(digest, PersonalKeyLookup, load)


def _cached_lookup(digest: str, kind: type[_Lookup], load: Callable[[], _Lookup | None]) -> _Lookup | None:
    """The key of ``digest`` from the key cache, else ``load``ed (a miss is cached too). Project
    and personal keys share the cache under different prefixes, so a digest is only ever one kind;
    the isinstance is for the type checker as much as for safety."""
    hit, cached = key_cache.get(digest)
    if not hit or not (cached is None or isinstance(cached, kind)):
        cached = load()
        key_cache.put(digest, cached)
    if not isinstance(cached, kind) or not hmac.compare_digest(cached.key_hash, digest):
        return None
    return cached


def personal_keys_of(*, user_id: int) -> QuerySet[PersonalApiKey]:
    """A user's personal keys, newest first, with the projects each names."""
    return PersonalApiKey.objects.filter(user_id=user_id).prefetch_related("projects").order_by("-created_at")


def project_get_by_slug(*, slug: str) -> Project | None:
    return Project.objects.filter(slug=slug).first()


# --- A project's settings page: its keys, members and pending invitations ----------------------


def project_api_keys(*, project: Project) -> QuerySet[ApiKey]:
    """The project's keys, active ones first, newest first within each."""
    return ApiKey.objects.filter(project=project).order_by(F("revoked_at").asc(nulls_first=True), "-created_at")


def project_members(*, project: Project) -> QuerySet[ProjectMembership]:
    """The project's memberships with their accounts, by username."""
    return ProjectMembership.objects.filter(project=project).select_related("user").order_by("user__username")


def project_invitations_pending(*, project: Project) -> QuerySet[Invitation]:
    """Invitations whose link still works: not accepted, not withdrawn, not expired; newest first."""
    return Invitation.objects.filter(
        project=project, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at")

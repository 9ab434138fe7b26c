"""Writes for projects and API keys."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from projects.models import ApiKey, ApiKeyScope, EventSource, Project

# Stripe-style prefixes make a leaked key recognisable at a glance: pk_ is public, sk_ secret.
KEY_PREFIXES = {ApiKeyScope.INGEST: "pk_", ApiKeyScope.READ: "sk_"}
DEFAULT_SOURCES = ("api", "web", "ios", "android", "backend")


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    """An API key as created: ``raw`` exists only here and is never stored."""

    api_key: ApiKey
    raw: str


def api_key_create(*, project: Project, scope: str, name: str = "") -> IssuedKey:
    raw = KEY_PREFIXES[ApiKeyScope(scope)] + secrets.token_urlsafe(24)
    api_key = ApiKey.objects.create(project=project, scope=scope, name=name, prefix=raw[:10], key_hash=hash_key(raw))
    return IssuedKey(api_key=api_key, raw=raw)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


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

"""Accepting events: limits, identity, and the atomic append to the stream buffer.

Every protocol (native API, PostHog, Segment, backfill) ends in ``ingest_batch``: one
pipeline, thin adapters in front of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings

from core import keys
from core.clock import EPOCH, MICROSECOND, to_micros
from core.redis import get_redis
from ingestion import buffer, ledger, records
from ingestion.cookieless import daily_salt
from ingestion.enrichment import HOST, WEB_COLUMNS, client_info, enrich, flagged_as_bot
from ingestion.identity import anonymous_id, stored_ip
from ingestion.validation import LATE_AFTER, Batch
from projects.models import BotHandling, Project

NOT_DERIVED: tuple[str | None, ...] = (None,) * len(WEB_COLUMNS)  # WEB_ENRICHMENT off
DEVICE_TYPE = WEB_COLUMNS.index("device_type")


@dataclass(frozen=True)
class Client:
    """What the server knows about the sender of a request."""

    ip: str
    user_agent: str


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    bots: int = 0  # events of crawlers and spam referrers, not stored (the project's bot setting)
    errors: list[dict[str, Any]] = field(default_factory=list)
    # per event of the batch: "ok", "duplicate" (and the index) — protocol adapters answer per id
    accepted_ids: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)

    def as_response(self) -> dict[str, Any]:
        answer = {"accepted": self.accepted, "duplicates": self.duplicates, "errors": self.errors}
        if self.bots:
            answer["bots"] = self.bots
        return answer


def ingest_batch(*, project: Project, batch: Batch, client: Client, received_at: dt.datetime) -> IngestResult:
    """Buffer a validated batch. Raises ``buffer.BufferUnavailable`` when nothing could be taken."""
    result = IngestResult(errors=list(batch.errors))
    received_us = to_micros(received_at)
    # Derived from the full IP, before the project's IP setting truncates or drops it.
    client_derived = client_info(client.ip, client.user_agent) if settings.EVENTBASE["WEB_ENRICHMENT"] else None
    drop_bots = project.bot_handling == BotHandling.DROP
    ip = stored_ip(client.ip, project.ip_handling)
    user_agent = client.user_agent[:1000] or None
    late_before = received_at - LATE_AFTER
    client_fields = records.client_fields(ip, user_agent)
    shards = buffer.shard_count()
    project_id = project.pk
    anonymous: dict[str | None, str] = {}  # per site host: cookieless ids differ by host
    stream_events = []
    late = 0
    for _index, event in batch.events:
        if event.web is not None:  # stored before (a backfilled export): kept, bots as the project says
            web = event.web
            if drop_bots and web[DEVICE_TYPE] == "bot":
                result.bots += 1
                continue
        elif client_derived is None:
            web = NOT_DERIVED
        else:
            web, spam = enrich(client_derived, event.properties)
            if spam or client_derived.is_bot:
                if drop_bots:
                    result.bots += 1
                    continue
                web = flagged_as_bot(web)
        user_id, is_anonymous = event.user_id, False
        if user_id is None:
            host = web[HOST] if project.cookieless else None
            user_id = anonymous.get(host)
            if user_id is None:
                user_id = anonymous[host] = _anonymous_id(project, client, host, received_at)
            is_anonymous = True
        timestamp = event.timestamp
        if timestamp < late_before:
            late += 1
        record = records.encode(
            (timestamp - EPOCH) // MICROSECOND,
            timestamp.isoformat(),
            event.event_id,
            event.name,
            event.source,
            user_id,
            is_anonymous,
            event.session_id,
            event.properties_json.decode(),
            client_fields,
            records.web_fields(web),
        )
        stream_events.append(buffer.StreamEvent(event.event_id, buffer.shard_for(project_id, user_id, shards), record))
    counts = {"received": batch.received, "late": late, "bot": result.bots}
    counts.update({f"rejected:{reason}": n for reason, n in batch.reasons.items()})
    flags = (
        buffer.append(
            project_id=project.pk,
            received_us=received_us,
            events=stream_events,
            ledger_key=ledger.ledger_key(project.pk, ledger.minute_of(received_at)),
            quota_key=quota_key(project.pk, received_at),
            ledger_counts=counts,
        )
        if stream_events
        else _count_only(project, received_at, counts)
    )
    for stream_event, fresh in zip(stream_events, flags, strict=True):
        if fresh:
            result.accepted_ids.append(stream_event.event_id)
        else:
            result.duplicate_ids.append(stream_event.event_id)
    result.accepted = len(result.accepted_ids)
    result.duplicates = len(result.duplicate_ids)
    return result


def _anonymous_id(project: Project, client: Client, host: str | None, received_at: dt.datetime) -> str:
    """The id of a visitor who sent none: permanent, or for the day in a cookieless project."""
    if project.cookieless:
        salt = daily_salt(project.pk, received_at.astimezone(dt.UTC).date())
        return anonymous_id(salt=salt, ip=client.ip, user_agent=client.user_agent, site=host or "")
    return anonymous_id(salt=project.anonymous_salt, ip=client.ip, user_agent=client.user_agent)


def _count_only(project: Project, received_at: dt.datetime, counts: dict[str, int]) -> list[bool]:
    """A batch with no valid event still counts in the ledger (nothing to buffer)."""
    try:
        ledger.ledger_increment(project_id=project.pk, received_at=received_at, counts=counts)
    except (redis.RedisError, OSError) as exc:
        raise buffer.BufferUnavailable(str(exc)) from exc
    return []


# --- Quota -----------------------------------------------------------------------------------


def quota_key(project_id: int, moment: dt.datetime) -> str:
    return keys.quota(project_id, moment)


@dataclass(frozen=True)
class QuotaState:
    used: int
    limit: int | None
    retry_after: int  # seconds until the quota resets (start of next UTC month)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit


def quota_check(*, project: Project, now: dt.datetime, used: int | None = None) -> QuotaState:
    """The project's monthly usage. A request is refused once the quota is used up; the batch
    that crosses the line is still taken whole, so a quota can be exceeded by at most one batch."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    reset = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    retry_after = max(1, int((reset - now).total_seconds()))
    if project.monthly_event_quota is None:
        return QuotaState(used=0, limit=None, retry_after=retry_after)
    if used is None:
        used = int(get_redis().get(quota_key(project.pk, now)) or 0)
    return QuotaState(used=used, limit=project.monthly_event_quota, retry_after=retry_after)

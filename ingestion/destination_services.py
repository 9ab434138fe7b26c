"""Destinations: creating, changing and deleting them, listing their batches, replaying dead ones.

Every change makes this process's flush read the destinations again at once
(``destination_routes_forget``); other processes within ``DESTINATION_CACHE_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum

from ingestion.destination_outbox import destination_routes_forget
from ingestion.models import BatchStatus, Destination, DestinationBatch, DestinationLedger
from projects.audit import audit_record
from projects.models import AuditAction, Project

SECRET_PREFIX = "whsec_"
_CHANGEABLE = ("name", "url", "events", "properties", "batch_size", "enabled")


def destination_create(*, project: Project, actor: str, **fields: Any) -> Destination:
    """A new destination with a fresh secret (shown to its creator once, by the API)."""
    unknown = set(fields) - set(_CHANGEABLE)
    if unknown:
        raise TypeError(f"unknown destination fields: {sorted(unknown)}")
    destination = Destination.objects.create(
        project=project, secret=SECRET_PREFIX + secrets.token_urlsafe(32), **fields
    )
    audit_record(
        action=AuditAction.DESTINATION_CREATED,
        project=project,
        actor=actor,
        details={"destination": destination.pk, "name": destination.name, "url": destination.url},
    )
    destination_routes_forget()
    return destination


def destination_update(*, destination: Destination, changes: dict[str, Any]) -> Destination:
    for name, value in changes.items():
        if name not in _CHANGEABLE:
            raise TypeError(f"{name} cannot be changed")
        setattr(destination, name, value)
    destination.save(update_fields=list(changes) or None)
    destination_routes_forget()
    return destination


def destination_delete(*, destination: Destination, actor: str) -> None:
    """Delete the destination with its batches (dead or not) and its ledger."""
    audit_record(
        action=AuditAction.DESTINATION_DELETED,
        project=destination.project,
        actor=actor,
        details={"destination": destination.pk, "name": destination.name},
    )
    destination.delete()
    destination_routes_forget()


def destinations_of(*, project_id: int) -> QuerySet[Destination]:
    return Destination.objects.filter(project_id=project_id).order_by("id")


def destination_get(*, project_id: int, destination_id: int) -> Destination | None:
    return Destination.objects.select_related("project").filter(project_id=project_id, pk=destination_id).first()


def batches_of(*, destination: Destination, status: str | None, limit: int) -> list[DestinationBatch]:
    """The destination's batches, newest first; of one status if given."""
    found = DestinationBatch.objects.filter(destination=destination)
    if status:
        found = found.filter(status=status)
    return list(found.order_by("-created_at", "id")[:limit])


class NotDead(ValueError):
    """Some of the batches asked to be replayed are not dead batches of the destination."""

    def __init__(self, batch_ids: Sequence[str]) -> None:
        super().__init__(", ".join(batch_ids))
        self.batch_ids = list(batch_ids)


def batches_replay(
    *, destination: Destination, batch_ids: Sequence[str] | None, actor: str, now: dt.datetime | None = None
) -> int:
    """Send dead batches again (all of the destination's, or those named): back to pending, due
    now, attempts from zero. Raises ``NotDead`` naming the given ids that are not dead batches of
    this destination; then nothing is replayed. Audited."""
    now = now or dt.datetime.now(dt.UTC)
    with transaction.atomic():
        dead = DestinationBatch.objects.select_for_update().filter(destination=destination, status=BatchStatus.DEAD)
        if batch_ids is not None:
            dead = dead.filter(pk__in=batch_ids)
            found = {str(pk) for pk in dead.values_list("pk", flat=True)}
            missing = [batch_id for batch_id in batch_ids if batch_id not in found]
            if missing:
                raise NotDead(missing)
        replayed = dead.update(status=BatchStatus.PENDING, attempts=0, next_attempt_at=now, last_error="")
        audit_record(
            action=AuditAction.DESTINATION_REPLAYED,
            project=destination.project,
            actor=actor,
            details={"destination": destination.pk, "batches": replayed, "named": batch_ids is not None},
            count=max(replayed, 1),
        )
    return replayed


@dataclass(frozen=True)
class DestinationCounts:
    destination_id: int
    name: str
    forwarded: int  # events delivered in the range asked
    pending: int  # events waiting (pending or failed batches), now
    dead: int  # events in dead batches, now


def destination_counts(*, project_id: int, since: dt.datetime, until: dt.datetime) -> list[DestinationCounts]:
    """Per destination of the project: events forwarded in [since, until] and waiting or dead now."""
    forwarded: dict[int, int] = dict(
        DestinationLedger.objects.filter(destination__project_id=project_id, minute__gte=since, minute__lte=until)
        .values_list("destination_id")
        .annotate(n=Sum("forwarded"))
    )
    waiting: dict[int, dict[str, Any]] = {
        row["destination_id"]: dict(row)
        for row in DestinationBatch.objects.filter(destination__project_id=project_id)
        .exclude(status=BatchStatus.DELIVERED)
        .values("destination_id")
        .annotate(
            pending=Sum("event_count", filter=Q(status__in=[BatchStatus.PENDING, BatchStatus.FAILED])),
            dead=Sum("event_count", filter=Q(status=BatchStatus.DEAD)),
            batches=Count("id"),
        )
    }
    return [
        DestinationCounts(
            destination_id=d.pk,
            name=d.name,
            forwarded=forwarded.get(d.pk) or 0,
            pending=waiting.get(d.pk, {}).get("pending") or 0,
            dead=waiting.get(d.pk, {}).get("dead") or 0,
        )
        for d in destinations_of(project_id=project_id)
    ]


def batches_prune(*, now: dt.datetime | None = None, limit: int = 10_000) -> int:
    """Delete delivered batches older than ``DESTINATION_KEEP_DELIVERED_DAYS`` (their events stay
    counted in ``DestinationLedger``); waiting and dead batches are kept. At most ``limit`` a run."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=settings.EVENTBASE["DESTINATION_KEEP_DELIVERED_DAYS"])
    old = DestinationBatch.objects.filter(status=BatchStatus.DELIVERED, delivered_at__lt=cutoff)
    deleted, _ = DestinationBatch.objects.filter(pk__in=list(old.values_list("pk", flat=True)[:limit])).delete()
    return deleted

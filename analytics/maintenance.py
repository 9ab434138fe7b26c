"""Operations on stored data: rebuilding aggregates (erasing a data subject is ``analytics.erasure``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from analytics.retention import raw_events_kept_from
from analytics.rollups import rollup_rebuild_days
from core import days as daysmod
from projects.audit import audit_record
from projects.models import AuditAction, Project

Progress = Callable[[str], None]
REBUILD_CHUNK_DAYS = 7  # local days per transaction: short transactions, visible progress


def raw_cutoff(project: Project, *, today: dt.date | None = None) -> dt.date:
    """The first UTC day whose raw events retention keeps (see analytics.retention)."""
    today = today or dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=project.raw_retention_days)


@dataclass
class RebuildResult:
    days_rebuilt: int = 0
    days_skipped: list[dt.date] = field(default_factory=list)


def aggregates_rebuild(
    *,
    project: Project,
    date_from: dt.date,
    date_to: dt.date,
    dry_run: bool = False,
    progress: Progress = lambda _message: None,
    actor: str = "command",
) -> RebuildResult:
    """Rebuild the project's rollups for local days ``date_from``..``date_to`` from raw events.

    Days whose raw events retention has removed are skipped: rebuilding them from nothing would
    erase the aggregates that are all that is left of them.
    """
    cutoff_local = raw_events_kept_from(project.pk)
    days = daysmod.days_between(date_from, date_to)
    result = RebuildResult(days_skipped=[d for d in days if d < cutoff_local])
    todo = [d for d in days if d >= cutoff_local]
    if result.days_skipped:
        progress(
            f"skipping {len(result.days_skipped)} days before {cutoff_local}: retention removed their raw "
            f"events ({project.raw_retention_days} days), the aggregates are all that is left"
        )
    if dry_run:
        progress(f"would rebuild {len(todo)} days of {project.slug}")
        result.days_rebuilt = len(todo)
        return result
    for start in range(0, len(todo), REBUILD_CHUNK_DAYS):
        chunk = todo[start : start + REBUILD_CHUNK_DAYS]
        rollup_rebuild_days(project_id=project.pk, tz_name=project.timezone, days=chunk)
        result.days_rebuilt += len(chunk)
        progress(f"rebuilt {result.days_rebuilt}/{len(todo)} days (up to {chunk[-1]})")
    audit_record(
        action=AuditAction.AGGREGATES_REBUILT,
        project=project,
        actor=actor,
        details={"from": date_from.isoformat(), "to": date_to.isoformat(), "days": result.days_rebuilt},
    )
    return result

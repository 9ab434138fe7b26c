"""Operations on stored data: rebuilding aggregates and erasing one user (data-subject requests).

Both hold the project's rollup lock (the same advisory lock ``rollup_rebuild_days`` takes), so the
periodic rollup job never interleaves with them on the same project.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction

from analytics import days as daysmod
from analytics.partitions import list_partitions
from analytics.retention import raw_events_kept_from
from analytics.rollups import _PROJECT_LOCK_CLASS, rollup_rebuild_days
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


# --- Erasure ----------------------------------------------------------------------------------


@dataclass
class ErasureResult:
    dry_run: bool
    raw_events: int = 0
    partitions_touched: int = 0
    user_day_rows: int = 0
    bitmaps_cleared: int = 0
    user_dictionary_rows: int = 0
    local_days_rebuilt: int = 0

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def user_id_digest(user_id: str) -> str:
    """The audit log records this instead of the id: it must not keep what it records erasing."""
    return hashlib.sha256(user_id.encode()).hexdigest()


_COUNT_USER_ROWS = "SELECT count(*) FROM {table} WHERE project_id = %s AND user_id = %s"
_DELETE_USER_ROWS = (
    "WITH gone AS (DELETE FROM {table} WHERE project_id = %s AND user_id = %s RETURNING 1) SELECT count(*) FROM gone"
)


def user_erase(
    *,
    project: Project,
    user_id: str,
    dry_run: bool = False,
    progress: Progress = lambda _message: None,
    actor: str = "command",
) -> ErasureResult:
    """Remove one user's raw events (every partition), rollup rows and dictionary entry.

    Runs in ONE transaction: an erasure is all or nothing. The local days the user's events were
    on are rebuilt from what remains, so counts drop by that user's events; on older days whose
    raw events retention already removed, the user's bit is cleared from the day bitmaps directly.
    Call ``ingestion.flush.drain`` first so that events still buffered are stored and erased too.
    """
    result = ErasureResult(dry_run=dry_run)
    partitions = list_partitions()
    utc_days: set[dt.date] = set()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_PROJECT_LOCK_CLASS, project.pk])
        template = _COUNT_USER_ROWS if dry_run else _DELETE_USER_ROWS
        for n, partition in enumerate(partitions, start=1):
            # Per partition rather than one DELETE on the parent: progress, and an index scan each.
            cur.execute(template.format(table=partition.name), [project.pk, user_id])
            found = cur.fetchone()[0]
            if found:
                result.raw_events += found
                result.partitions_touched += 1
                utc_days.add(partition.day)
            if n % 30 == 0:
                progress(f"scanned {n}/{len(partitions)} partitions, {result.raw_events} events so far")
        cur.execute("SELECT user_key FROM analytics_user WHERE project_id = %s AND user_id = %s", [project.pk, user_id])
        row = cur.fetchone()
        if row is not None:
            key = row[0]
            params = {"p": project.pk, "k": key}
            if dry_run:
                cur.execute(
                    "SELECT count(*) FROM analytics_user_day WHERE project_id = %(p)s AND user_key = %(k)s", params
                )
                result.user_day_rows = cur.fetchone()[0]
                cur.execute(
                    "SELECT count(*) FROM analytics_day_users WHERE project_id = %(p)s "
                    "AND octet_length(users) * 8 > %(k)s AND get_bit(users, %(k)s) = 1",
                    params,
                )
                result.bitmaps_cleared = cur.fetchone()[0]
                result.user_dictionary_rows = 1
            else:
                cur.execute("DELETE FROM analytics_user_day WHERE project_id = %(p)s AND user_key = %(k)s", params)
                result.user_day_rows = cur.rowcount
                # PostgreSQL numbers bytea bits as the bitmaps do (bit k%8 of byte k//8).
                cur.execute(
                    "UPDATE analytics_day_users SET users = set_bit(users, %(k)s, 0), user_count = user_count - 1 "
                    "WHERE project_id = %(p)s AND octet_length(users) * 8 > %(k)s AND get_bit(users, %(k)s) = 1",
                    params,
                )
                result.bitmaps_cleared = cur.rowcount
                cur.execute("DELETE FROM analytics_user WHERE project_id = %(p)s AND user_key = %(k)s", params)
                result.user_dictionary_rows = cur.rowcount
        tz = daysmod.zone(project.timezone)
        local_days = set().union(*(daysmod.local_days_of_utc_date(d, tz) for d in utc_days)) if utc_days else set()
        result.local_days_rebuilt = len(local_days)
        if not dry_run:
            if local_days:
                rollup_rebuild_days(project_id=project.pk, tz_name=project.timezone, days=local_days)
            audit_record(
                action=AuditAction.USER_DELETED,
                project=project,
                actor=actor,
                details={"user_id_sha256": user_id_digest(user_id), **result.as_dict()},
            )
    if not dry_run:
        _forget_session(project.pk, user_id)
    return result


def _forget_session(project_id: int, user_id: str) -> None:
    """The flusher's server-session state names the user too (ingestion.flush.assign_sessions)."""
    from config.redis import get_redis
    from ingestion import buffer
    from ingestion.flush import session_field, session_key

    client = get_redis()
    field_name = session_field(project_id, user_id)
    for stream in buffer.all_stream_keys(client):
        client.hdel(session_key(stream), field_name)

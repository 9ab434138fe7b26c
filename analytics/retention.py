"""Retention: raw events by ``Project.raw_retention_days``, rollups by ``aggregate_retention_days``.

A partition of ``events`` holds every project's rows for one UTC day, so it can only be dropped
(cheap, instant, no bloat) when EVERY project's retention has passed for that day, i.e. the day
is older than the longest raw retention. Younger expired days are deleted per project, in
chunks of rows, each chunk its own transaction, so a long run never holds locks for long and an
interrupted run resumes where it stopped (re-running is always safe: the plan is recomputed).

Days are UTC days for raw events (the partitions' days) and the project's local days for rollups
(the days they are built for). A project keeps ``raw_retention_days`` whole days before today:
with 90, on 2024-06-01 the oldest day kept is 2024-03-03.

``--archive DIR`` writes what is about to go to Parquet first, through DuckDB, one file per UTC
day and project in a Hive layout (``DIR/events/day=YYYY-MM-DD/project_id=N/data.parquet``):
``SELECT * FROM read_parquet('DIR/events/**/*.parquet', hive_partitioning = true)`` reads it back.
If archiving fails, nothing is deleted.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from psycopg import sql

from analytics.models import FillState
from analytics.registry import PER_DAY_TABLES
from analytics.web_days import web_days_forget
from core import days as daysmod
from events.columnar import columnar_forget
from events.duck import ATTACHED_AS, duckdb_cursor
from events.partitions import forget_known_partitions, list_partitions, partition_name
from projects.audit import audit_record
from projects.models import AuditAction, AuditEntry, Project

DELETE_CHUNK = 10_000

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ProjectRetention:
    project_id: int
    slug: str
    raw_cutoff: dt.date  # UTC days before this are expired
    aggregate_cutoff: dt.date  # local days before this are expired
    delete_days: list[dt.date]  # existing partitions (not dropped) that hold expired rows of this project


@dataclass(frozen=True)
class RetentionPlan:
    today: dt.date
    drop_days: list[dt.date]  # partitions older than every project's retention
    projects: list[ProjectRetention]


@dataclass
class RetentionResult:
    dry_run: bool
    partitions_dropped: list[str] = field(default_factory=list)
    rows_deleted: dict[str, int] = field(default_factory=dict)  # slug -> raw rows deleted (or to delete)
    aggregate_rows_deleted: dict[str, int] = field(default_factory=dict)
    archived_files: list[str] = field(default_factory=list)
    # Kept in the audit entry: an erasure reports where archives that it cannot reach were written.
    archive_dir: str | None = None

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "partitions_dropped": self.partitions_dropped,
            "rows_deleted": self.rows_deleted,
            "aggregate_rows_deleted": self.aggregate_rows_deleted,
            "archived_files": len(self.archived_files),
            "archive_dir": self.archive_dir,
        }


def retention_plan(*, today: dt.date | None = None) -> RetentionPlan:
    """What is expired on ``today`` (UTC). Without any project, nothing is (nobody's rules apply)."""
    today = today or dt.datetime.now(dt.UTC).date()
    projects = list(Project.objects.order_by("pk"))
    if not projects:
        return RetentionPlan(today=today, drop_days=[], projects=[])
    partition_days = sorted(p.day for p in list_partitions())
    oldest_kept_by_anyone = today - dt.timedelta(days=max(p.raw_retention_days for p in projects))
    drop_days = [day for day in partition_days if day < oldest_kept_by_anyone]
    plans = []
    for project in projects:
        raw_cutoff = today - dt.timedelta(days=project.raw_retention_days)
        local_today = dt.datetime.now(dt.UTC).astimezone(daysmod.zone(project.timezone)).date()
        if local_today > today:  # a fixed ``today`` (tests, reruns) wins over the clock
            local_today = today
        plans.append(
            ProjectRetention(
                project_id=project.pk,
                slug=project.slug,
                raw_cutoff=raw_cutoff,
                aggregate_cutoff=local_today - dt.timedelta(days=project.aggregate_retention_days),
                delete_days=[d for d in partition_days if oldest_kept_by_anyone <= d < raw_cutoff],
            )
        )
    return RetentionPlan(today=today, drop_days=drop_days, projects=plans)


def _count_rows(table: str, project_id: int | None = None) -> int:
    with connection.cursor() as cur:
        if project_id is None:
            cur.execute(f"SELECT count(*) FROM {table}")
        else:
            cur.execute(f"SELECT count(*) FROM {table} WHERE project_id = %s", [project_id])
        return cur.fetchone()[0]


def _projects_in(table: str) -> list[int]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT DISTINCT project_id FROM {table} ORDER BY 1")
        return [row[0] for row in cur.fetchall()]


def _archive(archive_dir: Path, day: dt.date, project_id: int) -> str:
    """One (day, project) of raw events to Parquet, written under a temporary name then renamed."""
    folder = archive_dir / "events" / f"day={day.isoformat()}" / f"project_id={project_id}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "data.parquet"
    tmp = folder / f".data.parquet.tmp{os.getpid()}"
    tmp_literal = "'" + str(tmp).replace("'", "''") + "'"
    cur = duckdb_cursor()
    try:
        # project_id and the day are in the path (Hive partitioning), not repeated in the file.
        cur.execute(
            f"COPY (SELECT * EXCLUDE (project_id) FROM {ATTACHED_AS}.public.{partition_name(day)} "
            f'WHERE project_id = {int(project_id)} ORDER BY "timestamp") '
            f"TO {tmp_literal} (FORMAT parquet, COMPRESSION zstd)"
        )
    finally:
        cur.close()
    os.replace(tmp, target)
    return str(target)


def _delete_project_rows(day: dt.date, project_id: int, progress: Progress) -> int:
    """Delete one project's rows from one partition, DELETE_CHUNK rows per transaction."""
    table = partition_name(day)
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE project_id = %s LIMIT %s))",
                [project_id, DELETE_CHUNK],
            )
            deleted = cur.rowcount
        total += deleted
        if deleted < DELETE_CHUNK:
            return total
        progress(f"  {table}: {total} rows deleted so far …")


def _fill_state_name(project_id: int) -> str:
    return f"raw_retention:{project_id}"


def raw_events_kept_from(project_id: int) -> dt.date:
    """The first local day whose raw events are all still there (``date.min`` if retention never ran).

    Days before it lost raw events to retention: rebuilding their rollups from what is left (say
    one late event) would replace the longer-kept aggregates with a fraction of them. It is the
    cutoff retention *enforced*, not the one the policy implies: until retention runs, old raw
    events are still there and their days can be rebuilt.
    """
    state = FillState.objects.filter(name=_fill_state_name(project_id)).first()
    if state is None:
        return dt.date.min
    # end_time is the enforced UTC cutoff; a local day before the next UTC day may straddle it.
    return state.end_time.date() + dt.timedelta(days=1)


def retention_enforce(
    *,
    today: dt.date | None = None,
    dry_run: bool = False,
    archive_dir: Path | None = None,
    progress: Progress = lambda _message: None,
    actor: str = "command",
) -> RetentionResult:
    plan = retention_plan(today=today)
    result = RetentionResult(dry_run=dry_run, archive_dir=str(archive_dir.resolve()) if archive_dir else None)
    slugs = {p.project_id: p.slug for p in plan.projects}

    # 1. Whole partitions that every project has let go of.
    for day in plan.drop_days:
        table = partition_name(day)
        counts = {pid: _count_rows(table, pid) for pid in _projects_in(table)}
        for pid, n in counts.items():
            key = slugs.get(pid, f"deleted-project-{pid}")
            result.rows_deleted[key] = result.rows_deleted.get(key, 0) + n
        if dry_run:
            progress(f"would drop {table} ({sum(counts.values())} rows)")
            result.partitions_dropped.append(table)
            continue
        if archive_dir is not None:
            for pid in counts:
                result.archived_files.append(_archive(archive_dir, day, pid))
        with transaction.atomic(), connection.cursor() as cur:
            # Dropping a partition locks the parent briefly; do not queue behind a long reader
            # and block the flushers with us: give up and let the next run retry.
            cur.execute("SET LOCAL lock_timeout = '10s'")
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        forget_known_partitions()
        result.partitions_dropped.append(table)
        progress(f"dropped {table} ({sum(counts.values())} rows)")

    # 2. Per project, expired rows in partitions other projects still need.
    for p in plan.projects:
        for day in p.delete_days:
            table = partition_name(day)
            if dry_run:
                n = _count_rows(table, p.project_id)
                if n:
                    progress(f"would delete {n} rows of {p.slug} from {table}")
            else:
                if archive_dir is not None and _count_rows(table, p.project_id):
                    result.archived_files.append(_archive(archive_dir, day, p.project_id))
                n = _delete_project_rows(day, p.project_id, progress)
                if n:
                    progress(f"deleted {n} rows of {p.slug} from {table}")
            if n:
                result.rows_deleted[p.slug] = result.rows_deleted.get(p.slug, 0) + n
        if not dry_run:
            # Expired days leave the columnar tier too, whichever of the two steps removed them.
            with transaction.atomic():
                columnar_forget(project_id=p.project_id, before=p.raw_cutoff)
                web_days_forget(project_id=p.project_id, before=p.raw_cutoff)
            cutoff = dt.datetime.combine(p.raw_cutoff, dt.time(), tzinfo=dt.UTC)
            FillState.objects.update_or_create(
                name=_fill_state_name(p.project_id), defaults={"end_time": cutoff, "state": FillState.DONE}
            )

    # 3. Rollups, by each project's aggregate retention (local days): every per-day table of the
    #    registry, those that keep raw property values included.
    count = sql.SQL("SELECT count(*) FROM {} WHERE project_id = %s AND day < %s")
    delete = sql.SQL(
        "WITH gone AS (DELETE FROM {} WHERE project_id = %s AND day < %s RETURNING 1) SELECT count(*) FROM gone"
    )
    for p in plan.projects:
        total = 0
        with transaction.atomic(), connection.cursor() as cur:
            for rollup in PER_DAY_TABLES:
                cur.execute(
                    (count if dry_run else delete).format(rollup.identifier), [p.project_id, p.aggregate_cutoff]
                )
                total += cur.fetchone()[0]
        if total:
            result.aggregate_rows_deleted[p.slug] = total
            verb = "would delete" if dry_run else "deleted"
            progress(f"{verb} {total} rollup rows of {p.slug} before {p.aggregate_cutoff}")

    if not dry_run:
        audit_record(
            action=AuditAction.RETENTION_RUN, actor=actor, details={"today": plan.today.isoformat(), **result.as_dict()}
        )
    return result


def retention_archive_dirs() -> list[str]:
    """Every folder ``enforce_retention --archive`` has written Parquet files to (from the audit log)."""
    dirs = (
        AuditEntry.objects.filter(action=AuditAction.RETENTION_RUN, details__archive_dir__isnull=False)
        .values_list("details__archive_dir", flat=True)
        .distinct()
    )
    return sorted(d for d in dirs if d)

"""Erasing one data subject (``manage.py delete_user``): the person, every id of it, and all they sent.

The subject is the person, not the id asked for: an anonymous id merged with a login id is the
same visitor, so the events, rollup rows and dictionary entries of every id of the person go,
with the person row, its ids and its properties (``persons.services.person_erase``), in ONE
transaction. The days those events were on are rebuilt from what remains; on days whose raw
events retention already removed, the ids' bits are cleared from the day bitmaps directly.

What it cannot reach is reported, not hidden: dead letters still holding the person's events
(``ingestion.dead_letters``) and Parquet archives written by ``enforce_retention --archive``.
Nor can it rebuild days past raw retention: their counts per property value
(``analytics_daily_props``) are not kept per user, so they go on counting the person's events,
and a value sent as an ordinary event property (an email typed in a form) stays until aggregate
retention. Person properties and linked ids are never rolled up as values
(``analytics.rollups.PERSON_DATA_KEYS``).

It holds the project's rollup lock (the one ``rollup_rebuild_days`` takes), so the periodic
rollup job never interleaves with it on the same project.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from psycopg import sql

from analytics.registry import UserData, tables_with
from analytics.retention import raw_events_kept_from, retention_archive_dirs
from analytics.rollups import rollup_rebuild_days
from analytics.web_days import web_days_forget
from core import days as daysmod
from core import locks
from core.redis import get_redis
from events.columnar import columnar_forget, columnar_mark_partition
from events.partitions import list_partitions
from ingestion import buffer
from ingestion.dead_letters import dead_letters_naming
from ingestion.sessions import session_field, session_key
from persons.selectors import person_distinct_ids
from persons.services import person_erase
from projects.audit import audit_record
from projects.models import AuditAction, Project

Progress = Callable[[str], None]


@dataclass
class ErasureResult:
    dry_run: bool
    distinct_ids: int = 0  # ids of the person erased (a count: the report must not repeat them)
    persons: int = 0
    person_properties: int = 0
    raw_events: int = 0
    partitions_touched: int = 0
    user_rows: int = 0  # rollup rows keyed by one of the ids' user keys
    bitmaps_cleared: int = 0
    user_dictionary_rows: int = 0
    local_days_rebuilt: int = 0
    # Not erased, and said so: dead letters holding the person's events, and Parquet archives.
    dead_letter_ids: list[str] = field(default_factory=list)
    archive_dirs: list[str] = field(default_factory=list)
    archive_files: int = 0  # of this project, in the archive folders this machine can read

    def as_dict(self) -> dict:
        return asdict(self)

    def out_of_reach(self) -> list[str]:
        """What the erasure could not reach, one sentence each, for the command's output."""
        notes = []
        if self.dead_letter_ids:
            notes.append(
                f"{len(self.dead_letter_ids)} dead letter(s) hold events of this person and were NOT erased "
                f"({' '.join(self.dead_letter_ids)}): remove them with `redis-cli XDEL {buffer.DLQ} <id>…` once "
                "other events in them are not needed (replay_dead_letters would store this person's events again)."
            )
        else:
            notes.append("the dead-letter stream holds no events of this person.")
        if self.archive_dirs:
            notes.append(
                "Parquet archives were NOT touched: they may hold this person's events older than raw retention "
                f"({self.archive_files} file(s) of this project under {', '.join(self.archive_dirs)}, "
                "written by enforce_retention --archive)."
            )
        else:
            notes.append(
                "no enforce_retention --archive run is on record; Parquet archives made some other way are not touched."
            )
        return notes


def user_id_digest(user_id: str) -> str:
    """The audit log records this instead of the id: it must not keep what it records erasing."""
    return hashlib.sha256(user_id.encode()).hexdigest()


_KEYED = "FROM {} WHERE project_id = %(p)s AND user_key = ANY(%(keys)s)"
_COUNT_KEYED = sql.SQL("SELECT count(*) " + _KEYED)
_DELETE_KEYED = sql.SQL("WITH gone AS (DELETE " + _KEYED + " RETURNING 1) SELECT count(*) FROM gone")
# PostgreSQL numbers bytea bits as the bitmaps do (bit k%8 of byte k//8).
_BIT_SET = "WHERE project_id = %(p)s AND octet_length(users) * 8 > %(k)s AND get_bit(users, %(k)s) = 1"
_COUNT_BIT = sql.SQL("SELECT count(*) FROM {} " + _BIT_SET)
_CLEAR_BIT = sql.SQL(
    "WITH gone AS (UPDATE {} SET users = set_bit(users, %(k)s, 0), user_count = user_count - 1 "
    + _BIT_SET
    + " RETURNING 1) SELECT count(*) FROM gone"
)
_COUNT_EVENTS = sql.SQL("SELECT count(*) FROM {} WHERE project_id = %s AND user_id = ANY(%s)")
_DELETE_EVENTS = sql.SQL(
    "WITH gone AS (DELETE FROM {} WHERE project_id = %s AND user_id = ANY(%s) RETURNING 1) SELECT count(*) FROM gone"
)


def user_erase(
    *,
    project: Project,
    user_id: str,
    dry_run: bool = False,
    progress: Progress = lambda _message: None,
    actor: str = "command",
) -> ErasureResult:
    """Erase the person ``user_id`` belongs to (or the id alone, if it is no person's) from ``project``.

    All or nothing: one transaction. Call ``ingestion.flush.drain`` first so that events still
    buffered are stored and erased too.
    """
    result = ErasureResult(dry_run=dry_run)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [locks.ROLLUPS_PER_PROJECT, project.pk])
        ids = person_distinct_ids(project_id=project.pk, distinct_id=user_id)
        utc_days = _erase_ids(cur, project, ids, result, progress)
        # The person goes last: person_erase holds the persons lock, which every flush of this
        # project's identity events waits for, until we commit. An id linked to the person since
        # we read its ids comes back from it, and is erased like the others.
        person = person_erase(project_id=project.pk, distinct_ids=ids, dry_run=dry_run)
        linked_meanwhile = sorted(set(person.distinct_ids) - set(ids))
        if linked_meanwhile:
            utc_days |= _erase_ids(cur, project, linked_meanwhile, result, progress)
        ids = person.distinct_ids
        result.distinct_ids, result.partitions_touched = len(ids), len(utc_days)
        result.persons, result.person_properties = person.persons, person.properties
        _report_unreachable(project, ids, result)
        if not dry_run:
            audit_record(
                action=AuditAction.USER_DELETED,
                project=project,
                actor=actor,
                details={"user_id_sha256": user_id_digest(user_id), **result.as_dict()},
            )
    if not dry_run:
        _forget_sessions(project.pk, ids)
    return result


def _erase_ids(
    cur: CursorWrapper, project: Project, ids: list[str], result: ErasureResult, progress: Progress
) -> set[dt.date]:
    """The ids' raw events, their rollup rows, and the rebuild of their days; returns the UTC days."""
    utc_days = _erase_events(cur, project, ids, result, progress)
    if utc_days and not result.dry_run:
        columnar_forget(project_id=project.pk, days=utc_days)  # their files go when this commits
        for day in utc_days:  # and are written again from the events left (the web rollup's too)
            columnar_mark_partition(day, project_id=project.pk)
    _erase_user_rollups(cur, project, ids, result)
    tz = daysmod.zone(project.timezone)
    local_days = set().union(*(daysmod.local_days_of_utc_date(d, tz) for d in utc_days)) if utc_days else set()
    if local_days and not result.dry_run:
        web_days_forget(project_id=project.pk, days=local_days)  # the web rollup's files too
    # A local day that retention has begun to remove raw events of would be rebuilt from a part
    # of them; it keeps its counts, and the bits and rows cleared above are all that named the ids.
    local_days = {day for day in local_days if day >= raw_events_kept_from(project.pk)}
    result.local_days_rebuilt += len(local_days)
    if local_days and not result.dry_run:
        rollup_rebuild_days(project_id=project.pk, tz_name=project.timezone, days=local_days)
    return utc_days


def _erase_events(
    cur: CursorWrapper, project: Project, ids: Collection[str], result: ErasureResult, progress: Progress
) -> set:
    """Delete (or count) the ids' raw events in every partition; returns the UTC days they were on."""
    partitions = list_partitions()
    template = _COUNT_EVENTS if result.dry_run else _DELETE_EVENTS
    utc_days: set[dt.date] = set()
    for n, partition in enumerate(partitions, start=1):
        # Per partition rather than one DELETE on the parent: progress, and an index scan each.
        cur.execute(template.format(sql.Identifier(partition.name)), [project.pk, list(ids)])
        found = cur.fetchone()[0]
        if found:
            result.raw_events += found
            utc_days.add(partition.day)
        if n % 30 == 0:
            progress(f"scanned {n}/{len(partitions)} partitions, {result.raw_events} events so far")
    return utc_days


def _erase_user_rollups(cur: CursorWrapper, project: Project, ids: list[str], result: ErasureResult) -> None:
    """Every registry table holding the ids' user keys: rows deleted, bits cleared, the dictionary last."""
    cur.execute(
        "SELECT user_key FROM analytics_user WHERE project_id = %s AND user_id = ANY(%s) ORDER BY 1", [project.pk, ids]
    )
    keys = [row[0] for row in cur.fetchall()]
    if not keys:
        return
    keyed, bit = (_COUNT_KEYED, _COUNT_BIT) if result.dry_run else (_DELETE_KEYED, _CLEAR_BIT)
    for table in tables_with(UserData.ROWS):
        cur.execute(keyed.format(table.identifier), {"p": project.pk, "keys": keys})
        result.user_rows += cur.fetchone()[0]
    # A merged person counts under its lowest key, but days rolled up before the merge (and past
    # raw retention, so not rebuilt) may hold the bits of its other ids: every key is cleared.
    for table in tables_with(UserData.BITMAP):
        for key in keys:
            cur.execute(bit.format(table.identifier), {"p": project.pk, "k": key})
            result.bitmaps_cleared += cur.fetchone()[0]
    for table in tables_with(UserData.DICTIONARY):
        cur.execute(keyed.format(table.identifier), {"p": project.pk, "keys": keys})
        result.user_dictionary_rows += cur.fetchone()[0]


def _report_unreachable(project: Project, ids: list[str], result: ErasureResult) -> None:
    result.dead_letter_ids = dead_letters_naming(project_id=project.pk, user_ids=ids)
    result.archive_dirs = retention_archive_dirs()
    pattern = f"events/day=*/project_id={project.pk}/data.parquet"
    result.archive_files = sum(len(list(Path(d).glob(pattern))) for d in result.archive_dirs if Path(d).is_dir())


def _forget_sessions(project_id: int, ids: list[str]) -> None:
    """The flusher's server-session state names the ids too (ingestion.sessions.assign_sessions)."""
    client = get_redis()
    fields = [session_field(project_id, user_id) for user_id in ids]
    for stream in buffer.all_stream_keys(client):
        client.hdel(session_key(stream), *fields)

"""Groups: the companies, teams… events belong to, as PostHog models them.

A project has up to ``MAX_GROUP_TYPES`` group types; each gets an index 0..4 on first sight,
kept for good, because events store the key of their group of type i in column ``group_<i>``
(events.models.GROUP_COLUMNS): a query counts groups by reading that column, with no join. An
event names its groups in ``$groups`` (``{"company": "acme"}``, posthog-python's ``groups=``);
``$groupidentify`` (``$group_type``, ``$group_key``, ``$group_set``; Segment ``group`` calls
arrive as one of type ``company``) merges properties into a group, ``$set`` semantics.

The flush (ingestion.flush_write) calls ``groups_of`` for the rare records that mention a group,
``group_columns`` inside its transaction to turn type names into the columns' fields, and
``groups_apply`` for the ``$groupidentify`` events really inserted.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection
from django.db.backends.utils import CursorWrapper

from core import locks
from events.models import GROUP_COLUMNS

logger = logging.getLogger(__name__)

MAX_GROUP_TYPES = len(GROUP_COLUMNS)
GROUP_IDENTIFY = "$groupidentify"
GROUPS = "$groups"  # of any event: {group type: group key}
GROUP_TYPE, GROUP_KEY, GROUP_SET = "$group_type", "$group_key", "$group_set"
SEGMENT_GROUP_ID = "$group_id"  # Segment's groupId, as the Segment adapter stores it
SEGMENT_GROUP_TYPE = "company"  # Segment's group calls name no type; PostHog's default is the company
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class GroupOp:
    """What one ``$groupidentify`` says: set these properties on this group."""

    project_id: int
    event_id: str
    timestamp_us: int
    group_type: str
    group_key: str
    set: dict[str, Any]


def _name(value: Any) -> str | None:
    """A group type or key as stored: a non-empty text (numbers as their text), or None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if not text or len(text) > MAX_NAME_LENGTH or "\x00" in text:
        return None
    return text


def groups_of(project_id: int, event: Mapping[str, Any]) -> tuple[dict[str, str], GroupOp | None]:
    """The groups one event names (type -> key) and its group update, from the flush's event shape
    (``n`` name, ``id``, ``t`` µs, ``p`` properties). Malformed names are ignored, not refused:
    the event itself was valid."""
    properties = event.get("p") or {}
    groups: dict[str, str] = {}
    named = properties.get(GROUPS)
    if isinstance(named, dict):
        for group_type, key in named.items():
            type_name, key_name = _name(group_type), _name(key)
            if type_name is not None and key_name is not None:
                groups[type_name] = key_name
    if event.get("n") != GROUP_IDENTIFY:
        return groups, None
    type_name = _name(properties.get(GROUP_TYPE, SEGMENT_GROUP_TYPE if SEGMENT_GROUP_ID in properties else None))
    key_name = _name(properties.get(GROUP_KEY, properties.get(SEGMENT_GROUP_ID)))
    if type_name is None or key_name is None:
        return groups, None
    groups[type_name] = key_name  # the identify event belongs to the group it describes
    set_ = properties.get(GROUP_SET)
    op = GroupOp(
        project_id, str(event["id"]), int(event["t"]), type_name, key_name, set_ if isinstance(set_, dict) else {}
    )
    return groups, op


def group_type_indexes(cur: CursorWrapper, project_id: int, names: Iterable[str]) -> dict[str, int]:
    """The index of each named type of the project, assigning indexes to new ones while fewer
    than MAX_GROUP_TYPES exist; a type beyond that has none (logged: its events keep their
    ``$groups`` property, they only lack the column)."""
    wanted = set(names)
    known = _indexes(cur, project_id)
    missing = sorted(wanted - known.keys())
    if missing:
        # Two flushers seeing a new type at once must not give it two indexes, or one index two types.
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [locks.GROUP_TYPES_PER_PROJECT, project_id])
        known = _indexes(cur, project_id)
        for name in missing:
            if name in known:
                continue
            if len(known) >= MAX_GROUP_TYPES:
                logger.warning(
                    "project %s: group type %r ignored, the project has %s already", project_id, name, MAX_GROUP_TYPES
                )
                continue
            index = len(known)
            cur.execute(
                "INSERT INTO persons_group_type (project_id, group_type, index) VALUES (%s, %s, %s)",
                [project_id, name, index],
            )
            known[name] = index
    return {name: index for name, index in known.items() if name in wanted}


def _indexes(cur: CursorWrapper, project_id: int) -> dict[str, int]:
    cur.execute("SELECT group_type, index FROM persons_group_type WHERE project_id = %s", [project_id])
    return {name: index for name, index in cur.fetchall()}


def group_columns(cur: CursorWrapper, named: Mapping[int, list[dict[str, str]]]) -> dict[int, list[list[str | None]]]:
    """Per project, each event's group keys in GROUP_COLUMNS order (None: no group of that type),
    for the events' ``groups_of`` in ``named``; assigns indexes to new types."""
    out: dict[int, list[list[str | None]]] = {}
    for project_id in sorted(named):  # one lock order for every flusher
        events = named[project_id]
        indexes = group_type_indexes(cur, project_id, {name for groups in events for name in groups})
        rows = []
        for groups in events:
            row: list[str | None] = [None] * MAX_GROUP_TYPES
            for name, key in groups.items():
                index = indexes.get(name)
                if index is not None:
                    row[index] = key
            rows.append(row)
        out[project_id] = rows
    return out


def groups_apply(*, ops: Iterable[GroupOp], now: dt.datetime) -> int:
    """Merge the ops' properties into their groups, in event-time order (a later ``$group_set``
    wins a key), creating groups on first sight; inside the caller's transaction. Returns the
    groups written. The ops' types have indexes already (``group_columns`` ran first)."""
    by_project: dict[int, list[GroupOp]] = defaultdict(list)
    for op in ops:
        by_project[op.project_id].append(op)
    written = 0
    with connection.cursor() as cur:
        for project_id in sorted(by_project):
            project_ops = sorted(by_project[project_id], key=lambda o: o.timestamp_us)
            indexes = _indexes(cur, project_id)
            merged: dict[tuple[int, str], dict[str, Any]] = {}
            for op in project_ops:
                index = indexes.get(op.group_type)
                if index is not None:
                    merged.setdefault((index, op.group_key), {}).update(op.set)
            if not merged:
                continue
            # One row per group, so the upsert never meets the same row twice.
            cur.execute(
                "INSERT INTO persons_group AS g (project_id, group_type_index, group_key, properties, created_at, "
                "updated_at) SELECT %s, i, k, p::jsonb, %s, %s FROM unnest(%s::smallint[], %s::text[], %s::text[]) "
                "AS t(i, k, p) ON CONFLICT (project_id, group_type_index, group_key) DO UPDATE SET "
                "properties = g.properties || EXCLUDED.properties, updated_at = EXCLUDED.updated_at",
                [
                    project_id,
                    now,
                    now,
                    [index for index, _ in merged],
                    [key for _, key in merged],
                    [orjson.dumps(props).decode() for props in merged.values()],
                ],
            )
            written += len(merged)
    return written


def group_types(*, project_id: int) -> list[dict[str, Any]]:
    """The project's group types, by index."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT group_type, index FROM persons_group_type WHERE project_id = %s ORDER BY index", [project_id]
        )
        return [{"group_type": name, "index": index} for name, index in cur.fetchall()]


def group_type_index(*, project_id: int, group_type: str) -> int | None:
    """The index of a known type of the project, None for a type never seen."""
    with connection.cursor() as cur:
        return _indexes(cur, project_id).get(group_type)

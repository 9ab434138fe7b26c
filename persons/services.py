"""Writing persons: identity links and person properties, applied by the ingestion flush.

Why in the flush, not at accept time: the capture API stays Redis-only (no PostgreSQL write in the
hot path); a link commits in the same transaction as the event that carries it, so it is applied
exactly when the event is stored; and only events really inserted count (a replay older than the
Redis dedupe window, caught by ON CONFLICT, does not re-apply a stale ``$set``). Every protocol,
the native API included, uses one shape: ``$identify`` with ``properties.$anon_distinct_id``,
``$create_alias`` with ``properties.alias``, and ``properties.$set`` / ``$set_once`` on any event.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from core import locks
from events.dirty import rollups_mark_dirty
from events.property_types import DATETIME_REGEX_SQL, property_type_of, property_type_sql
from persons.cohorts import cohort_members_forget
from persons.identity import PERSON_KEY_PREFIX, same_person_join

IDENTIFY = "$identify"
CREATE_ALIAS = "$create_alias"
ANON_DISTINCT_ID = "$anon_distinct_id"  # of an $identify: the id being linked
ALIAS = "alias"  # of a $create_alias: the id being linked
SET, SET_ONCE = "$set", "$set_once"
# The event properties whose values are a person's: ids and person properties (emails, names).
PERSON_DATA_PROPERTIES = (ANON_DISTINCT_ID, ALIAS, SET, SET_ONCE)


@dataclass(frozen=True)
class IdentityOp:
    """What one stored event says about persons."""

    project_id: int
    event_id: str
    distinct_id: str
    timestamp_us: int
    other_id: str | None = None  # the id to link with ``distinct_id`` (anonymous id or alias)
    set: dict[str, Any] | None = None
    set_once: dict[str, Any] | None = None


def identity_op_of(project_id: int, event: dict[str, Any]) -> IdentityOp | None:
    """The person work in one buffered event (the flush's JSON shape), or None — the common case."""
    if event.get("a"):  # a server-made anonymous id (hash of IP and user agent) is nobody's login
        return None
    properties = event.get("p") or {}
    name = event["n"]
    other = None
    if name == IDENTIFY:
        other = properties.get(ANON_DISTINCT_ID)
    elif name == CREATE_ALIAS:
        other = properties.get(ALIAS)
    if not isinstance(other, str) or not other or other == event["u"] or len(other) > 200:
        other = None
    set_ = properties.get(SET) if isinstance(properties.get(SET), dict) else None
    set_once = properties.get(SET_ONCE) if isinstance(properties.get(SET_ONCE), dict) else None
    if other is None and not set_ and not set_once:
        return None
    return IdentityOp(project_id, event["id"], event["u"], event["t"], other, set_, set_once)


@dataclass
class PersonsApplied:
    links: int = 0
    # Per project, the ids whose person changed: their past events now count for another person.
    relinked: dict[int, set[str]] | None = None


def persons_apply(*, ops: Iterable[IdentityOp], now: dt.datetime) -> PersonsApplied:
    """Apply identity links and property updates in event-time order, inside the caller's transaction."""
    by_project: dict[int, list[IdentityOp]] = defaultdict(list)
    for op in ops:
        by_project[op.project_id].append(op)
    applied = PersonsApplied(relinked=defaultdict(set))
    assert applied.relinked is not None
    with connection.cursor() as cur:
        for project_id in sorted(by_project):  # one lock order for every flusher: no deadlock
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [locks.PERSONS_PER_PROJECT, project_id])
            writer = _Writer(cur, project_id, now)
            # A stable sort: events of the same instant keep the order they were sent in.
            for op in sorted(by_project[project_id], key=lambda o: o.timestamp_us):
                if op.other_id is not None and writer.link(op.distinct_id, op.other_id):
                    applied.links += 1
                    applied.relinked[project_id] |= {op.distinct_id, op.other_id}
                if op.set or op.set_once:
                    writer.update(op.distinct_id, op.set or {}, op.set_once or {})
            writer.save()
            if applied.relinked.get(project_id):
                _mark_relinked_days(cur, project_id, applied.relinked[project_id])
    return applied


def _mark_relinked_days(cur: CursorWrapper, project_id: int, distinct_ids: set[str]) -> None:
    """Mark dirty the days whose rollups now count a different person for some id.

    The rollups count every id of a person under the person's lowest user key (see
    analytics.rollups). After a link, the ids of the person that do not hold that key changed
    key: the UTC dates they were active on (first to last seen) are rebuilt by the rollup job.
    Ids not rolled up yet have no user key, and their days are dirty already.
    """
    cur.execute(
        "SELECT d2.person_id, u.user_key, u.first_seen, u.last_seen "
        "FROM unnest(%s::text[]) AS relinked(distinct_id) "
        f"{same_person_join(distinct_id='relinked.distinct_id', project='%s')} "
        "JOIN analytics_user u ON u.project_id = d2.project_id AND u.user_id = d2.distinct_id",
        [sorted(distinct_ids), project_id],
    )
    by_person: dict[int, list[tuple[int, dt.datetime, dt.datetime]]] = defaultdict(list)
    for person, user_key, first_seen, last_seen in set(cur.fetchall()):
        by_person[person].append((user_key, first_seen, last_seen))
    days: set[dt.date] = set()
    for spans in by_person.values():
        for _key, first_seen, last_seen in sorted(spans)[1:]:
            day, last = first_seen.astimezone(dt.UTC).date(), last_seen.astimezone(dt.UTC).date()
            while day <= last:
                days.add(day)
                day += dt.timedelta(days=1)
    if days:
        rollups_mark_dirty(touched={project_id: days}, columnar=False)  # ids moved, no event changed


class _Writer:
    """One project's person writes; properties are merged in memory and written once per person."""

    def __init__(self, cur: CursorWrapper, project_id: int, now: dt.datetime) -> None:
        self.cur, self.project_id, self.now = cur, project_id, now
        self.properties: dict[int, dict[str, Any]] = {}
        # As stored before this batch (empty for a new person): what the type counts held.
        self.original: dict[int, dict[str, Any]] = {}
        self.dirty: set[int] = set()
        self.deleted: set[int] = set()

    def person_of(self, distinct_id: str) -> int | None:
        self.cur.execute(
            "SELECT person_id FROM persons_distinct_id WHERE project_id = %s AND distinct_id = %s",
            [self.project_id, distinct_id],
        )
        row = self.cur.fetchone()
        return row[0] if row else None

    def create(self, *distinct_ids: str) -> int:
        self.cur.execute(
            "INSERT INTO persons_person (project_id, properties, created_at, updated_at) "
            "VALUES (%s, '{}', %s, %s) RETURNING id",
            [self.project_id, self.now, self.now],
        )
        person = self.cur.fetchone()[0]
        self.properties[person] = {}
        self.original[person] = {}
        for distinct_id in distinct_ids:
            self.attach(distinct_id, person)
        return person

    def attach(self, distinct_id: str, person: int) -> None:
        self.cur.execute(
            "INSERT INTO persons_distinct_id (project_id, distinct_id, person_id) VALUES (%s, %s, %s)",
            [self.project_id, distinct_id, person],
        )

    def link(self, distinct_id: str, other_id: str) -> bool:
        """Make both ids one person (``distinct_id``'s person survives a merge); True if anything changed."""
        keep, other = self.person_of(distinct_id), self.person_of(other_id)
        if keep is not None and keep == other:
            return False
        if keep is None and other is None:
            self.create(distinct_id, other_id)
        elif keep is None:
            self.attach(distinct_id, other)  # type: ignore[arg-type]
        elif other is None:
            self.attach(other_id, keep)
        else:
            # Two persons become one: the identified one absorbs the other's ids and keeps its own
            # properties where both have the same key.
            merged = {**self.load(other), **self.load(keep)}
            self.cur.execute(
                "UPDATE persons_distinct_id SET person_id = %s WHERE project_id = %s AND person_id = %s",
                [keep, self.project_id, other],
            )
            self.cur.execute("DELETE FROM persons_person WHERE id = %s", [other])
            self.properties.pop(other, None)
            self.dirty.discard(other)
            self.deleted.add(other)
            self.properties[keep] = merged
            self.dirty.add(keep)
        return True

    def load(self, person: int) -> dict[str, Any]:
        if person not in self.properties:
            self.cur.execute("SELECT properties FROM persons_person WHERE id = %s", [person])
            value = self.cur.fetchone()[0]
            self.properties[person] = orjson.loads(value) if isinstance(value, str | bytes) else dict(value)
            self.original[person] = dict(self.properties[person])
        return self.properties[person]

    def update(self, distinct_id: str, set_: dict[str, Any], set_once: dict[str, Any]) -> None:
        person = self.person_of(distinct_id)
        if person is None:
            person = self.create(distinct_id)
        properties = self.load(person)
        for key, value in set_once.items():
            properties.setdefault(key, value)
        properties.update(set_)
        self.dirty.add(person)

    def save(self) -> None:
        for person in sorted(self.dirty):
            self.cur.execute(
                "UPDATE persons_person SET properties = %s::jsonb, updated_at = %s WHERE id = %s",
                [orjson.dumps(self.properties[person]).decode(), self.now, person],
            )
        delta: Counter[tuple[str, str]] = Counter()
        for person in self.dirty | self.deleted:
            delta.subtract(_typed_keys(self.original.get(person, {})))
            if person not in self.deleted:
                delta.update(_typed_keys(self.properties[person]))
        _property_types_apply(self.cur, self.project_id, delta)


def _typed_keys(properties: dict[str, Any]) -> Counter[tuple[str, str]]:
    """(key, type) of each property that has a value (events.property_types; null is unset)."""
    return Counter((key, kind) for key, value in properties.items() if (kind := property_type_of(value)))


def _property_types_apply(cur: CursorWrapper, project_id: int, delta: Counter[tuple[str, str]]) -> None:
    """Add ``delta`` to the project's person counts per (key, type): one statement, then drop zeros."""
    changed = [(key, kind, n) for (key, kind), n in sorted(delta.items()) if n]
    if not changed:
        return
    keys, kinds, counts = (list(column) for column in zip(*changed, strict=True))
    cur.execute(
        "INSERT INTO persons_property_type (project_id, key, type, persons) "
        "SELECT %s, key, type, n FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS d(key, type, n) "
        "ON CONFLICT (project_id, key, type) DO UPDATE SET persons = persons_property_type.persons + EXCLUDED.persons",
        [project_id, keys, kinds, counts],
    )
    cur.execute("DELETE FROM persons_property_type WHERE project_id = %s AND persons <= 0", [project_id])


def person_property_types_recount(*, project_id: int) -> int:
    """Count the project's persons per property key and type again from their stored properties.

    The person writer keeps these counts as it goes; this is for persons written around it (a bulk
    load, the benchmark's persons) and as a repair. Returns the number of (key, type) rows."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [locks.PERSONS_PER_PROJECT, project_id])
        cur.execute("DELETE FROM persons_property_type WHERE project_id = %s", [project_id])
        cur.execute(
            f"""
            INSERT INTO persons_property_type (project_id, key, type, persons)
            SELECT %(p)s, key, type, count(*) FROM (
                SELECT k.key, {property_type_sql(json_type="jsonb_typeof(k.value)", text="k.value #>> '{}'")} AS type
                FROM persons_person p, jsonb_each(p.properties) AS k(key, value)
                WHERE p.project_id = %(p)s AND jsonb_typeof(p.properties) = 'object'
            ) t
            WHERE type IS NOT NULL
            GROUP BY key, type
            """,
            {"p": project_id, "datetime_re": DATETIME_REGEX_SQL},
        )
        return cur.rowcount


# --- Erasure ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonErasure:
    persons: int  # person rows
    distinct_ids: list[str]  # every id of those persons, and the ids asked for
    distinct_id_rows: int  # rows of persons_distinct_id
    properties: int  # keys of the persons' properties ($set, $set_once, traits)


def person_erase(*, project_id: int, distinct_ids: Collection[str], dry_run: bool = False) -> PersonErasure:
    """Delete the persons these ids belong to, with every id linked to them and their properties.

    The data subject is the person, not one of its ids: the returned ``distinct_ids`` are all of
    them, for the caller to erase their events too (an id linked while the caller was erasing
    shows up here). The project's persons lock is held until the caller's transaction ends, so no
    flush links another id to the person or writes its properties again in between. Events
    stored later under one of these ids make a new person, as for any id never seen before.
    """
    with transaction.atomic(), connection.cursor() as cur:
        if not dry_run:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [locks.PERSONS_PER_PROJECT, project_id])
        cur.execute(
            "SELECT p.id, (SELECT count(*) FROM jsonb_object_keys(p.properties)) FROM persons_person p "
            "WHERE p.project_id = %s AND p.id IN (SELECT person_id FROM persons_distinct_id "
            "WHERE project_id = %s AND distinct_id = ANY(%s))",
            [project_id, project_id, sorted(distinct_ids)],
        )
        found = cur.fetchall()
        persons = [person for person, _ in found]
        cur.execute(
            "SELECT distinct_id FROM persons_distinct_id WHERE project_id = %s AND person_id = ANY(%s)",
            [project_id, persons],
        )
        linked = [row[0] for row in cur.fetchall()]
        if not dry_run and persons:
            cur.execute(
                "SELECT properties FROM persons_person WHERE project_id = %s AND id = ANY(%s)", [project_id, persons]
            )
            gone: Counter[tuple[str, str]] = Counter()
            for (value,) in cur.fetchall():
                gone.subtract(_typed_keys(orjson.loads(value) if isinstance(value, str | bytes) else value))
            _property_types_apply(cur, project_id, gone)
            cur.execute(
                "DELETE FROM persons_distinct_id WHERE project_id = %s AND person_id = ANY(%s)", [project_id, persons]
            )
            cur.execute("DELETE FROM persons_person WHERE project_id = %s AND id = ANY(%s)", [project_id, persons])
        if not dry_run:
            everything = sorted({*distinct_ids, *linked})
            cohort_members_forget(
                project_id=project_id, keys=[*everything, *(f"{PERSON_KEY_PREFIX}{p}" for p in persons)], ids=everything
            )
    return PersonErasure(
        persons=len(persons),
        distinct_ids=sorted({*distinct_ids, *linked}),
        distinct_id_rows=len(linked),
        properties=sum(keys for _, keys in found),
    )

"""Persons: the identity-merged people behind the ids, listed from the rollups' user dictionary.

A person is a ``persons_person`` row with its linked ids, or an id linked to no person (a person
of its own); its ``person_id`` is the identity rule's person key (``persons.identity``), the key
every report counts persons by, so the list, the detail and the query layer agree.

Which numbers come from where, and how exact they are:

- ``first_seen``/``last_seen`` are the min/max of ``analytics_user``'s per-id first and last seen
  over the person's ids. Per id they are exact (they only move outwards, rebuilt from raw events
  that are never edited), and an identity link changes no id's row, so a merge is right at once.
- ``event_count`` is the sum of ``analytics_user_day.events`` over the user keys of all the
  person's ids. A day counts each event once, under its id's key or (once rebuilt after a link)
  under the lowest key of the id's person at rebuild time; persons only grow by merging, so that
  key is one of the person's today: the sum is exact whether or not the days a link touched were
  rebuilt yet.
- Both cover the events the rollups hold: up to ``complete_until`` (seconds behind the flush), and
  for ``event_count`` within the project's aggregate retention.

The list groups the project's user dictionary into persons on every page (its ids of no person
as they are, its linked ids grouped by person, then a keyset over (last_seen desc, person key)):
linear in the project's ids: 60-70 ms a page at 50,000 ids of which 20,000 are linked to 10,000
persons (measured on a shared 2-core box); a per-person rollup would be the next step. A person
whose ids have no rolled-up event yet is not listed (its detail answers with empty activity).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.series import matching_user_ids
from analytics.query.source import EventScope
from persons.cohorts import cohorts_of_person
from persons.identity import person_join, person_key_joined, person_search
from persons.selectors import PersonRecord, person_resolve, persons_load
from projects.models import Project
from reporting.queries.common import fetchall, project_tz
from reporting.queries.export import EXPORT_SQL, ExportCursor, export_row


@dataclass(frozen=True)
class PersonsCursor:
    """Where a page ended: the last person's last_seen and key (the list's order)."""

    last_seen: dt.datetime
    person_key: str


def like_pattern(text: str) -> str:
    """An ``ILIKE`` pattern matching ``text`` anywhere (its wildcards and the escape taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def persons_page(
    *,
    project: Project,
    limit: int,
    after: PersonsCursor | None = None,
    filters: Filters = NO_FILTERS,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    search: str | None = None,
) -> tuple[list[dict[str, Any]], PersonsCursor | None]:
    """Persons by last_seen (newest first), then person key (code-point order), keyset-paginated.

    With filters, only persons with at least one matching event (under any of their ids) between
    the local days ``date_from`` and ``date_to``; with ``search``, only persons one of whose ids or
    property values contains it (case-insensitive)."""
    params: dict[str, Any] = {"p": project.pk, "n": limit + 1}
    matched = id_hit = "false"
    where = []
    if filters:
        if date_from is None or date_to is None:
            raise ValueError("filters need a date range")
        scope = EventScope(project.pk, project_tz(project), date_from, date_to, filters=filters)
        params["ids"] = matching_user_ids(scope)
        matched = "u.user_id = ANY(%(ids)s)"
        where.append("matched")
    if search:
        params["q"] = like_pattern(search)
        id_hit = "u.user_id ILIKE %(q)s"
        where.append(f"(id_hit OR {person_search(project='%(p)s', person_id='people.person_id', pattern='%(q)s')})")
    if after is not None:
        params.update(ls=after.last_seen, pk=after.person_key)
        where.append('(last_seen < %(ls)s OR (last_seen = %(ls)s AND person_key COLLATE "C" > %(pk)s))')
    key = person_key_joined(rows="u", link="d")
    # Ids of no person (most of them) are persons as they are; only linked ids are grouped, by
    # the person's number: grouping every id by its text key sorted the whole dictionary.
    rows = fetchall(
        f"""
        WITH people AS (
            SELECT {key} AS person_key, d.person_id, u.first_seen, u.last_seen, ARRAY[u.user_key] AS keys,
                   ARRAY[u.user_id] AS user_ids, {id_hit} AS id_hit, {matched} AS matched
            FROM analytics_user u {person_join(rows="u", link="d")}
            WHERE u.project_id = %(p)s AND d.person_id IS NULL
            UNION ALL
            SELECT min({key}), d.person_id, min(u.first_seen), max(u.last_seen), array_agg(u.user_key),
                   array_agg(u.user_id), bool_or({id_hit}), bool_or({matched})
            FROM analytics_user u {person_join(rows="u", link="d")}
            WHERE u.project_id = %(p)s AND d.person_id IS NOT NULL
            GROUP BY d.person_id
        ), page AS (
            SELECT person_key, person_id, first_seen, last_seen, keys, user_ids FROM people
            {"WHERE " + " AND ".join(where) if where else ""}
            ORDER BY last_seen DESC, person_key COLLATE "C" LIMIT %(n)s
        )
        SELECT person_key, person_id, first_seen, last_seen, user_ids,
               (SELECT coalesce(sum(events), 0) FROM analytics_user_day ud
                WHERE ud.project_id = %(p)s AND ud.user_key = ANY(page.keys))
        FROM page ORDER BY last_seen DESC, person_key COLLATE "C"
        """,
        params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    people = persons_load(project_id=project.pk, person_ids=[row[1] for row in rows if row[1] is not None])
    results = []
    for key, person_id, first_seen, last_seen, user_ids, count in rows:
        record = people.get(person_id) if person_id is not None else None
        if record is None:  # an id of no person (or a person erased since the ids were read)
            record = PersonRecord(key, None, sorted(user_ids), {})
        results.append(_person_row(record, first_seen, last_seen, int(count)))
    next_cursor = PersonsCursor(rows[-1][3], rows[-1][0]) if more else None
    return results, next_cursor


def _person_row(
    record: PersonRecord, first_seen: dt.datetime | None, last_seen: dt.datetime | None, count: int
) -> dict[str, Any]:
    return {
        "person_id": record.key,
        "distinct_ids": record.distinct_ids,
        "properties": record.properties,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "event_count": count,
    }


def person_detail(
    *, project: Project, key: str, limit: int, after: ExportCursor | None = None
) -> dict[str, Any] | None:
    """One person (by its person key, or by any of its ids) with a page of its timeline; None
    when the key names no person and no id with events."""
    record = person_resolve(project_id=project.pk, key=key)
    users = fetchall(
        "SELECT user_key, first_seen, last_seen FROM analytics_user WHERE project_id = %s AND user_id = ANY(%s)",
        [project.pk, record.distinct_ids],
    )
    if record.person_id is None and not users:
        return None
    keys = [row[0] for row in users]
    days = fetchall(
        "SELECT day, sum(events), min(first_at), max(last_at) FROM analytics_user_day "
        "WHERE project_id = %s AND user_key = ANY(%s) GROUP BY day ORDER BY day DESC",
        [project.pk, keys],
    )
    first_seen = min((row[1] for row in users), default=None)
    last_seen = max((row[2] for row in users), default=None)
    timeline, next_cursor = _timeline(project, record.distinct_ids, days, limit, after)
    row = _person_row(record, first_seen, last_seen, sum(int(row[1]) for row in days))
    cohorts = cohorts_of_person(project_id=project.pk, person=row["person_id"])
    return {
        **row,
        "cohorts": [{"id": cohort.pk, "name": cohort.name} for cohort in cohorts],
        "timeline": {"results": timeline, "next": next_cursor},
    }


def _timeline(
    project: Project, ids: list[str], days: list[tuple], limit: int, after: ExportCursor | None
) -> tuple[list[dict[str, Any]], ExportCursor | None]:
    """The person's events newest first, (timestamp, event_id) descending, after the cursor.

    ``events`` has no index by user, so the read is bounded by the rollup's per-day activity
    (``days``: local day, events, first and last instant, newest first): back from the cursor
    until the days wholly before it hold ``limit + 1`` events, then one range of the
    (project_id, timestamp) index. The day the cursor falls in counts for nothing (some of its
    events are after the cursor), so the range never holds too few."""
    since, seen = None, 0
    for _, events, first_at, last_at in days:
        if after is not None and first_at > after.timestamp:
            continue
        since = first_at
        if after is None or last_at < after.timestamp:
            seen += int(events)
        if seen > limit:
            break
    if since is None:
        return [], None
    where = ["project_id = %(p)s", "user_id = ANY(%(ids)s)", '"timestamp" >= %(since)s']
    params: dict[str, Any] = {"p": project.pk, "ids": ids, "since": since, "n": limit + 1}
    if after is not None:
        where.append('("timestamp", event_id) < (%(ts)s, %(eid)s::uuid)')
        params.update(ts=after.timestamp, eid=after.event_id)
    rows = fetchall(
        f"SELECT {EXPORT_SQL} FROM events WHERE {' AND '.join(where)} "
        'ORDER BY "timestamp" DESC, event_id DESC LIMIT %(n)s',
        params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    results = [export_row(row) for row in rows]
    return results, (ExportCursor(rows[-1][6], str(rows[-1][0])) if more else None)

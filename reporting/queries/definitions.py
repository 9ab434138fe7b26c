"""The taxonomy: which events and properties a project has, their types and their common values.

Read from what the rollups and the person writer already keep, never from a scan of events:

- events: ``analytics_event_definition`` (first and last local day seen) and the daily counts of
  ``analytics_daily_events`` over the last 30 local days (a few rows per event);
- event properties: ``analytics_property_definition``, whose ``*_events`` columns count values per
  detected type (analytics.taxonomy, the rule in events.property_types); sample and top values
  from ``analytics_daily_props`` (keys with at most 100 values that day, exact) and
  ``analytics_daily_prop_samples`` (the day's 100 most frequent values of the others: for those
  keys a count is a lower bound), over the last 30 local days;
- person properties: ``persons_property_type`` (persons per key and type, kept by the person
  writer), samples from the project's 1,000 newest persons, and top values by one read of the
  project's persons (measured in docs/ARCHITECTURE.md, "Taxonomy": within 50 ms at 50k persons).

Text orders are code point orders (``COLLATE "C"``), so answers do not depend on the database's
locale.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from core import days as daysmod
from core.replicas import read_alias
from events.property_types import PROPERTY_TYPES, most_common_type
from projects.models import Project
from reporting.queries.common import fetchall, project_tz

WINDOW_DAYS = 30
SAMPLE_VALUES = 5
NEWEST_PERSONS = 1000
EVENT, PERSON = "event", "person"


def _window(project: Project) -> tuple[dt.date, dt.date]:
    """The last 30 local days, today included."""
    today = daysmod.local_date(timezone.now(), project_tz(project))
    return today - dt.timedelta(days=WINDOW_DAYS - 1), today


def event_definitions_list(*, project: Project) -> list[dict[str, Any]]:
    """Every event name seen, with its first and last local day and its events in the last 30 days."""
    first, last = _window(project)
    rows = fetchall(
        """
        SELECT d.event_name, d.first_seen_day, d.last_seen_day, coalesce(v.n, 0)
        FROM analytics_event_definition d
        LEFT JOIN (
            SELECT event_name, sum(events)::bigint AS n FROM analytics_daily_events
            WHERE project_id = %(p)s AND day BETWEEN %(a)s AND %(b)s GROUP BY event_name
        ) v ON v.event_name = d.event_name
        WHERE d.project_id = %(p)s
        ORDER BY 4 DESC, d.event_name COLLATE "C"
        """,
        {"p": project.pk, "a": first, "b": last},
    )
    return [
        {"name": name, "first_seen": first_seen, "last_seen": last_seen, "volume_30_days": volume}
        for name, first_seen, last_seen, volume in rows
    ]


def property_definitions_list(*, project: Project, kind: str, event: str | None = None) -> list[dict[str, Any]]:
    """Property keys (of one event, of every event, or of persons), most used first, with type and samples."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    if kind == PERSON:
        rows = fetchall("SELECT key, type, persons FROM persons_property_type WHERE project_id = %s", [project.pk])
        for key, type_, n in rows:
            counts[key][type_] = n
        samples = _person_samples(project)
    else:
        # The columns in the order of PROPERTY_TYPES.
        rows = fetchall(
            """
            SELECT key, sum(string_events), sum(number_events), sum(boolean_events), sum(datetime_events)
            FROM analytics_property_definition
            WHERE project_id = %(p)s AND (%(e)s::text IS NULL OR event_name = %(e)s)
            GROUP BY key
            """,
            {"p": project.pk, "e": event},
        )
        for key, *per_type in rows:
            counts[key] = {type_: int(n) for type_, n in zip(PROPERTY_TYPES, per_type, strict=True)}
        samples = _event_samples(project, event)
    ranked = sorted(counts, key=lambda key: (-sum(counts[key].values()), key))
    return [
        {"key": key, "type": most_common_type(counts[key]), "sample_values": samples.get(key, [])} for key in ranked
    ]


def _event_samples(project: Project, event: str | None) -> dict[str, list[str]]:
    first, last = _window(project)
    rows = fetchall(
        """
        SELECT key, value FROM (
            SELECT key, value, row_number() OVER (PARTITION BY key ORDER BY sum(events) DESC, value COLLATE "C") AS r
            FROM (
                SELECT key, value, events FROM analytics_daily_props
                WHERE project_id = %(p)s AND day BETWEEN %(a)s AND %(b)s AND (%(e)s::text IS NULL OR event_name = %(e)s)
                UNION ALL
                SELECT key, value, events FROM analytics_daily_prop_samples
                WHERE project_id = %(p)s AND day BETWEEN %(a)s AND %(b)s AND (%(e)s::text IS NULL OR event_name = %(e)s)
            ) v
            GROUP BY key, value
        ) ranked
        WHERE r <= %(n)s
        ORDER BY key, r
        """,
        {"p": project.pk, "a": first, "b": last, "e": event, "n": SAMPLE_VALUES},
    )
    out: dict[str, list[str]] = defaultdict(list)
    for key, value in rows:
        out[key].append(value)
    return out


def _person_samples(project: Project) -> dict[str, list[str]]:
    # A bounded read whatever the project's size: the newest persons, on the (project_id, id) index.
    rows = fetchall(
        """
        SELECT key, value FROM (
            SELECT key, value, row_number() OVER (PARTITION BY key ORDER BY n DESC, value COLLATE "C") AS r
            FROM (
                SELECT k.key, k.value #>> '{}' AS value, count(*) AS n
                FROM (
                    SELECT properties FROM persons_person WHERE project_id = %(p)s ORDER BY id DESC LIMIT %(newest)s
                ) p,
                     jsonb_each(CASE WHEN jsonb_typeof(p.properties) = 'object' THEN p.properties ELSE '{}' END) AS k
                WHERE jsonb_typeof(k.value) <> 'null'
                GROUP BY 1, 2
            ) v
        ) ranked
        WHERE r <= %(n)s
        ORDER BY key, r
        """,
        {"p": project.pk, "newest": NEWEST_PERSONS, "n": SAMPLE_VALUES},
    )
    out: dict[str, list[str]] = defaultdict(list)
    for key, value in rows:
        out[key].append(value)
    return out


def property_values_list(
    *, project: Project, kind: str, key: str, event: str | None = None, q: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The key's most frequent values with their counts (events, or persons), optionally containing ``q``."""
    params: dict[str, Any] = {"p": project.pk, "k": key, "q": q or None, "limit": limit}
    if kind == PERSON:
        return _person_values(params)
    # The events that have the key, so both reads below use their (project, event, key, day) index.
    events = [
        row[0]
        for row in fetchall(
            "SELECT event_name FROM analytics_property_definition WHERE project_id = %(p)s AND key = %(k)s "
            "AND (%(e)s::text IS NULL OR event_name = %(e)s)",
            {**params, "e": event},
        )
    ]
    if not events:
        return []
    params["a"], params["b"] = _window(project)
    params["events"] = events
    where = (
        "project_id = %(p)s AND event_name = ANY(%(events)s) AND key = %(k)s AND day BETWEEN %(a)s AND %(b)s "
        "AND (%(q)s::text IS NULL OR strpos(lower(value), lower(%(q)s)) > 0)"
    )
    rows = fetchall(
        f"""
        SELECT value, sum(events)::bigint FROM (
            SELECT value, events FROM analytics_daily_props WHERE {where}
            UNION ALL
            SELECT value, events FROM analytics_daily_prop_samples WHERE {where}
        ) v
        GROUP BY value ORDER BY 2 DESC, value COLLATE "C" LIMIT %(limit)s
        """,
        params,
    )
    return [{"value": value, "count": count} for value, count in rows]


def _person_values(params: dict[str, Any]) -> list[dict[str, Any]]:
    """One read of the project's persons (a key's values are person data: no copy of them is kept).

    The planner cannot know how many values a key has; with the default ``work_mem`` it sorts
    50k persons on disk to group them (70 ms) where hashing them in memory takes 30 ms (5 MB for
    50k distinct emails), hence the larger ``work_mem`` for this statement's transaction only.
    """
    alias = read_alias()  # the request's replica, as fetchall reads
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute("SET LOCAL work_mem = '32MB'")
        cur.execute(
            """
            SELECT value, count(*) FROM (
                SELECT properties ->> %(k)s AS value FROM persons_person
                WHERE project_id = %(p)s AND properties ->> %(k)s IS NOT NULL
            ) v
            WHERE %(q)s::text IS NULL OR strpos(lower(value), lower(%(q)s)) > 0
            GROUP BY value ORDER BY 2 DESC, value COLLATE "C" LIMIT %(limit)s
            """,
            params,
        )
        return [{"value": value, "count": count} for value, count in cur.fetchall()]

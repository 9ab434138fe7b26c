"""The identity rule, as SQL the other layers embed: which ids are one person.

Events are sent under ``user_id``, a *distinct id*. ``persons_distinct_id`` maps
``(project_id, distinct_id)`` to ``person_id`` for the ids that took part in identity calls or
person updates (``persons.services`` writes it, in the flush). The rule:

- an id with a row counts as its person, under the key ``'person:' || person_id``;
- an id without a row counts as itself, under its own ``user_id`` (most ids: the lookup is a
  primary-key probe that finds nothing);
- ids linked to one person (``$identify``, ``$create_alias``, or a merge of two persons) are the
  same person: they get the same key, and each finds all the others.

Nothing outside ``persons`` names the table, so its shape and the rule change here alone:

- reports that scan raw events map ids at query time with ``person_key`` (PostgreSQL) or
  ``person_join_duckdb`` and ``person_key_duckdb`` (DuckDB): right the moment a link is stored;
- the rollups count every id of a person under the person's lowest user key when a day is
  rebuilt (``analytics.rollups``), finding the other ids with ``same_person_join``, as
  ``persons.services`` does to mark the days a link changes;
- retention's cohorts read a project's linked ids through ``project_links``;
- the persons endpoints group the user dictionary into persons with ``person_join`` and
  ``person_key_joined`` (the same key, so a person's id is the key reports use) and search
  persons with ``person_search``.

``person_key``, the DuckDB pair and the rollups' ``same_person_join`` produce the very SQL the
callers spelled out before, so their plans did not change; retention's plan is the same too
(``project_links`` is pulled up into the query). Arguments are SQL text chosen by the calling
code (aliases, placeholders), never input from a request.
"""

from __future__ import annotations

_TABLE = "persons_distinct_id"
PERSON_KEY_PREFIX = "person:"


def person_key(*, events: str = "events") -> str:
    """PostgreSQL: the person key of an ``events`` row (``events`` is its table name or alias).

    A correlated lookup rather than a join, so it fits anywhere an expression does: a select
    list, ``GROUP BY``, ``count(DISTINCT …)``.
    """
    return (
        f"coalesce((SELECT '{PERSON_KEY_PREFIX}' || d.person_id FROM {_TABLE} d "
        f"WHERE d.project_id = {events}.project_id AND d.distinct_id = {events}.user_id), {events}.user_id)"
    )


def person_join_duckdb(*, catalog: str, events: str = "e", link: str = "d") -> str:
    """DuckDB: the ``LEFT JOIN`` that ``person_key_duckdb`` reads, for an ``events`` row of ``catalog``.

    DuckDB reads both tables through its postgres extension, attached as ``catalog``.
    """
    return (
        f"LEFT JOIN {catalog}.public.{_TABLE} {link} "
        f"ON {link}.project_id = {events}.project_id AND {link}.distinct_id = {events}.user_id"
    )


def person_key_duckdb(*, events: str = "e", link: str = "d") -> str:
    """DuckDB: the person key of an ``events`` row joined by ``person_join_duckdb`` (same aliases)."""
    return f"coalesce('{PERSON_KEY_PREFIX}' || CAST({link}.person_id AS VARCHAR), {events}.user_id)"


def person_count_duckdb(*, events: str = "e", link: str = "d") -> str:
    """DuckDB: the number of distinct persons among rows joined by ``person_join_duckdb`` (an
    aggregate): the ids of no person and the persons of the others, counted apart. Exact, since
    the two kinds of key never meet, and without building ``person_key_duckdb``'s text per row
    (twice as fast over the 1.5M page rows of the web overview's 30 days)."""
    return (
        f"(count(DISTINCT CASE WHEN {link}.person_id IS NULL THEN {events}.user_id END) "
        f"+ count(DISTINCT {link}.person_id))"
    )


def same_person_join(*, distinct_id: str, project: str, link: str = "d1", same: str = "d2") -> str:
    """Joins from the id ``distinct_id`` (a column) to every id of its person: ``{same}.distinct_id``.

    The id itself is one of them. Inner joins: an id of no person has no row, and drops out (it is
    a person of its own). ``{same}.person_id`` is the person.
    """
    return (
        f"JOIN {_TABLE} {link} ON {link}.project_id = {project} AND {link}.distinct_id = {distinct_id}\n"
        f"JOIN {_TABLE} {same} ON {same}.person_id = {link}.person_id"
    )


def project_links(*, project: str) -> str:
    """The ids of ``project`` that belong to a person, as a relation ``(distinct_id, person_id)``.

    A subquery to use in ``FROM``/``JOIN`` with an alias; PostgreSQL pulls it up into the
    enclosing query, so it plans as the table itself.
    """
    return f"(SELECT distinct_id, person_id FROM {_TABLE} WHERE project_id = {project})"


def person_properties_join_duckdb(*, catalog: str, link: str = "d", person: str = "pp") -> str:
    """DuckDB: after ``person_join_duckdb``, the person row whose ``{person}.properties`` are the
    identity-merged properties ($set, $set_once, traits) of the event's person; NULL for an id of
    no person."""
    return f"LEFT JOIN {catalog}.public.persons_person {person} ON {person}.id = {link}.person_id"


def person_join(*, rows: str, link: str = "d") -> str:
    """PostgreSQL: the ``LEFT JOIN`` of a row with ``project_id`` and ``user_id`` columns (an
    ``events`` or ``analytics_user`` row, alias ``rows``) to its id's link, read by ``person_key_joined``."""
    return f"LEFT JOIN {_TABLE} {link} ON {link}.project_id = {rows}.project_id AND {link}.distinct_id = {rows}.user_id"


def person_key_joined(*, rows: str, link: str = "d") -> str:
    """PostgreSQL: the person key of a row joined by ``person_join`` (the same key as ``person_key``
    and ``person_key_duckdb``); ``{link}.person_id`` is the person, NULL for an id of no person."""
    return f"coalesce('{PERSON_KEY_PREFIX}' || {link}.person_id, {rows}.user_id)"


def person_search(*, project: str, person_id: str, pattern: str) -> str:
    """PostgreSQL: true when the person ``person_id`` (an expression; NULL is no person) has a
    linked id, or a top-level property value in its text form, that matches the ``ILIKE``
    ``pattern`` (an expression). Values as ``jsonb_each_text`` gives them: strings as they are,
    other values as JSON text, JSON null never matches."""
    return (
        f"(EXISTS (SELECT 1 FROM {_TABLE} s WHERE s.project_id = {project} AND s.person_id = {person_id} "
        f"AND s.distinct_id ILIKE {pattern}) "
        f"OR EXISTS (SELECT 1 FROM persons_person s, jsonb_each_text(s.properties) kv "
        f"WHERE s.id = {person_id} AND s.project_id = {project} AND kv.value ILIKE {pattern}))"
    )

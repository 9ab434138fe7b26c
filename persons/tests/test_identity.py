"""persons.identity's SQL on real PostgreSQL (and DuckDB): the identity rule the reports embed.

People, made through the service the flush uses: in one project, "alice" identified "anon-a";
"bob" identified "bob-laptop", and "phone" was a person of its own until "bob" aliased it (a
merge of two persons); "carol" took part in no identity call. Another project has its own
"alice", linked to "x", and an unlinked "anon-a".
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterator

import pytest
from django.db import connection

from events.duck import ATTACHED_AS, duckdb_cursor, duckdb_reset
from persons.identity import (
    person_count_duckdb,
    person_join_duckdb,
    person_key,
    person_key_duckdb,
    project_links,
    same_person_join,
)
from persons.selectors import person_get
from persons.services import IdentityOp, persons_apply
from persons.tests.factories import person_make
from projects.tests.factories import ProjectFactory

IDS = ["alice", "anon-a", "bob", "bob-laptop", "phone", "carol", "x"]


@pytest.fixture
def people() -> tuple[int, int]:
    project, other = ProjectFactory().pk, ProjectFactory().pk
    person_make(project_id=project, distinct_ids=["alice", "anon-a"])
    person_make(project_id=project, distinct_ids=["bob", "bob-laptop"])
    person_make(project_id=project, distinct_ids=["phone"])
    merge = IdentityOp(project, str(uuid.uuid4()), "bob", 10, other_id="phone")
    persons_apply(ops=[merge], now=dt.datetime.now(dt.UTC))
    person_make(project_id=other, distinct_ids=["alice", "x"])
    return project, other


def _rows(people: tuple[int, int]) -> list[tuple[int, str]]:
    return [(project, distinct_id) for project in people for distinct_id in IDS]


def _expected(people: tuple[int, int]) -> dict[tuple[int, str], str]:
    """The rule in plain Python, from the persons read through the ORM."""
    out = {}
    for project, distinct_id in _rows(people):
        person = person_get(project_id=project, distinct_id=distinct_id)
        out[(project, distinct_id)] = f"person:{person['id']}" if person else distinct_id
    return out


def _postgres_keys(people: tuple[int, int]) -> dict[tuple[int, str], str]:
    rows = _rows(people)
    values = ", ".join(["(%s::int, %s::text)"] * len(rows))
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT events.project_id, events.user_id, {person_key()} "
            f"FROM (VALUES {values}) AS events(project_id, user_id)",
            [value for row in rows for value in row],
        )
        return {(project, user_id): key for project, user_id, key in cur.fetchall()}


@pytest.mark.django_db
def test_person_key_linked_unlinked_and_merged(people):
    project, other = people
    keys = _postgres_keys(people)
    assert keys == _expected(people)
    # A linked id counts as its person, an unlinked id as itself.
    assert keys[(project, "alice")] == keys[(project, "anon-a")] != "alice"
    assert keys[(project, "carol")] == "carol"
    # A merge makes the ids of two persons one person's.
    assert keys[(project, "bob")] == keys[(project, "bob-laptop")] == keys[(project, "phone")]
    assert len({keys[(project, distinct_id)] for distinct_id in IDS}) == 4  # A, Bob, carol, x
    # Persons are per project: the same id is someone else there, or nobody.
    assert keys[(other, "alice")] == keys[(other, "x")] != keys[(project, "alice")]
    assert keys[(other, "anon-a")] == "anon-a"


@pytest.mark.django_db
def test_same_person_join_finds_every_id_of_the_person(people):
    project, _other = people
    with connection.cursor() as cur:
        cur.execute(
            "SELECT q.distinct_id, d2.distinct_id FROM unnest(%s::text[]) AS q(distinct_id) "
            f"{same_person_join(distinct_id='q.distinct_id', project='%s')}",
            [IDS, project],
        )
        same: dict[str, set[str]] = defaultdict(set)
        for distinct_id, same_id in cur.fetchall():
            same[distinct_id].add(same_id)
    bob = {"bob", "bob-laptop", "phone"}
    assert same == {"alice": {"alice", "anon-a"}, "anon-a": {"alice", "anon-a"}, **dict.fromkeys(bob, bob)}


@pytest.mark.django_db
def test_project_links_are_the_linked_ids_of_one_project(people):
    project, _other = people
    with connection.cursor() as cur:
        cur.execute(f"SELECT l.distinct_id, l.person_id FROM {project_links(project='%s')} l", [project])
        links = dict(cur.fetchall())
    assert sorted(links) == ["alice", "anon-a", "bob", "bob-laptop", "phone"]
    assert {f"person:{person}" for person in links.values()} == {
        _expected(people)[(project, "alice")],
        _expected(people)[(project, "bob")],
    }


@pytest.fixture
def duck() -> Iterator[None]:
    duckdb_reset()
    yield
    duckdb_reset()  # its attached PostgreSQL session would block flushing the test database


# DuckDB reads through sessions of its own, so it sees committed rows only.
@pytest.mark.django_db(transaction=True)
def test_duckdb_keys_are_postgres_keys(people, duck):
    rows = _rows(people)
    values = ", ".join(["(?::INTEGER, ?::VARCHAR)"] * len(rows))
    cur = duckdb_cursor()
    try:
        found = cur.execute(
            f"SELECT e.project_id, e.user_id, {person_key_duckdb()} FROM (VALUES {values}) AS e(project_id, user_id) "
            f"{person_join_duckdb(catalog=ATTACHED_AS)}",
            [value for row in rows for value in row],
        ).fetchall()
    finally:
        cur.close()
    assert {(project, user_id): key for project, user_id, key in found} == _postgres_keys(people) == _expected(people)


@pytest.mark.django_db(transaction=True)
def test_duckdb_person_count_is_distinct_keys(people, duck):
    rows = _rows(people) * 2  # every id twice: counted once
    values = ", ".join(["(?::INTEGER, ?::VARCHAR)"] * len(rows))
    cur = duckdb_cursor()
    try:
        found = cur.execute(
            f"SELECT e.project_id, {person_count_duckdb()} FROM (VALUES {values}) AS e(project_id, user_id) "
            f"{person_join_duckdb(catalog=ATTACHED_AS)} GROUP BY e.project_id",
            [value for row in rows for value in row],
        ).fetchall()
    finally:
        cur.close()
    expected: dict[int, set[str]] = {}
    for (project, _), key in _expected(people).items():
        expected.setdefault(project, set()).add(key)
    assert dict(found) == {project: len(keys) for project, keys in expected.items()}
    assert any(len(keys) < sum(1 for p, _ in _expected(people) if p == project) for project, keys in expected.items())

"""The persons endpoints against a plain-Python computation over the generated events.

One committed project (DuckDB answers the filters and only sees committed rows): ids with random
events over the last 20 days, five anonymous ids merged into login ids (each pair ONE person,
linked after its days were rolled up, as in production), a person of one id with properties, a
person with an alias that sent nothing, two ids whose last events are at the same instant (the
tie-break), and an id with LIKE wildcards in it (search escapes them).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.query.export import EXPORT_COLUMNS
from analytics.rollups import derived_rows_delete, rollups_process_dirty
from analytics.tests.factories import RawEvent, events_delete, events_insert, touched_days
from core import days as daysmod
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset
from events.models import WEB_COLUMNS
from persons.models import Person, PersonDistinctId
from persons.tests.factories import person_make
from projects.models import Project
from projects.tests.factories import ProjectFactory, ingest_key_for, read_key_for
from reporting.cursors import encode_cursor

NOW = timezone.now().replace(microsecond=0)
MERGED = [(f"login-{i}", f"anon-{i}") for i in range(5)]


@dataclass
class Expected:
    person_id: str
    distinct_ids: list[str]
    properties: dict
    events: list[RawEvent] = field(default_factory=list)

    def row(self) -> dict:
        return {
            "person_id": self.person_id,
            "distinct_ids": self.distinct_ids,
            "properties": self.properties,
            "first_seen": min(e.timestamp for e in self.events),
            "last_seen": max(e.timestamp for e in self.events),
            "event_count": len(self.events),
        }


@dataclass
class World:
    project: Project
    key: str
    events: list[RawEvent]

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.key}")
        return client

    def url(self, path: str) -> str:
        return f"/api/v1/projects/{self.project.slug}/{path}"

    def persons(self) -> dict[str, Expected]:
        """Persons as the identity rule defines them, from the links stored and the events."""
        links = dict(
            PersonDistinctId.objects.filter(project_id=self.project.pk).values_list("distinct_id", "person_id")
        )
        out: dict[str, Expected] = {}
        for e in self.events:
            person = links.get(e.user_id)
            key = f"person:{person}" if person is not None else e.user_id
            if key not in out:
                if person is None:
                    out[key] = Expected(key, [e.user_id], {})
                else:
                    ids = sorted(d for d, p in links.items() if p == person)
                    out[key] = Expected(key, ids, Person.objects.get(pk=person).properties)
            out[key].events.append(e)
        return out


def _events(project_id: int, rng: random.Random) -> list[RawEvent]:
    ids = [f"u-{i}" for i in range(20)] + [i for pair in MERGED for i in pair] + ["solo", "aliased", "50%_off"]
    out = []
    for user in ids:
        for _ in range(rng.randint(1, 12)):
            at = NOW - dt.timedelta(days=rng.uniform(0.05, 20))
            name = rng.choice(["pageview", "pageview", "signup", "purchase"])
            path = rng.choice(["/a", "/b", "/c"])
            # The web columns of a page (pageviews only: the others are a server's, with none).
            web = {"host": "shop.example", "pathname": path, "country": "DE"} if name == "pageview" else {}
            out.append(RawEvent(project_id, name, user, at, properties={"path": path}, web=web))
    tie = NOW - dt.timedelta(hours=2)
    out += [RawEvent(project_id, "pageview", user, tie) for user in ("tie-b", "tie-a")]
    return out


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        duckdb_reset()
        project = ProjectFactory(timezone="America/New_York")
        events = _events(project.pk, random.Random(5))
        events_insert(events)
        rollups_mark_dirty(touched=touched_days(events))
        rollups_process_dirty()
        # Linked after the ids' days were rolled up: the link marks them, the rollup rebuilds them.
        with transaction.atomic():
            for i, (login, anon) in enumerate(MERGED):
                plan = "pro" if i % 2 else "free"
                person_make(
                    project_id=project.pk,
                    distinct_ids=[login, anon],
                    properties={"email": f"Person{i}@Example.com", "plan": plan},
                )
            person_make(project_id=project.pk, distinct_ids=["solo"], properties={"plan": "pro", "n": 5})
            person_make(project_id=project.pk, distinct_ids=["aliased", "never-sent"], properties={"plan": "x"})
        rollups_process_dirty()
        try:
            yield World(project, read_key_for(project), events)
        finally:
            duckdb_reset()
            events_delete([project.pk])
            derived_rows_delete(project_ids=[project.pk])
            Person.objects.filter(project_id=project.pk).delete()
            with connection.cursor() as cur:
                cur.execute("DELETE FROM analytics_fill_state")
            project.delete()


def _parsed(row: dict) -> dict:
    return {
        **row,
        "first_seen": dt.datetime.fromisoformat(row["first_seen"]),
        "last_seen": dt.datetime.fromisoformat(row["last_seen"]),
    }


def _all_pages(world: World, **params) -> list[dict]:
    rows, cursor, pages = [], None, 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = world.client().get(world.url("persons"), query)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "complete_until" in body
        rows += [_parsed(row) for row in body["results"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return rows
        assert pages < 100


def _ordered(expected: list[Expected]) -> list[dict]:
    rows = sorted((p.row() for p in expected), key=lambda r: r["person_id"])
    return sorted(rows, key=lambda r: r["last_seen"], reverse=True)


@pytest.mark.django_db
def test_list_is_every_person_once_in_order_through_all_pages(world):
    expected = _ordered(list(world.persons().values()))
    got = _all_pages(world, limit=7)
    assert [r["person_id"] for r in got] == [r["person_id"] for r in expected]  # no duplicates, none missing
    assert got == expected
    keys = [r["person_id"] for r in got]
    assert keys.index("tie-a") + 1 == keys.index("tie-b")  # same last_seen: by key


@pytest.mark.django_db
def test_a_merged_pair_is_one_person_with_combined_activity(world):
    people = world.persons()
    login = PersonDistinctId.objects.get(project_id=world.project.pk, distinct_id="login-1").person_id
    person = people[f"person:{login}"]
    assert person.distinct_ids == ["anon-1", "login-1"]
    own = [e for e in world.events if e.user_id in ("anon-1", "login-1")]
    assert len(person.events) == len(own)
    listed = {r["person_id"]: r for r in _all_pages(world, limit=1000)}
    assert "anon-1" not in listed and "login-1" not in listed
    assert listed[f"person:{login}"] == person.row()
    assert listed[f"person:{login}"]["event_count"] == len(own)
    # The alias that never sent an event is one of the person's ids all the same.
    aliased = PersonDistinctId.objects.get(project_id=world.project.pk, distinct_id="aliased").person_id
    assert listed[f"person:{aliased}"]["distinct_ids"] == ["aliased", "never-sent"]


PURCHASE = [{"type": "column", "key": "event", "operator": "exact", "value": "purchase"}]
PRO = [{"type": "person", "key": "plan", "operator": "exact", "value": "pro"}]
PATH_C_NOT_PAGEVIEW = [
    {"type": "event", "key": "path", "operator": "exact", "value": "/c"},
    {"type": "column", "key": "event", "operator": "is_not", "value": "pageview"},
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters, keep",
    [
        (PURCHASE, lambda e, p: e.event_name == "purchase"),
        (PRO, lambda e, p: p.get("plan") == "pro"),
        (PATH_C_NOT_PAGEVIEW, lambda e, p: e.properties.get("path") == "/c" and e.event_name != "pageview"),
    ],
)
def test_filters_keep_persons_with_a_matching_event_in_the_range(world, filters, keep):
    tz = daysmod.zone(world.project.timezone)
    today = daysmod.local_date(timezone.now(), tz)
    first = today - dt.timedelta(days=9)
    expected = [
        p
        for p in world.persons().values()
        if any(first <= daysmod.local_date(e.timestamp, tz) <= today and keep(e, p.properties) for e in p.events)
    ]
    assert expected  # the case selects someone
    dates = {"from": first.isoformat(), "to": today.isoformat()}
    got = _all_pages(world, limit=3, filters=json.dumps(filters), **dates)
    assert got == _ordered(expected)


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@pytest.mark.django_db
@pytest.mark.parametrize("search", ["", "EXAMPLE.com", "anon-3", "never", "%_", "_", "pro", "5", "nobody-has-this"])
def test_search_matches_ids_and_property_values(world, search):
    needle = search.lower()
    expected = [
        p
        for p in world.persons().values()
        if any(needle in i.lower() for i in p.distinct_ids)
        or any(needle in _text(v).lower() for v in p.properties.values())
    ]
    assert _all_pages(world, limit=2, search=search) == _ordered(expected)


@pytest.mark.django_db
def test_detail_and_its_timeline_through_all_pages(world):
    login = PersonDistinctId.objects.get(project_id=world.project.pk, distinct_id="login-2").person_id
    person = world.persons()[f"person:{login}"]
    key = f"person:{login}"
    timeline, cursor, first_body = [], None, None
    while True:
        params = {"limit": 4, **({"timeline_cursor": cursor} if cursor else {})}
        response = world.client().get(world.url(f"persons/{key}"), params)
        assert response.status_code == 200, response.content
        body = response.json()
        first_body = first_body or body
        timeline += body["timeline"]["results"]
        cursor = body["timeline"]["next"]
        if cursor is None:
            break
    assert _parsed({k: first_body[k] for k in person.row()}) == person.row()
    assert first_body["cohorts"] == []
    newest_first = sorted(person.events, key=lambda e: (e.timestamp, e.event_id), reverse=True)
    assert [e["event_id"] for e in timeline] == [str(e.event_id) for e in newest_first]
    assert {e["user_id"] for e in timeline} == {"login-2", "anon-2"}
    # In the export's shape: its fields in its order, the web columns null when unset.
    assert all(list(e) == list(EXPORT_COLUMNS) for e in timeline)
    web = {str(e.event_id): {name: e.web.get(name) for name in WEB_COLUMNS} for e in person.events}
    assert [{name: e[name] for name in WEB_COLUMNS} for e in timeline] == [web[e["event_id"]] for e in timeline]
    assert {e["pathname"] is None for e in timeline} == {e.event_name != "pageview" for e in person.events}
    # Any id of the person finds it; an id of no person is its own key.
    by_anon = world.client().get(world.url("persons/anon-2"), {"limit": 1}).json()
    assert by_anon["person_id"] == key
    solo = world.client().get(world.url("persons/u-3")).json()
    assert _parsed({k: solo[k] for k in person.row()}) == world.persons()["u-3"].row()
    wild = world.client().get(world.url("persons/50%25_off")).json()
    assert wild["distinct_ids"] == ["50%_off"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["persons/nobody", "persons/person:999999999", "persons/person:" + "9" * 30])
def test_unknown_person_is_a_json_404(world, path):
    response = world.client().get(world.url(path))
    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, params, field",
    [
        ("persons", {"limit": 0}, "limit"),
        ("persons", {"limit": 1001}, "limit"),
        ("persons", {"cursor": "***"}, "cursor"),
        ("persons", {"cursor": encode_cursor("not json")}, "cursor"),
        ("persons", {"cursor": encode_cursor('["2024-01-01T00:00:00", "x"]')}, "cursor"),
        ("persons", {"cursor": encode_cursor("[1, 2]")}, "cursor"),
        ("persons", {"filters": "[{"}, "filters"),
        ("persons", {"filters": '[{"type": "event", "key": "a", "operator": "equals"}]'}, "filters"),
        ("persons", {"search": "a\x00b"}, "search"),
        ("persons", {"from": "2024-01-01", "to": "2024-12-31"}, "to"),
        ("persons/u-3", {"limit": 1001}, "limit"),
        ("persons/u-3", {"timeline_cursor": "zzz"}, "timeline_cursor"),
        ("persons/u-3", {"timeline_cursor": encode_cursor(f"2024-01-01T00:00:00|{uuid.uuid4()}")}, "timeline_cursor"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(world, path, params, field):
    response = world.client().get(world.url(path), params)
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.django_db
def test_access(world):
    assert APIClient().get(world.url("persons")).status_code == 401
    other = ProjectFactory()
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key_for(other)}")
    assert stranger.get(world.url("persons")).status_code == 404
    assert stranger.get(world.url("persons/u-3")).status_code == 404
    ingest = APIClient()
    ingest.credentials(HTTP_AUTHORIZATION=f"Bearer {ingest_key_for(world.project)}")
    assert ingest.get(world.url("persons")).status_code == 403


@pytest.mark.django_db
def test_a_signed_in_staff_user_reads_and_others_do_not(world, admin_user, django_user_model):
    session = APIClient()
    session.force_login(admin_user)
    assert session.get(world.url("persons")).status_code == 200
    assert session.get(world.url("persons/u-3")).status_code == 200
    plain = APIClient()
    plain.force_login(django_user_model.objects.create_user("plain", password="x"))
    assert plain.get(world.url("persons")).status_code == 404


@pytest.mark.django_db
def test_users_still_answers_per_id(world):
    body = world.client().get(world.url("users"), {"limit": 1000}).json()
    assert {"anon-1", "login-1"} <= {row["user_id"] for row in body["results"]}


@pytest.mark.django_db
@pytest.mark.parametrize("path, params", [("persons", {"search": "o"}), ("persons/person:{login}", {})])
def test_queries_do_not_grow_with_the_page(world, path, params):
    """One statement per page for the list (plus the person rows and their ids), a fixed handful for
    the detail: never one per person or per event."""
    login = PersonDistinctId.objects.get(project_id=world.project.pk, distinct_id="login-0").person_id
    url = world.url(path.format(login=login))
    counts = []
    for limit in (2, 50):
        world.client().get(url, {**params, "limit": limit})  # warm the key cache
        with CaptureQueriesContext(connection) as queries:
            assert world.client().get(url, {**params, "limit": limit}).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]

"""delete_user erases the data subject: the person, every id of it, its properties and all it sent.

The case: in a Berlin project, Alice browsed as "anon-a" and then logged in as "alice" (one person,
with an email and a name); Bob is another person (two ids); Carol is an id of no person. The same
ids are someone else in a second project. An old day's raw events are gone to retention already.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from analytics import erasure
from analytics.bitmaps import bitmap_to_int
from analytics.registry import DERIVED_TABLES
from analytics.rollups import rollup_rebuild_days
from analytics.tests.factories import RawEvent, RawEventFactory, events_insert
from core import days as daysmod
from core.redis import get_redis
from ingestion import buffer, records
from persons.models import Person, PersonDistinctId
from persons.selectors import person_get
from persons.tests.factories import person_make
from projects.audit import audit_record
from projects.models import AuditAction, AuditEntry
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

TZ = "Europe/Berlin"
ALICE = ["alice", "anon-a"]
PERSON_OF = {"alice": "A", "anon-a": "A", "bob": "B", "bob-phone": "B", "carol": "carol"}


def _fetch(sql: str, params: list) -> list:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _run(*args: str) -> str:
    out = StringIO()
    call_command("delete_user", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def case(today):
    project = ProjectFactory(timezone=TZ, raw_retention_days=30)
    other = ProjectFactory(timezone=TZ)
    old, d1, d2 = today - dt.timedelta(days=45), today - dt.timedelta(days=5), today - dt.timedelta(days=4)

    def at(day, hour):  # 23:30 UTC is the next local day in Berlin: rebuilt days are local days
        return dt.datetime.combine(day, dt.time(hour, 30), tzinfo=dt.UTC)

    plan = [
        ("anon-a", "pageview", old, 10, {"plan": "free", "$set": {"email": "alice@example.com"}}),
        ("bob", "pageview", old, 11, {"plan": "pro"}),
        ("anon-a", "pageview", d1, 9, {"plan": "free"}),
        ("anon-a", "pageview", d1, 23, {"plan": "free"}),
        ("alice", "signup", d1, 10, {"plan": "pro", "$set": {"email": "alice@example.com"}}),
        ("alice", "pageview", d2, 8, {"plan": "pro"}),
        ("bob", "pageview", d1, 9, {"plan": "pro"}),
        ("bob-phone", "pageview", d1, 23, {"plan": "pro"}),
        ("bob", "signup", d2, 12, {"plan": "team"}),
        ("carol", "pageview", d2, 8, {}),
        ("carol", "pageview", d2, 23, {"plan": "free"}),
    ]
    events = [
        RawEventFactory.build(project_id=project.pk, user_id=u, event_name=n, timestamp=at(day, h), properties=p)
        for u, n, day, h, p in plan
    ]
    elsewhere = [
        RawEventFactory.build(project_id=other.pk, user_id=u, timestamp=at(d1, 12), properties={"plan": "pro"})
        for u in ALICE
    ]
    events_insert(events + elsewhere)
    person_make(project_id=project.pk, distinct_ids=ALICE, properties={"email": "alice@example.com", "name": "Alice"})
    person_make(project_id=project.pk, distinct_ids=["bob", "bob-phone"], properties={"email": "bob@example.com"})
    person_make(project_id=other.pk, distinct_ids=ALICE, properties={"email": "someone@else.com"})
    local = sorted({e.timestamp.astimezone(daysmod.zone(TZ)).date() for e in events})
    rollup_rebuild_days(project_id=project.pk, tz_name=TZ, days=local)
    rollup_rebuild_days(project_id=other.pk, tz_name=TZ, days=[d1])
    with connection.cursor() as cur:  # retention has since removed the old day's raw events
        cur.execute('DELETE FROM events WHERE project_id = %s AND "timestamp" < %s', [project.pk, at(d1, 0)])
    alice_keys = [
        k
        for (k,) in _fetch(
            "SELECT user_key FROM analytics_user WHERE project_id = %s AND user_id = ANY(%s)", [project.pk, ALICE]
        )
    ]
    return project, other, old, [e for e in events if e.timestamp >= at(d1, 0)], alice_keys


# --- An independent count over the events that remain ---------------------------------------


def _expected(events: list[RawEvent]) -> dict:
    tz = daysmod.zone(TZ)
    day_of = {id(e): e.timestamp.astimezone(tz).date() for e in events}
    users: dict[tuple, set] = defaultdict(set)
    for e in events:
        users[(day_of[id(e)], "")].add(PERSON_OF[e.user_id])
        users[(day_of[id(e)], e.event_name)].add(PERSON_OF[e.user_id])
    return {
        "daily": Counter((day_of[id(e)], e.event_name, e.source) for e in events),
        "hourly": Counter(
            (e.timestamp.astimezone(tz).replace(minute=0, second=0, microsecond=0), e.event_name) for e in events
        ),
        "user_day": Counter((day_of[id(e)], PERSON_OF[e.user_id]) for e in events),
        "day_users": {key: sorted(people) for key, people in users.items()},
        "props": Counter(
            (day_of[id(e)], e.event_name, "plan", e.properties["plan"]) for e in events if "plan" in e.properties
        ),
    }


def _actual(project_id: int, days: set[dt.date]) -> dict:
    person_of_key = {
        key: PERSON_OF[user_id]
        for key, user_id in _fetch("SELECT user_key, user_id FROM analytics_user WHERE project_id = %s", [project_id])
    }

    def people(users) -> list[str]:
        bits = bitmap_to_int(users)
        return sorted({person for key, person in person_of_key.items() if bits >> key & 1})

    rows = {
        "daily": "SELECT day, event_name, source, events FROM analytics_daily_events",
        "hourly": "SELECT hour, event_name, events FROM analytics_hourly_events",
        "user_day": "SELECT day, user_key, events FROM analytics_user_day",
        "day_users": "SELECT day, event_name, users, user_count FROM analytics_day_users",
        "props": "SELECT day, event_name, key, value, events FROM analytics_daily_props",
    }
    got = {
        name: _fetch(sql + " WHERE project_id = %s AND day = ANY(%s)", [project_id, sorted(days)])
        for name, sql in rows.items()
    }
    day_users = {}
    for day, name, users, count in got["day_users"]:
        assert count == len(people(users)), "user_count is the bitmap's popcount"
        day_users[(day, name)] = people(users)
    return {
        "daily": Counter({(d, n, s): c for d, n, s, c in got["daily"]}),
        "hourly": Counter({(h, n): c for h, n, c in got["hourly"]}),
        "user_day": Counter({(d, person_of_key[k]): c for d, k, c in got["user_day"]}),
        "day_users": day_users,
        "props": Counter({(d, n, k, v): c for d, n, k, v, c in got["props"] if k == "plan"}),
    }


# --- Tests ------------------------------------------------------------------------------------


def test_erasing_one_id_erases_the_whole_person_and_nobody_else(case):
    project, other, old, recent, alice_keys = case
    tz = daysmod.zone(TZ)
    rebuilt = {e.timestamp.astimezone(tz).date() for e in recent}
    assert _actual(project.pk, rebuilt) == _expected(recent), "the case's rollups are right to begin with"
    bob_before = person_get(project_id=project.pk, distinct_id="bob")

    out = _run("--project", project.slug, "--user-id", "anon-a")

    assert "erased 4 raw events in 2 partitions" in out  # alice's and anon-a's, the old day's are gone already
    assert "of 2 id(s); 1 person(s) with 2 properties" in out
    assert "alice" not in out and "anon-a" not in out
    # Raw events, the person, its ids and its properties: all of it.
    assert _fetch("SELECT count(*) FROM events WHERE project_id = %s AND user_id = ANY(%s)", [project.pk, ALICE]) == [
        (0,)
    ]
    for distinct_id in ALICE:
        assert person_get(project_id=project.pk, distinct_id=distinct_id) is None
    assert not PersonDistinctId.objects.filter(project_id=project.pk, distinct_id__in=ALICE).exists()
    assert not Person.objects.filter(project_id=project.pk, properties__name="Alice").exists()
    assert _fetch(
        "SELECT count(*) FROM analytics_user WHERE project_id = %s AND user_id = ANY(%s)", [project.pk, ALICE]
    ) == [(0,)]
    assert _fetch(
        "SELECT count(*) FROM analytics_user_day WHERE project_id = %s AND user_key = ANY(%s)", [project.pk, alice_keys]
    ) == [(0,)]
    # Rebuilt days: what remains, counted independently (Bob is one person with two ids).
    remaining = [e for e in recent if e.user_id not in ALICE]
    assert _actual(project.pk, rebuilt) == _expected(remaining)
    # The old day cannot be rebuilt (no raw events); it keeps its counts but no longer names Alice.
    for event_name, users, count in _fetch(
        "SELECT event_name, users, user_count FROM analytics_day_users WHERE project_id = %s AND day = %s",
        [project.pk, old],
    ):
        assert not any(bitmap_to_int(users) >> key & 1 for key in alice_keys), event_name
        assert count == 1
    # No derived table names Alice any more, on any day: not her ids, not her email.
    for table in DERIVED_TABLES:
        statement = sql.SQL("SELECT count(*) FROM {} t WHERE project_id = %s AND t::text LIKE ANY(%s)")
        assert _fetch(statement.format(table.identifier), [project.pk, ["%alice%", "%anon-a%"]]) == [(0,)], table.name
    # Another person of the project, and the same ids in another project, are untouched.
    assert person_get(project_id=project.pk, distinct_id="bob") == bob_before
    assert person_get(project_id=other.pk, distinct_id="alice")["properties"] == {"email": "someone@else.com"}
    assert _fetch("SELECT count(*) FROM events WHERE project_id = %s", [other.pk]) == [(2,)]
    # The audit entry counts; it names nobody.
    entry = AuditEntry.objects.get(action=AuditAction.USER_DELETED)
    assert entry.project == project and entry.details["user_id_sha256"] == hashlib.sha256(b"anon-a").hexdigest()
    assert (entry.details["distinct_ids"], entry.details["persons"], entry.details["person_properties"]) == (2, 1, 2)
    assert entry.details["raw_events"] == 4
    assert not any(text in str(entry.details) for text in ("alice", "anon-a", "Alice", "example.com"))


def test_dry_run_counts_and_removes_nothing(case):
    project, _other, _old, recent, _keys = case
    tz = daysmod.zone(TZ)
    rebuilt = {e.timestamp.astimezone(tz).date() for e in recent}
    before = _actual(project.pk, rebuilt)
    out = _run("--project", project.slug, "--user-id", "alice", "--dry-run")
    assert "would erase 4 raw events in 2 partitions, 3 per-user rollup rows, 7 day bitmaps" in out
    assert "2 user dictionary entries of 2 id(s); 1 person(s) with 2 properties; would rebuild" in out
    assert _fetch("SELECT count(*) FROM events WHERE project_id = %s AND user_id = ANY(%s)", [project.pk, ALICE]) == [
        (4,)
    ]
    assert person_get(project_id=project.pk, distinct_id="anon-a")["distinct_ids"] == ALICE
    assert _actual(project.pk, rebuilt) == before
    assert not AuditEntry.objects.filter(action=AuditAction.USER_DELETED).exists()


def test_an_id_linked_while_the_erasure_ran_is_erased_too(case, monkeypatch):
    """The ids are read before the events and the person after: a link in between must not escape."""
    project, _other, _old, recent, _keys = case
    monkeypatch.setattr(erasure, "person_distinct_ids", lambda *, project_id, distinct_id: [distinct_id])
    result = erasure.user_erase(project=project, user_id="alice")
    assert result.distinct_ids == 2 and result.raw_events == 4 and result.partitions_touched == 2
    assert _fetch("SELECT count(*) FROM events WHERE project_id = %s AND user_id = ANY(%s)", [project.pk, ALICE]) == [
        (0,)
    ]
    tz = daysmod.zone(TZ)
    remaining = [e for e in recent if e.user_id not in ALICE]
    assert _actual(project.pk, {e.timestamp.astimezone(tz).date() for e in recent}) == _expected(remaining)


def _dead_letter(project_id: int, user_id: str) -> str:
    record = records.encode(
        1_700_000_000_000_000, "2023-11-14T22:13:20+00:00", "0190c1b2-0000-7000-8000-000000000001", "pageview",
        "web", user_id, False, None, "{}", records.client_fields(None, None), records.EMPTY_WEB,
    )  # fmt: skip
    fields = {
        "p": str(project_id),
        "r": "1",
        "v": records.VERSION,
        "e": record,
        "stream": "eb:events:0",
        "entry_id": "1-0",
        "error": "x",
    }
    return get_redis().xadd(buffer.DLQ, {**fields, "failed_at": "1"}).decode()


def test_the_report_says_what_it_cannot_reach(case, tmp_path):
    project, other, _old, _recent, _keys = case
    naming = _dead_letter(project.pk, "anon-a")
    _dead_letter(project.pk, "bob")  # someone else's
    _dead_letter(other.pk, "alice")  # the same id in another project is someone else
    get_redis().xadd(buffer.DLQ, {"p": str(project.pk), "e": "not a record"})  # unreadable: it may hold them
    out = _run("--project", project.slug, "--user-id", "alice", "--dry-run")
    assert f"2 dead letter(s) hold events of this person and were NOT erased ({naming} " in out
    assert "no enforce_retention --archive run is on record" in out

    archive = tmp_path / "archive"
    (archive / f"events/day=2024-01-01/project_id={project.pk}").mkdir(parents=True)
    (archive / f"events/day=2024-01-01/project_id={project.pk}/data.parquet").write_bytes(b"")
    audit_record(action=AuditAction.RETENTION_RUN, details={"archive_dir": str(archive)})
    out = _run("--project", project.slug, "--user-id", "alice")
    assert "Parquet archives were NOT touched: they may hold this person's events" in out
    assert f"(1 file(s) of this project under {archive}" in out
    assert get_redis().xlen(buffer.DLQ) == 4, "dead letters are reported, not silently dropped"
    entry = AuditEntry.objects.get(action=AuditAction.USER_DELETED)
    assert len(entry.details["dead_letter_ids"]) == 2 and entry.details["archive_dirs"] == [str(archive)]

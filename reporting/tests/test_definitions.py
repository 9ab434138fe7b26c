"""The taxonomy endpoints against a plain-Python computation over the generated events and persons.

The dataset is committed once for the module and rolled up in two passes (late events rebuild
days already built), around today, so the 30-day window has events on both sides of it. The
reference below reads only the generated lists and the stored persons; it applies the README's
definitions literally (types by events.property_types, values as text, code point order).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from analytics import rollups
from analytics.rollups import derived_rows_delete, rollups_process_dirty
from analytics.tests.factories import RawEvent, RawEventFactory, events_delete, events_insert, touched_days
from core import days as daysmod
from events.dirty import rollups_mark_dirty
from events.property_types import most_common_type, property_type_of
from persons.models import Person, PersonPropertyType
from persons.services import person_erase, person_property_types_recount
from persons.tests.factories import person_make
from projects.models import Project
from projects.tests.factories import ProjectFactory, ingest_key_for, read_key_for

pytestmark = pytest.mark.django_db

TZ = "America/New_York"
DAYS = 45
CAP = rollups.PROPERTY_VALUES_CAP
ELSEWHERE = 10_000  # a project id offset: persons of a project that is not the tenant's


@dataclass
class Taxonomy:
    project: Project
    other: Project
    read_key: str
    other_key: str
    ingest_key: str
    events: list[RawEvent]
    today: dt.date

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return daysmod.zone(self.project.timezone)

    def get(self, path: str, key: str | None = None, **params) -> dict:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key or self.read_key}")
        response = client.get(f"/api/v1/projects/{self.project.slug}/{path}", params)
        assert response.status_code == 200, response.content
        return response.json()


def _props(name: str, rng: random.Random, day_index: int, n: int) -> dict:
    if name == "pageview":
        # ``path`` has more than CAP values a day: a gap, whose top values are kept as samples.
        path = "/home" if n % 3 == 0 else f"/p/{rng.randrange(CAP + 60)}"
        return {
            "browser": rng.choice(["chrome", "Chrome", "firefox", "safari"]),
            "path": path,
            "v": rng.choice([5, "5"]),
        }
    if name == "purchase":
        return {
            "amount": rng.choice([10, 12.5, 99, 100]),
            "plan": rng.choice(["pro", "Free", "team"]),
            "paid": rng.random() < 0.7,
            "at": rng.choice(["2026-01-02T10:00:00Z", "2026-01-02", "2025-12-31 23:59:59.5+05:30"]),
            # Mixed: mostly numbers, some text; mostly dates, some text that is not one.
            "code": rng.randrange(100) if rng.random() < 0.7 else f"c{rng.randrange(5)}",
            "when": "2026-02-30-ish" if rng.random() < 0.3 else "2026-03-01T08:00",
            "maybe": None if rng.random() < 0.5 else "yes",
            "meta": {"a": 1},
        }
    if name == "signup":
        return {"plan": rng.choice(["pro", "free"]), "$set": {"email": f"u{n}@x"}, "nothing": None}
    return {"legacy": True}


def _generate(project: Project, today: dt.date, seed: int) -> list[RawEvent]:
    rng = random.Random(seed)
    tz = daysmod.zone(project.timezone)
    events = []
    for i in range(DAYS):
        day = today - dt.timedelta(days=DAYS - 1 - i)
        names = ["pageview"] * 300 + ["purchase"] * 25 + ["signup"] * 5
        if i < 10:
            names += ["old_event"] * 3  # only before the 30-day window
        for n, name in enumerate(names):
            at = dt.datetime.combine(day, dt.time(rng.randrange(1, 23), rng.randrange(60)), tzinfo=tz)
            events.append(
                RawEventFactory.build(
                    project_id=project.pk,
                    event_name=name,
                    user_id=f"u{rng.randrange(40)}",
                    timestamp=at.astimezone(dt.UTC),
                    properties=_props(name, rng, i, n),
                )
            )
    return events


@pytest.fixture(scope="module")
def taxonomy(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        project = ProjectFactory(timezone=TZ, raw_retention_days=3650)
        other = ProjectFactory()
        today = daysmod.local_date(timezone.now(), daysmod.zone(TZ))
        events = _generate(project, today, seed=3)
        late = events[1::7]
        late_ids = {id(e) for e in late}
        first = [e for e in events if id(e) not in late_ids]
        for batch in (first, late):  # the second pass rebuilds days already built
            events_insert(batch)
            rollups_mark_dirty(touched=touched_days(batch))
            rollups_process_dirty()
        _make_persons(project)
        try:
            yield Taxonomy(
                project=project,
                other=other,
                read_key=read_key_for(project),
                other_key=read_key_for(other),
                ingest_key=ingest_key_for(project),
                events=events,
                today=today,
            )
        finally:
            events_delete([project.pk])
            derived_rows_delete(project_ids=[project.pk])
            with connection.cursor() as cur:
                cur.execute("DELETE FROM analytics_fill_state")
                ids = [project.pk, other.pk, project.pk + ELSEWHERE]
                for table in ("persons_distinct_id", "persons_person", "persons_property_type"):
                    cur.execute(f"DELETE FROM {table} WHERE project_id = ANY(%s)", [ids])
            Project.objects.filter(pk__in=[project.pk, other.pk]).delete()


def _make_persons(project: Project) -> None:
    """Persons through the flush's service: updates, a merge and an erasure move the counts."""
    rng = random.Random(5)
    for n in range(60):
        person_make(
            project_id=project.pk,
            distinct_ids=[f"p{n}", f"anon-{n}"],
            properties={
                "email": f"person{n}@example.com",
                "plan": rng.choice(["pro", "free", "team"]),
                "age": rng.choice([20, 30, "thirty"]) if n % 4 else 41,
                "signed_up": "2025-11-0" + str(1 + n % 9),
                "vip": n % 5 == 0,
                "gone": None,
            },
        )
    # An update changes a value's type; a merge deletes one person and keeps the other's values.
    person_make(project_id=project.pk, distinct_ids=["p1"], properties={"age": "unknown", "plan": "enterprise"})
    person_make(project_id=project.pk, distinct_ids=["p2", "p3"])
    person_erase(project_id=project.pk, distinct_ids=["p4"])
    person_make(project_id=project.pk + ELSEWHERE, distinct_ids=["elsewhere"], properties={"secret": "x"})


# --- The reference -------------------------------------------------------------------------------


def _text(value) -> str:
    """A value as the API shows it: a string as is, anything else as PostgreSQL's jsonb text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _local(e: RawEvent, tz) -> dt.date:
    return e.timestamp.astimezone(tz).date()


def expected_events(t: Taxonomy) -> list[dict]:
    first, last, volume = {}, {}, Counter()
    window = t.today - dt.timedelta(days=29)
    for e in t.events:
        day = _local(e, t.tz)
        first[e.event_name] = min(first.get(e.event_name, day), day)
        last[e.event_name] = max(last.get(e.event_name, day), day)
        volume[e.event_name] += window <= day <= t.today
    names = sorted(first, key=lambda name: (-volume[name], name))
    return [
        {"name": n, "first_seen": first[n].isoformat(), "last_seen": last[n].isoformat(), "volume_30_days": volume[n]}
        for n in names
    ]


def _window_values(t: Taxonomy, event: str | None) -> dict[str, Counter]:
    """Per key, value counts in the window as the rollups keep them: every value of a day with at
    most CAP values, else the day's CAP most frequent (and never a person data key's)."""
    per_day: dict[tuple, Counter] = defaultdict(Counter)
    window = t.today - dt.timedelta(days=29)
    for e in t.events:
        if (event and e.event_name != event) or not window <= _local(e, t.tz) <= t.today:
            continue
        for key, value in e.properties.items():
            per_day[(_local(e, t.tz), e.event_name, key)][None if value is None else _text(value)] += 1
    out: dict[str, Counter] = defaultdict(Counter)
    for (_day, _event, key), values in per_day.items():
        if key in rollups.PERSON_DATA_KEYS:
            continue
        kept = values.items()
        if len(values) > CAP:
            kept = sorted(((v, n) for v, n in values.items() if v is not None), key=lambda vn: (-vn[1], vn[0]))[:CAP]
        for value, n in kept:
            if value is not None:
                out[key][value] += n
    return out


def _top(counter: Counter, limit: int, q: str | None = None) -> list[tuple[str, int]]:
    items = [(v, n) for v, n in counter.items() if not q or q.lower() in v.lower()]
    return sorted(items, key=lambda vn: (-vn[1], vn[0]))[:limit]


def expected_event_properties(t: Taxonomy, event: str | None = None) -> list[dict]:
    types: dict[str, Counter] = defaultdict(Counter)
    for e in t.events:
        if event and e.event_name != event:
            continue
        for key, value in e.properties.items():
            types[key][property_type_of(value)] += 0 if value is None else 1
    samples = _window_values(t, event)
    keys = sorted(types, key=lambda k: (-sum(types[k].values()), k))
    return [
        {
            "key": k,
            "type": most_common_type({kind: n for kind, n in types[k].items() if kind}),
            "sample_values": [v for v, _ in _top(samples[k], 5)],
        }
        for k in keys
    ]


def _persons(t: Taxonomy) -> list[dict]:
    return [p.properties for p in Person.objects.filter(project_id=t.project.pk).order_by("-id")]


def expected_person_properties(t: Taxonomy) -> list[dict]:
    types: dict[str, Counter] = defaultdict(Counter)
    values: dict[str, Counter] = defaultdict(Counter)
    for properties in _persons(t):
        for key, value in properties.items():
            if value is not None:
                types[key][property_type_of(value)] += 1
                values[key][_text(value)] += 1
    keys = sorted(types, key=lambda k: (-sum(types[k].values()), k))
    return [
        {"key": k, "type": most_common_type(types[k]), "sample_values": [v for v, _ in _top(values[k], 5)]}
        for k in keys
    ]


# --- Events --------------------------------------------------------------------------------------


def test_event_definitions_match_the_events(taxonomy):
    answer = taxonomy.get("definitions/events")
    assert answer["results"] == expected_events(taxonomy)
    assert "complete_until" in answer
    volumes = {row["name"]: row["volume_30_days"] for row in answer["results"]}
    assert volumes["old_event"] == 0 and volumes["pageview"] > 0


# --- Event properties ----------------------------------------------------------------------------


@pytest.mark.parametrize("event", [None, "pageview", "purchase", "signup"])
def test_event_properties_match_the_events(taxonomy, event):
    params = {"event": event} if event else {}
    assert taxonomy.get("definitions/properties", **params)["results"] == expected_event_properties(taxonomy, event)


def test_detected_types_mixed_and_datetime(taxonomy):
    types = {row["key"]: row["type"] for row in taxonomy.get("definitions/properties", event="purchase")["results"]}
    assert types == {
        "amount": "number",
        "plan": "string",
        "paid": "boolean",
        "at": "datetime",
        "code": "number",  # mixed: mostly numbers
        "when": "datetime",  # mostly dates; "2026-02-30-ish" is text
        "maybe": "string",
        "meta": "string",  # an object compares as its JSON text
    }
    # Only nulls: no type to count, so the default.
    signup = {row["key"]: row for row in taxonomy.get("definitions/properties", event="signup")["results"]}
    assert signup["nothing"] == {"key": "nothing", "type": "string", "sample_values": []}
    assert signup["$set"]["sample_values"] == []  # person data is never rolled up


def test_unknown_event_has_no_properties(taxonomy):
    assert taxonomy.get("definitions/properties", event="no-such-event")["results"] == []


# --- Values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "event", "q", "limit"),
    [
        ("browser", None, None, 20),
        ("browser", "pageview", "CHROME", 20),
        ("plan", None, None, 20),  # on two events
        ("plan", "signup", None, 20),
        ("path", "pageview", None, 100),  # over the cap: the kept samples
        ("path", None, "/P/1", 7),
        ("v", None, None, 20),  # 5 and "5" are one value
        ("amount", "purchase", ".", 20),
        ("paid", None, "TR", 20),
    ],
)
def test_values_match_the_events(taxonomy, key, event, q, limit):
    params = {k: v for k, v in {"event": event, "q": q, "limit": limit}.items() if v is not None}
    answer = taxonomy.get(f"definitions/properties/{key}/values", **params)
    expected = _top(_window_values(taxonomy, event)[key], limit, q)
    assert [(row["value"], row["count"]) for row in answer["results"]] == expected
    assert expected, "the case should have values"


def test_values_default_limit_and_unknown_key(taxonomy):
    assert len(taxonomy.get("definitions/properties/path/values")["results"]) == 20
    assert taxonomy.get("definitions/properties/no-such-key/values")["results"] == []
    assert taxonomy.get("definitions/properties/plan/values", event="no-such-event")["results"] == []
    assert taxonomy.get("definitions/properties/$set/values")["results"] == []


# --- Person properties ---------------------------------------------------------------------------


def test_person_properties_match_the_persons(taxonomy):
    answer = taxonomy.get("definitions/properties", type="person")["results"]
    assert answer == expected_person_properties(taxonomy)
    types = {row["key"]: row["type"] for row in answer}
    assert types == {"email": "string", "plan": "string", "age": "number", "signed_up": "datetime", "vip": "boolean"}
    assert "secret" not in types  # another project's person
    # The counts the writer kept through updates, a merge and an erasure are a recount's.
    kept = sorted(
        PersonPropertyType.objects.filter(project_id=taxonomy.project.pk).values_list("key", "type", "persons")
    )
    person_property_types_recount(project_id=taxonomy.project.pk)
    assert kept == sorted(
        PersonPropertyType.objects.filter(project_id=taxonomy.project.pk).values_list("key", "type", "persons")
    )


@pytest.mark.parametrize(("key", "q"), [("plan", None), ("age", None), ("email", "PERSON1"), ("vip", "")])
def test_person_values_match_the_persons(taxonomy, key, q):
    counts = Counter(_text(p[key]) for p in _persons(taxonomy) if p.get(key) is not None)
    params = {"type": "person", **({"q": q} if q is not None else {})}
    answer = taxonomy.get(f"definitions/properties/{key}/values", **params)["results"]
    assert [(row["value"], row["count"]) for row in answer] == _top(counts, 20, q)


# --- Access and bad input --------------------------------------------------------------------------

PATHS = ["definitions/events", "definitions/properties", "definitions/properties/plan/values"]


@pytest.mark.parametrize("path", PATHS)
def test_access(taxonomy, path, admin_user):
    url = f"/api/v1/projects/{taxonomy.project.slug}/{path}"
    assert APIClient().get(url).status_code == 401
    for key, status in ((taxonomy.other_key, 404), (taxonomy.ingest_key, 403)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        assert client.get(url).status_code == status
    staff = APIClient()
    staff.force_login(admin_user)
    assert staff.get(url).status_code == 200
    plain = APIClient()
    plain.force_login(get_user_model().objects.create_user("plain-taxonomy", password="pw-123456-long"))
    assert plain.get(url).status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("definitions/properties", {"type": "group"}, "type"),
        ("definitions/properties/plan/values", {"type": "cohort"}, "type"),
        ("definitions/properties/plan/values", {"limit": "0"}, "limit"),
        ("definitions/properties/plan/values", {"limit": "101"}, "limit"),
        ("definitions/properties/plan/values", {"limit": "ten"}, "limit"),
        ("definitions/properties/plan/values", {"q": "x" * 201}, "q"),
        ("definitions/properties", {"event": "a\x00b"}, "event"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(taxonomy, path, params, field):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {taxonomy.read_key}")
    response = client.get(f"/api/v1/projects/{taxonomy.project.slug}/{path}", params)
    assert response.status_code == 400
    assert field in response.json()


def test_each_endpoint_is_a_few_queries(taxonomy, django_assert_max_num_queries):
    """Stats only: the number of statements does not grow with the data (no per-key loop)."""
    for path, params in (
        ("definitions/events", {}),
        ("definitions/properties", {}),
        ("definitions/properties", {"type": "person"}),
        ("definitions/properties/plan/values", {}),
        ("definitions/properties/plan/values", {"type": "person"}),
    ):
        with django_assert_max_num_queries(8):
            taxonomy.get(path, **params)

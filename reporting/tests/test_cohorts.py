"""Cohorts against a plain-Python computation: membership (dynamic and static, across identity
merges, in the project's local days) and a cohort-filtered report; and the API's answers.

Events go through the real capture API, the flush and the rollups. Visitors browse anonymously,
some then identify (with a plan in ``$set``), so one person can have events under two ids.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from analytics.cohorts import cohorts_compute_due
from analytics.rollups import rollups_process_dirty
from events.duck import duckdb_reset
from events.partitions import forget_known_partitions
from ingestion.flush import drain
from persons.models import Cohort, PersonDistinctId
from projects.tests.factories import ProjectFactory, editor_key_for, ingest_key_for, read_key_for

pytestmark = pytest.mark.django_db(transaction=True)

TZ = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime.now(dt.UTC)
TODAY = NOW.astimezone(TZ).date()


@pytest.fixture
def project() -> Iterator[object]:
    forget_known_partitions()
    duckdb_reset()
    project = ProjectFactory(timezone="America/New_York")
    yield project
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events WHERE project_id = %s", [project.pk])
    duckdb_reset()
    forget_known_partitions()


def _events(seed: int = 3) -> list[dict]:
    """~30 visitors over the last 40 days: page views, purchases (with an amount), and for some an
    $identify that links their anonymous id to a login id, with a plan."""
    rng = random.Random(seed)
    events = []
    for i in range(30):
        anon, login = f"anon-{i}", f"user-{i}"
        identifies = rng.random() < 0.7
        start = NOW - dt.timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23))
        user = anon
        for k in range(rng.randint(1, 12)):
            at = start + dt.timedelta(hours=7 * k)
            if at > NOW:
                break
            if identifies and k == 2:
                plan = rng.choice(["pro", "free", None])
                props: dict = {"$anon_distinct_id": anon}
                if plan:
                    props["$set"] = {"plan": plan}
                events.append(
                    {"event": "$identify", "user_id": login, "timestamp": at.isoformat(), "properties": props}
                )
                user = login
                continue
            name = rng.choices(["$pageview", "purchase"], [3, 1])[0]
            props = {"amount": rng.choice([10, 40, 60, 90])} if name == "purchase" else {}
            events.append({"event": name, "user_id": user, "timestamp": at.isoformat(), "properties": props})
    return events


def _send(client, project, events: list[dict]) -> None:
    for start in range(0, len(events), 500):
        response = client.post(
            "/api/v1/events",
            data=json.dumps({"events": events[start : start + 500]}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {ingest_key_for(project)}",
        )
        assert response.status_code == 202, response.content
    drain(seconds=10)
    rollups_process_dirty()


def _people(project, events: list[dict]) -> tuple[dict[str, list[dict]], dict[str, dict]]:
    """Each person (by the key reports use) with their events, and their properties."""
    links = {
        link.distinct_id: f"person:{link.person_id}" for link in PersonDistinctId.objects.filter(project_id=project.pk)
    }
    by_person: dict[str, list[dict]] = defaultdict(list)
    properties: dict[str, dict] = defaultdict(dict)
    for event in events:
        key = links.get(event["user_id"], event["user_id"])
        by_person[key].append(event)
        properties[key].update(event["properties"].get("$set", {}))
    return by_person, properties


def _count(events: list[dict], name: str, days: int, test=lambda e: True) -> int:
    since = TODAY - dt.timedelta(days=days - 1)
    return sum(
        1
        for e in events
        if e["event"] == name and dt.datetime.fromisoformat(e["timestamp"]).astimezone(TZ).date() >= since and test(e)
    )


def _api(client, project, method: str, path: str, body: dict | None = None):
    # Reads go by the read key; defining, changing and deleting cohorts takes an editor.
    writes = path.startswith("cohorts") and method != "get"
    key = editor_key_for(project) if writes else read_key_for(project)
    return getattr(client, method)(
        f"/api/v1/projects/{project.slug}/{path}",
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def _members(client, project, cohort_id: int) -> set[str]:
    members, cursor = [], None
    while True:
        params = f"?limit=7{'&cursor=' + cursor if cursor else ''}"
        body = _api(client, project, "get", f"cohorts/{cohort_id}/persons{params}").json()
        members += [row["person_id"] for row in body["results"]]
        if not (cursor := body["next"]):
            break
    assert len(members) == len(set(members))  # pages neither repeat nor skip
    return set(members)


DEFINITIONS = {
    "pro buyers": {
        "filters": [{"type": "person", "key": "plan", "operator": "exact", "value": "pro"}],
        "behaviour": [{"event": "purchase", "operator": "gte", "count": 1, "days": 30}],
        "match": "all",
    },
    "big buyers or free": {
        "filters": [{"type": "person", "key": "plan", "operator": "exact", "value": "free"}],
        "behaviour": [
            {
                "event": "purchase",
                "operator": "gte",
                "count": 1,
                "days": 7,
                "filters": [{"type": "event", "key": "amount", "operator": "gt", "value": 50}],
            }
        ],
        "match": "any",
    },
    "few page views": {"behaviour": [{"event": "$pageview", "operator": "lte", "count": 2, "days": 30}]},
    "exactly one purchase in 40 days": {
        "behaviour": [{"event": "purchase", "operator": "exact", "count": 1, "days": 40}]
    },
}


def _expected(name: str, by_person: dict[str, list[dict]], properties: dict[str, dict]) -> set[str]:
    def plan(person: str) -> object:
        return properties[person].get("plan")

    rules = {
        "pro buyers": lambda p, evs: plan(p) == "pro" and _count(evs, "purchase", 30) >= 1,
        "big buyers or free": lambda p, evs: (
            plan(p) == "free" or _count(evs, "purchase", 7, lambda e: e["properties"]["amount"] > 50) >= 1
        ),
        "few page views": lambda p, evs: _count(evs, "$pageview", 30) <= 2,
        "exactly one purchase in 40 days": lambda p, evs: _count(evs, "purchase", 40) == 1,
    }
    return {person for person, evs in by_person.items() if rules[name](person, evs)}


def test_membership_and_cohort_filters_match_a_plain_computation(client, project):
    events = _events()
    _send(client, project, events)
    by_person, properties = _people(project, events)
    assert any(len({e["user_id"] for e in evs}) == 2 for evs in by_person.values())  # a merge to prove

    ids = {}
    for name, definition in DEFINITIONS.items():
        response = _api(client, project, "post", "cohorts", {"name": name, **definition})
        assert response.status_code == 201, response.content
        assert response.json()["count"] is None and response.json()["computed_at"] is None
        ids[name] = response.json()["id"]
    static = _api(
        client, project, "post", "cohorts", {"name": "s", "kind": "static", "user_ids": ["anon-1", "user-1", "nobody"]}
    )
    assert static.status_code == 201, static.content
    assert cohorts_compute_due() == len(DEFINITIONS) + 1

    for name, cohort_id in ids.items():
        expected = _expected(name, by_person, properties)
        assert 0 < len(expected) < len(by_person), name  # a definition that selects, not all or none
        assert _members(client, project, cohort_id) == expected, name
        assert _api(client, project, "get", f"cohorts/{cohort_id}").json()["count"] == len(expected)
    member = sorted(_expected("pro buyers", by_person, properties))[0]
    detail = _api(client, project, "get", f"persons/{member}").json()
    assert {"id": ids["pro buyers"], "name": "pro buyers"} in detail["cohorts"]
    links = {
        link.distinct_id: f"person:{link.person_id}" for link in PersonDistinctId.objects.filter(project_id=project.pk)
    }
    assert _members(client, project, static.json()["id"]) == {
        links.get("anon-1", "anon-1"),
        links.get("user-1", "user-1"),
        "nobody",
    }

    # A cohort filter: daily active persons of the cohort, over the last 30 local days.
    cohort_id = ids["big buyers or free"]
    members = _expected("big buyers or free", by_person, properties)
    first = TODAY - dt.timedelta(days=29)
    response = client.get(
        f"/api/v1/projects/{project.slug}/active-users",
        {
            "from": first.isoformat(),
            "to": TODAY.isoformat(),
            "filters": json.dumps([{"type": "cohort", "value": cohort_id}]),
        },
        HTTP_AUTHORIZATION=f"Bearer {read_key_for(project)}",
    )
    assert response.status_code == 200, response.content
    daily: dict[dt.date, set[str]] = defaultdict(set)
    for person, evs in by_person.items():
        for e in evs:
            day = dt.datetime.fromisoformat(e["timestamp"]).astimezone(TZ).date()
            if person in members and day >= first:
                daily[day].add(person)
    assert {row["date"]: row["users"] for row in response.json()["results"] if row["users"]} == {
        day.isoformat(): len(persons) for day, persons in daily.items()
    }

    # A cohort breakdown: one series per cohort, each event counting for every cohort of its person.
    chosen = ["pro buyers", "few page views"]
    response = _api(
        client,
        project,
        "post",
        "trends",
        {
            "series": [
                {"name": "A", "event": "$pageview", "math": "total"},
                {"name": "B", "event": "purchase", "math": "users"},
            ],
            "from": first.isoformat(),
            "to": TODAY.isoformat(),
            "breakdown": {"type": "cohort", "values": [ids[name] for name in chosen]},
        },
    )
    assert response.status_code == 200, response.content
    got = {
        (row["series"], row["breakdown_value"]): {p["date"]: p["value"] for p in row["data"] if p["value"]}
        for row in response.json()["series"]
    }
    expected: dict = {}
    for name in chosen:
        members = _expected(name, by_person, properties)
        for series, event, math in (("A", "$pageview", "total"), ("B", "purchase", "users")):
            per_day: dict[str, set | int] = {}
            for person in members:
                for e in by_person[person]:
                    day = dt.datetime.fromisoformat(e["timestamp"]).astimezone(TZ).date()
                    if e["event"] == event and day >= first:
                        if math == "total":
                            per_day[day.isoformat()] = per_day.get(day.isoformat(), 0) + 1
                        else:
                            per_day.setdefault(day.isoformat(), set()).add(person)
            expected[(series, name)] = {d: v if isinstance(v, int) else len(v) for d, v in per_day.items()}
    assert got == expected


def test_a_funnel_broken_down_by_cohorts_is_the_funnel_of_each_cohort(client, project):
    _send(client, project, _events(seed=11))
    ids = [
        _api(client, project, "post", "cohorts", {"name": name, **DEFINITIONS[name]}).json()["id"]
        for name in ("few page views", "exactly one purchase in 40 days")
    ]
    cohorts_compute_due()
    body = {"steps": ["$pageview", "purchase"], "from": (TODAY - dt.timedelta(days=40)).isoformat(), "window_hours": 72}
    split = _api(client, project, "post", "funnels", {**body, "breakdown": {"type": "cohort", "values": ids}})
    assert split.status_code == 200, split.content
    whole = _api(client, project, "post", "funnels", body).json()
    assert [r["users"] for r in split.json()["results"]] == [r["users"] for r in whole["results"]]
    by_value = {part["value"]: [r["users"] for r in part["results"]] for part in split.json()["breakdown"]}
    for name, cohort_id in zip(("few page views", "exactly one purchase in 40 days"), ids, strict=True):
        alone = _api(client, project, "post", "funnels", {**body, "filters": [{"type": "cohort", "value": cohort_id}]})
        assert by_value[name] == [r["users"] for r in alone.json()["results"]]
    assert any(by_value[name][0] for name in by_value)  # something to compare


def test_retention_broken_down_by_cohorts_is_the_retention_of_each_cohort(client, project):
    _send(client, project, _events(seed=13))
    ids = [
        _api(client, project, "post", "cohorts", {"name": name, **DEFINITIONS[name]}).json()["id"]
        for name in ("few page views", "big buyers or free")
    ]
    cohorts_compute_due()
    url = f"/api/v1/projects/{project.slug}/retention"
    auth = f"Bearer {read_key_for(project)}"
    params = {"start_date": (TODAY - dt.timedelta(days=35)).isoformat(), "windows": 4, "period": "week"}
    split = client.get(
        url, {**params, "breakdown_type": "cohort", "breakdown": f"{ids[0]},{ids[1]}"}, HTTP_AUTHORIZATION=auth
    )
    assert split.status_code == 200, split.content
    rows = {row["breakdown_value"]: row for row in split.json()["breakdown"]}
    assert set(rows) == {"few page views", "big buyers or free"}
    for name, cohort_id in zip(("few page views", "big buyers or free"), ids, strict=True):
        flt = json.dumps([{"type": "cohort", "value": cohort_id}])
        alone = client.get(url, {**params, "filters": flt}, HTTP_AUTHORIZATION=auth).json()
        assert rows[name]["cohort_size"] == alone["cohort_size"]
        assert rows[name]["retention"] == alone["retention"]
    assert any(row["cohort_size"] for row in rows.values())
    bad = client.get(url, {**params, "breakdown_type": "cohort", "breakdown": "x"}, HTTP_AUTHORIZATION=auth)
    assert bad.status_code == 400 and "breakdown" in bad.json()


def test_changes_deletion_and_bad_definitions(client, project):
    _send(client, project, _events(seed=5))
    created = _api(client, project, "post", "cohorts", {"name": "buyers", **DEFINITIONS["few page views"]}).json()
    cohorts_compute_due()
    assert _api(client, project, "get", f"cohorts/{created['id']}").json()["computed_at"] is not None

    renamed = _api(client, project, "patch", f"cohorts/{created['id']}", {"name": "renamed"})
    assert renamed.status_code == 200 and renamed.json()["computed_at"] is not None  # a name is not a definition
    changed = _api(client, project, "patch", f"cohorts/{created['id']}", {"match": "any"})
    assert changed.json()["computed_at"] is None and changed.json()["definition"]["behaviour"]  # kept
    assert [c["name"] for c in _api(client, project, "get", "cohorts").json()["results"]] == ["renamed"]

    bad = {
        "behaviour": {"name": "x", "behaviour": [{"event": "nope", "count": 1, "days": 3}]},
        "behaviour[0].days": {"name": "x", "behaviour": [{"event": "purchase", "days": 0}]},
        "behaviour[0].operator": {"name": "x", "behaviour": [{"event": "purchase", "operator": "gt"}]},
        "filters": {"name": "x", "filters": [{"type": "event", "key": "a", "operator": "is_set"}]},
        "match": {"name": "x", "filters": [], "behaviour": [], "match": "some"},
        "user_ids": {"name": "x", "kind": "static", "user_ids": []},
        "name": {"filters": [{"type": "person", "key": "plan", "operator": "is_set"}]},
    }
    for field, body in bad.items():
        response = _api(client, project, "post", "cohorts", body)
        assert response.status_code == 400, (field, response.content)
        assert field in response.json(), (field, response.json())
    own = [{"type": "cohort", "value": created["id"]}]
    response = _api(client, project, "patch", f"cohorts/{created['id']}", {"filters": own})
    assert response.status_code == 400 and "itself" in response.json()["filters"][0]

    flt = json.dumps([{"type": "cohort", "value": created["id"]}])
    auth = f"Bearer {read_key_for(project)}"
    url = f"/api/v1/projects/{project.slug}/active-users"
    response = client.get(url, {"filters": flt}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content
    assert _api(client, project, "delete", f"cohorts/{created['id']}").status_code == 204
    response = client.get(url, {"filters": flt}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 400 and "unknown cohort" in response.json()["filters"][0]
    assert _api(client, project, "get", f"cohorts/{created['id']}").status_code == 404
    body = {"series": [{"event": "purchase"}], "breakdown": {"type": "cohort", "values": [created["id"]]}}
    response = _api(client, project, "post", "trends", body)
    assert response.status_code == 400 and "unknown cohort" in str(response.json())
    assert not Cohort.objects.filter(pk=created["id"]).exists()


def test_a_static_cohort_from_a_csv_upload(client, project):
    auth = f"Bearer {editor_key_for(project)}"
    url = f"/api/v1/projects/{project.slug}/cohorts"

    def upload(text: str, name: str = "from csv"):
        return client.post(
            url, {"name": name, "file": SimpleUploadedFile("ids.csv", text.encode())}, HTTP_AUTHORIZATION=auth
        )

    response = upload("user_id,plan\nu-1,pro\n\n" + "x" * 201 + "\nu-2\n,free\n")
    assert response.status_code == 400
    assert response.json()["file"] == [
        "line 3: no id in the first column.",
        "line 4: an id has at most 200 characters.",
        "line 6: no id in the first column.",
    ]
    response = upload('user_id\nu-1\n"u,2"\nu-1\n')
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "static" and response.json()["definition"] == {"user_ids": ["u-1", "u,2"]}
    cohorts_compute_due()
    assert _members(client, project, response.json()["id"]) == {"u-1", "u,2"}
    assert upload("u-1\n", name="").status_code == 400  # a name is still required
    latin = client.post(
        url, {"name": "x", "file": SimpleUploadedFile("ids.csv", "café\n".encode("latin-1"))}, HTTP_AUTHORIZATION=auth
    )
    assert latin.status_code == 400 and latin.json()["file"] == ["the file is not UTF-8 text."]

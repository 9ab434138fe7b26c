"""Paths against the plain-Python oracle (reporting/tests/paths_oracle.py): two time zones, ranges
whose local day edges cut visits, repeats, ties, exclusions, cleaning, start and end steps, ids
merged into persons, a cohort filter; and the 400s of bad input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest

from analytics.query.paths import PathSpec
from analytics.tests.factories import RawEvent, events_insert
from events.duck import duckdb_reset
from projects.tests.factories import ProjectFactory, ingest_key_for, read_key_for
from reporting.queries.paths import paths_get
from reporting.tests import paths_oracle
from reporting.tests.conftest import Tenant, _cleanup, _dataset, persons_merged
from reporting.tests.test_filtered_reports import _kept

pytestmark = pytest.mark.django_db

RANGES = [(dt.date(2024, 2, 22), dt.date(2024, 3, 12)), (dt.date(2024, 3, 6), dt.date(2024, 3, 15))]


@pytest.fixture(scope="module")
def paths_dataset(django_db_setup, django_db_blocker):
    """Generated paths, with some ids merged into persons and a static cohort of every other person."""
    for dataset in _dataset(django_db_blocker, (45, 30), paths_oracle.generate):
        with django_db_blocker.unblock(), persons_merged(dataset, persons=6) as merged:
            yield merged


@pytest.fixture(params=["ny", "kolkata"])
def tenant(request, paths_dataset):
    return getattr(paths_dataset, request.param)


def _post(tenant, body: dict) -> dict:
    response = tenant.client().post(tenant.url("paths"), body, format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer.pop("complete_until")
    return answer


def _spec(body: dict) -> PathSpec:
    return PathSpec(
        event_types=tuple(body.get("event_types", ["$pageview"])),
        path_key=body.get("path_key"),
        steps=body.get("steps", 5),
        start=body.get("start_event"),
        end=body.get("end_event"),
        exclude=tuple(body.get("exclude", ())),
        cleaning=tuple((r["regex"], r["alias"]) for r in body.get("path_cleaning", ())),
        min_edge_users=body.get("min_edge_users", 1),
    )


CLEAN = [{"regex": "^/blog/.*", "alias": "/blog/*"}, {"regex": "^/checkout/", "alias": "/buy/"}]
BODIES = {
    "events": {"event_types": ["$pageview", "$screen", "custom"]},
    "custom only": {"event_types": ["custom"], "steps": 3},
    "pages": {"event_types": ["$pageview"], "path_key": "pathname", "steps": 6},
    "pages cleaned": {"path_key": "pathname", "path_cleaning": CLEAN, "exclude": ["/docs"], "min_edge_users": 2},
    "from a page": {"path_key": "pathname", "start_event": "/pricing", "steps": 4},
    "up to a page": {"path_key": "pathname", "path_cleaning": CLEAN, "end_event": "/buy/done", "steps": 3},
    "between": {
        "event_types": ["$pageview", "custom"],
        "start_event": "$pageview",
        "end_event": "purchase",
        "steps": 4,
    },
    "screens by property": {"event_types": ["$screen", "custom"], "path_key": "screen", "exclude": ["Home"]},
}


@pytest.mark.parametrize("name", list(BODIES))
@pytest.mark.parametrize("first,last", RANGES)
def test_paths(tenant, name, first, last, django_assert_max_num_queries):
    body = {**BODIES[name], "from": first.isoformat(), "to": last.isoformat()}
    with django_assert_max_num_queries(6):
        answer = _post(tenant, body)
    expected = paths_oracle.paths(tenant.events, tenant.tz, first, last, _spec(body), tenant.person_of)
    assert answer == expected
    assert answer["nodes"] and (answer["edges"] or first == RANGES[1][0])


def test_the_data_exercises_repeats_and_ties(paths_dataset):
    """The generated events have consecutive repeats and same-instant events of one person, so the
    oracle comparisons above would catch a report that did not collapse or ordered ties otherwise."""
    for tenant in (paths_dataset.ny, paths_dataset.kolkata):
        rows = sorted(tenant.events, key=lambda e: (e.user_id, e.timestamp))
        pairs = list(itertools.pairwise(rows))
        assert any(
            a.user_id == b.user_id and a.web.get("pathname") == b.web.get("pathname") is not None for a, b in pairs
        )
        assert any(a.user_id == b.user_id and a.timestamp == b.timestamp and a.event_name != b.event_name
                   for a, b in pairs)  # fmt: skip


def test_a_merged_person_is_one_path(paths_dataset):
    tenant = paths_dataset.ny
    first, last = RANGES[0]
    body = {**BODIES["events"], "from": first.isoformat(), "to": last.isoformat()}
    by_id = paths_oracle.paths(tenant.events, tenant.tz, first, last, _spec(body), str)
    by_person = paths_oracle.paths(tenant.events, tenant.tz, first, last, _spec(body), tenant.person_of)
    assert by_id != by_person  # the merges matter to this question
    assert _post(tenant, body) == by_person


@pytest.mark.parametrize("name", ["events", "pages cleaned"])
def test_paths_of_a_cohort(tenant, name):
    cohort_id, members = tenant.cohort
    first, last = RANGES[0]
    body = {**BODIES[name], "from": first.isoformat(), "to": last.isoformat()}
    body["filters"] = [{"type": "cohort", "value": cohort_id}]
    expected = paths_oracle.paths(
        tenant.events, tenant.tz, first, last, _spec(body), tenant.person_of,
        keep=lambda e: tenant.person_of(e.user_id) in members,
    )  # fmt: skip
    assert _post(tenant, body) == expected
    assert expected != _post(tenant, {**body, "filters": []})


@pytest.mark.parametrize(
    "raw",
    [
        [{"type": "event", "key": "screen", "operator": "is_not", "value": "Home"}],  # unset matches too
        [{"any": [{"type": "event", "key": "path", "operator": "icontains", "value": "DOC"},
                  {"type": "event", "key": "screen", "operator": "exact", "value": "Cart"}]}],
    ],
)  # fmt: skip
def test_paths_of_filtered_events(tenant, raw):
    """Filters keep events before the paths are made: a left-out event neither is a step nor
    separates a repeat."""
    first, last = RANGES[0]
    body = {**BODIES["events"], "from": first.isoformat(), "to": last.isoformat(), "filters": raw}
    kept = {id(e) for e in _kept(tenant, raw)}
    expected = paths_oracle.paths(
        tenant.events, tenant.tz, first, last, _spec(body), tenant.person_of, keep=lambda e: id(e) in kept
    )
    assert _post(tenant, body) == expected
    assert expected["nodes"]


def test_less_frequent_names_fold_into_other(paths_dataset):
    """Beyond the top names of a step, the rest is one (other) node, its edges summed."""
    tenant = paths_dataset.kolkata
    first, last = RANGES[0]
    spec = dataclasses.replace(_spec(BODIES["pages"]), names_per_step=3)
    answer = paths_get(project=tenant.project, spec=spec, date_from=first, date_to=last)
    expected = paths_oracle.paths(tenant.events, tenant.tz, first, last, spec, tenant.person_of)
    assert answer == expected
    assert {"(other)"} == {n["name"] for n in answer["nodes"]} - set(paths_oracle.PAGES)
    assert max(sum(1 for n in answer["nodes"] if n["step"] == step) for step in range(1, 7)) == 4


def test_a_start_that_never_occurs_is_empty(paths_dataset):
    tenant = paths_dataset.ny
    answer = _post(tenant, {"start_event": "never", "from": "2024-02-22", "to": "2024-03-12"})
    assert answer == {"nodes": [], "edges": [], "dropoffs": []}


@pytest.mark.parametrize(
    "body,field",
    [
        ({"steps": 1}, "steps"),
        ({"steps": 21}, "steps"),
        ({"steps": "x"}, "steps"),
        ({"event_types": ["$pageview", "clicks"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"event_types": "$pageview"}, "event_types"),
        ({"path_cleaning": [{"regex": "(?<x>a)", "alias": "b"}]}, "path_cleaning"),
        ({"path_cleaning": [{"regex": "a("}]}, "path_cleaning"),
        ({"path_cleaning": "x"}, "path_cleaning"),
        ({"exclude": "x"}, "exclude"),
        ({"min_edge_users": 0}, "min_edge_users"),
        ({"start_event": ""}, "start_event"),
        ({"from": "2024-03-02", "to": "2024-03-01"}, "from"),
        ({"from": "2024-01-01", "to": "2024-06-01"}, "to"),
        ({"filters": [{"type": "event", "key": "a", "operator": "equals"}]}, "filters"),
    ],
)
def test_bad_input_is_400_naming_the_parameter(paths_dataset, body, field):
    tenant = paths_dataset.ny
    response = tenant.client().post(tenant.url("paths"), body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


@pytest.fixture(scope="module")
def tiny(django_db_setup, django_db_blocker):
    """Two persons' events written out by hand, for the rules in plain sight (a UTC project)."""
    with django_db_blocker.unblock():
        project = ProjectFactory(timezone="UTC", raw_retention_days=10 * 365)
        at = dt.datetime(2024, 3, 5, 10, tzinfo=dt.UTC)

        def ev(user: str, name: str, seconds: int, page: str | None = None) -> RawEvent:
            return RawEvent(project_id=project.pk, event_name=name, user_id=user,
                            timestamp=at + dt.timedelta(seconds=seconds), web={"pathname": page})  # fmt: skip

        events_insert(
            [
                ev("x", "$pageview", 0, "/a"),
                ev("x", "$pageview", 10, "/a"),  # a repeat: one step, timed from its first event
                ev("x", "signup", 20),
                ev("x", "purchase", 20),  # the same instant: purchase before signup, by name
                ev("x", "$pageview", 60, "/b"),
                ev("y", "$pageview", 3600, "/a"),
                ev("y", "$pageview", 3630, "/c"),
            ]
        )
        try:
            yield Tenant(project=project, read_key=read_key_for(project), ingest_key=ingest_key_for(project), events=[])
        finally:
            duckdb_reset()
            _cleanup([project.pk])


def _edges(answer: dict) -> list[tuple]:
    return [tuple(e.values()) for e in answer["edges"]]


def test_the_rules_on_a_hand_made_example(tiny):
    day = {"from": "2024-03-05", "to": "2024-03-05"}
    answer = _post(tiny, {**day, "event_types": ["$pageview", "custom"]})
    assert [tuple(n.values()) for n in answer["nodes"]] == [
        (1, "$pageview", 2), (2, "purchase", 1), (3, "signup", 1), (4, "$pageview", 1),
    ]  # fmt: skip
    assert _edges(answer) == [(1, "$pageview", "purchase", 1, 20.0), (2, "purchase", "signup", 1, 0.0),
                              (3, "signup", "$pageview", 1, 40.0)]  # fmt: skip
    assert [tuple(n.values()) for n in answer["dropoffs"]] == [(1, "$pageview", 1), (4, "$pageview", 1)]

    pages = {**day, "path_key": "pathname"}
    assert _edges(_post(tiny, pages)) == [(1, "/a", "/b", 1, 60.0), (1, "/a", "/c", 1, 30.0)]
    assert _edges(_post(tiny, {**pages, "exclude": ["/b"]})) == [(1, "/a", "/c", 1, 30.0)]
    assert _edges(_post(tiny, {**pages, "min_edge_users": 2})) == []
    assert _edges(_post(tiny, {**pages, "end_event": "/c", "steps": 2})) == [(1, "/a", "/c", 1, 30.0)]
    cleaned = _post(tiny, {**pages, "path_cleaning": [{"regex": "^/[bc]$", "alias": "/other-page"}]})
    assert _edges(cleaned) == [(1, "/a", "/other-page", 2, 45.0)]
    assert _post(tiny, {**day, "start_event": "signup", "event_types": ["custom"]})["nodes"] == [
        {"step": 1, "name": "signup", "users": 1}
    ]

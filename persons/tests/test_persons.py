"""Identity links and person properties, applied by the flush from any protocol."""

from __future__ import annotations

import json

import pytest

from events.partitions import forget_known_partitions
from ingestion.flush import drain
from persons.models import Person
from persons.selectors import person_get
from projects.tests.factories import ProjectFactory, ingest_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _partitions_cache():
    forget_known_partitions()
    yield
    forget_known_partitions()


@pytest.fixture
def project():
    return ProjectFactory()


def _send(client, project, events: list[dict]) -> None:
    key = ingest_key_for(project)
    response = client.post(
        "/api/v1/events",
        data=json.dumps({"events": events}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 202, response.content


def test_identify_links_anonymous_id_and_sets_properties(client, project):
    _send(
        client,
        project,
        [
            {"event": "$pageview", "user_id": "anon-1"},
            {
                "event": "$identify",
                "user_id": "u1",
                "properties": {"$anon_distinct_id": "anon-1", "$set": {"plan": "pro"}, "$set_once": {"first": "a"}},
            },
            {"event": "x", "user_id": "u1", "properties": {"$set_once": {"first": "b"}, "$set": {"plan": "team"}}},
        ],
    )
    drain(seconds=10)
    person = person_get(project_id=project.pk, distinct_id="anon-1")
    assert person["distinct_ids"] == ["anon-1", "u1"]
    assert person["properties"] == {"plan": "team", "first": "a"}  # $set_once keeps the first value


def test_merging_two_persons_keeps_one_with_all_ids(client, project):
    _send(
        client,
        project,
        [
            {"event": "$set", "user_id": "phone-anon", "properties": {"$set": {"device": "ios", "plan": "free"}}},
            {"event": "$set", "user_id": "u2", "properties": {"$set": {"plan": "pro"}}},
        ],
    )
    drain(seconds=10)
    assert Person.objects.filter(project_id=project.pk).count() == 2
    _send(
        client,
        project,
        [
            {"event": "$create_alias", "user_id": "u2", "properties": {"alias": "phone-anon"}},
        ],
    )
    drain(seconds=10)
    [person] = Person.objects.filter(project_id=project.pk)
    assert person_get(project_id=project.pk, distinct_id="phone-anon")["distinct_ids"] == ["phone-anon", "u2"]
    assert person.properties == {"device": "ios", "plan": "pro"}  # the identified person's values win


def test_replayed_identify_changes_nothing_and_projects_are_separate(client, project):
    other = ProjectFactory()
    identify = {
        "event": "$identify",
        "event_id": "7d7f4f36-3c59-4a0e-9d38-0b5dfb2f9b1a",
        "user_id": "u",
        "properties": {"$anon_distinct_id": "a"},
    }
    _send(client, project, [identify])
    _send(client, project, [identify])
    _send(client, other, [{**identify, "properties": {"$anon_distinct_id": "b"}}])
    drain(seconds=10)
    assert person_get(project_id=project.pk, distinct_id="u")["distinct_ids"] == ["a", "u"]
    assert person_get(project_id=other.pk, distinct_id="u")["distinct_ids"] == ["b", "u"]
    assert person_get(project_id=project.pk, distinct_id="b") is None


def test_server_made_anonymous_ids_are_never_linked(client, project):
    # No user_id: the id is a hash of IP and user agent, shared by everyone behind one NAT.
    _send(client, project, [{"event": "$identify", "properties": {"$anon_distinct_id": "x"}}])
    drain(seconds=10)
    assert Person.objects.filter(project_id=project.pk).count() == 0

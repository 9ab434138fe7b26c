"""The groups endpoints: types, a type's groups (search, pages), one group; 400 and 404."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from persons.groups import GroupOp, group_columns, groups_apply
from projects.tests.factories import ProjectFactory, read_key_for

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


@pytest.fixture
def project():
    project = ProjectFactory()
    companies = {f"co-{n:02d}": {"name": f"Company {n}", "tier": "gold" if n % 3 == 0 else "silver"} for n in range(25)}
    companies["Zeta/Labs"] = {"name": "Zeta Labs"}
    with connection.cursor() as cur:
        group_columns(cur, {project.pk: [{"company": "x", "team": "y"}]})  # company 0, team 1
    ops = [
        GroupOp(project.pk, str(uuid.uuid4()), n, "company", key, props)
        for n, (key, props) in enumerate(companies.items())
    ]
    ops.append(GroupOp(project.pk, str(uuid.uuid4()), 99, "team", "core", {"size": 4}))
    groups_apply(ops=ops, now=NOW)
    return project


def _client(project) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key_for(project)}")
    return client


def _url(project, path: str) -> str:
    return f"/api/v1/projects/{project.slug}/{path}"


def test_group_types(project):
    body = _client(project).get(_url(project, "groups/types")).json()
    assert body["results"] == [{"group_type": "company", "index": 0}, {"group_type": "team", "index": 1}]
    assert body["complete_until"]


def test_groups_are_listed_by_key_in_pages(project):
    client, keys, cursor = _client(project), [], None
    while True:
        params = {"type": "company", "limit": 10, **({"cursor": cursor} if cursor else {})}
        body = client.get(_url(project, "groups"), params).json()
        keys += [row["group_key"] for row in body["results"]]
        assert all(row["group_type"] == "company" for row in body["results"])
        cursor = body["next"]
        if cursor is None:
            break
    assert keys == sorted([f"co-{n:02d}" for n in range(25)] + ["Zeta/Labs"], key=lambda k: k.encode())
    assert len(keys) == 26


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("zeta", ["Zeta/Labs"]),  # the key, case-insensitive
        ("COMPANY 2", ["co-02", "co-20", "co-21", "co-22", "co-23", "co-24"]),  # a property value
        ("gold", ["co-00", "co-03", "co-06", "co-09", "co-12", "co-15", "co-18", "co-21", "co-24"]),
        ("tier", []),  # property names are not searched
        ("%", []),  # wildcards are literal
        ("", None),  # an empty box searches nothing: every group
    ],
)
def test_groups_search(project, search, expected):
    body = _client(project).get(_url(project, "groups"), {"type": "company", "search": search, "limit": 100}).json()
    keys = [row["group_key"] for row in body["results"]]
    assert keys == (expected if expected is not None else keys) and (expected is not None or len(keys) == 26)


def test_one_group(project):
    client = _client(project)
    body = client.get(_url(project, "groups/company/Zeta/Labs")).json()
    assert (body["group_type"], body["group_key"], body["properties"]) == (
        "company",
        "Zeta/Labs",
        {"name": "Zeta Labs"},
    )
    assert client.get(_url(project, "groups/team/core")).json()["properties"] == {"size": 4}
    missing = client.get(_url(project, "groups/company/nobody"))
    assert missing.status_code == 404
    assert client.get(_url(project, "groups/team/co-01")).status_code == 404  # a key of another type


@pytest.mark.parametrize("path", ["groups?type=planet", "groups", "groups/planet/acme", "groups?type=a%00b"])
def test_unknown_or_missing_type_is_400_naming_type(project, path):
    response = _client(project).get(_url(project, path))
    assert response.status_code == 400, response.content
    assert "type" in response.json()


def test_groups_of_another_project_are_not_seen(project):
    other = ProjectFactory()
    client = _client(other)
    assert client.get(_url(other, "groups/types")).json()["results"] == []
    assert client.get(_url(other, "groups"), {"type": "company"}).status_code == 400

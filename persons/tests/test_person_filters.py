"""Person filters and breakdowns follow identity: an anonymous id's events count for the person it
was linked to, with that person's properties.

Hand count. "anon-a" views 3 pages, then $identify links it to "user-a" with $set plan=pro, and
"user-a" views one more page. "b" identifies with plan=free and views one page. "c" views one page
and is no person at all. So, of page views: plan=pro 4 (3 anonymous), plan=free 1, unset 1; active
people with plan=pro: 1 (A, under two ids).
"""

from __future__ import annotations

import json

import pytest

from persons.tests.test_reporting_persons import DAY, _send, project  # noqa: F401 - the fixture
from projects.tests.factories import read_key_for

pytestmark = pytest.mark.django_db(transaction=True)


def _filter(operator: str, value: object = None) -> str:
    return json.dumps([{"type": "person", "key": "plan", "operator": operator, "value": value}])


def _get(client, of_project, path: str, **params) -> dict:
    response = client.get(
        f"/api/v1/projects/{of_project.slug}/{path}",
        {"from": DAY, "to": DAY, **params},
        HTTP_AUTHORIZATION=f"Bearer {read_key_for(of_project)}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_person_filters_and_breakdown_follow_identity(client, project):  # noqa: F811
    _send(
        client,
        project,
        [
            *[("$pageview", "anon-a", m, None) for m in range(3)],
            ("$identify", "user-a", 3, {"$anon_distinct_id": "anon-a", "$set": {"plan": "pro"}}),
            ("$pageview", "user-a", 4, None),
            ("$identify", "b", 5, {"$set": {"plan": "free"}}),
            ("$pageview", "b", 6, None),
            ("$pageview", "c", 7, None),
        ],
    )

    def dau(filters: str) -> int:
        return _get(client, project, "active-users", filters=filters)["results"][0]["users"]

    def pageviews(filters: str) -> int:
        body = _get(client, project, "trends", event="$pageview", filters=filters)
        return sum(point["value"] for point in body["series"][0]["data"])

    assert dau(_filter("exact", "pro")) == 1
    assert pageviews(_filter("exact", "pro")) == 4
    assert dau(_filter("is_not", "pro")) == 2  # B, and C who has no properties at all
    assert dau(_filter("is_not_set")) == 1
    assert pageviews(_filter("icontains", "FRE")) == 1
    body = _get(client, project, "trends", event="$pageview", breakdown="plan", breakdown_type="person")
    totals = {series["label"]: sum(p["value"] for p in series["data"]) for series in body["series"]}
    assert totals == {"pro": 4, "free": 1, "(none)": 1}
    users = _get(client, project, "trends", event="$pageview", math="users", breakdown="plan", breakdown_type="person")
    assert {s["label"]: sum(p["value"] for p in s["data"]) for s in users["series"]} == {
        "pro": 1,
        "free": 1,
        "(none)": 1,
    }

"""Stickiness, lifecycle and paths counting groups (``aggregation_group_type``), against the
persons' oracles (reporting/tests/engagement_oracle.py, reporting/tests/paths_oracle.py) run over
the events of a company as events of a "user" that is the company (test_group_reports' dataset:
committed, its days from layout-4 files, layout-3 files and PostgreSQL).
"""

from __future__ import annotations

import json

import pytest

from analytics.query.paths import CUSTOM, PathSpec
from reporting.tests import engagement_oracle, paths_oracle, test_group_reports
from reporting.tests.test_group_reports import FIRST, GROUP_FILTER_CASES, LAST, GroupTenant

pytestmark = pytest.mark.django_db

# The dataset fixture, set up again for this module (an assignment, so that pytest finds it here).
groups = test_group_reports.groups

PRO = [{"type": "event", "key": "plan", "operator": "exact", "value": "pro"}]


def _pro(e) -> bool:
    return e.properties["plan"] == "pro"


def _get(tenant, path: str, **params) -> list[dict]:
    response = tenant.client().get(tenant.url(path), params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _paths(tenant, body: dict) -> dict:
    """The answer's nodes, edges and drop-offs (not its complete_until, a time of the request)."""
    response = tenant.client().post(tenant.url("paths"), body, format="json")
    assert response.status_code == 200, response.content
    return {key: response.json()[key] for key in ("nodes", "edges", "dropoffs")}


@pytest.mark.parametrize("interval", ["day", "week"])
@pytest.mark.parametrize("filtered", [False, True])
def test_stickiness_of_companies(groups: GroupTenant, interval, filtered):
    tenant = groups.tenant
    params = {"event": "pageview", "from": FIRST, "to": LAST, "interval": interval}
    if filtered:
        params["filters"] = json.dumps(PRO)
    results = _get(tenant, "stickiness", **params, aggregation_group_type="company")
    expected = engagement_oracle.stickiness(
        groups.by_company(), tenant.tz, "pageview", FIRST, LAST, interval, str, _pro if filtered else lambda e: True
    )
    assert results == expected
    assert 0 < sum(row["persons"] for row in expected) <= 7  # companies, not the up to 30 users


@pytest.mark.parametrize("interval", ["day", "week"])
@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize("event", ["pageview", "purchase"])
def test_lifecycle_of_companies(groups: GroupTenant, interval, filtered, event):
    """Unfiltered, too, from the query layer: the rollups' bitmaps hold persons. A company is new
    in the interval of its first event of any name (purchase: mostly after its first pageview)."""
    tenant = groups.tenant
    later = FIRST.replace(day=4)  # a range starting after companies were first seen (few new)
    for first in (FIRST, later):
        params = {"event": event, "from": first, "to": LAST, "interval": interval}
        if filtered:
            params["filters"] = json.dumps(PRO)
        results = _get(tenant, "lifecycle", **params, aggregation_group_type="company")
        expected = engagement_oracle.lifecycle(
            groups.by_company(), tenant.tz, event, first, LAST, interval, str, _pro if filtered else lambda e: True
        )
        assert results == expected
        assert 0 < sum(row["new"] + row["returning"] + row["resurrecting"] for row in expected) <= 7 * 21


def test_lifecycle_of_companies_exercises_every_status(groups: GroupTenant):
    tenant = groups.tenant
    expected = engagement_oracle.lifecycle(groups.by_company(), tenant.tz, "purchase", FIRST, LAST, "day", str)
    for status in ("new", "returning", "resurrecting", "dormant"):
        assert any(row[status] for row in expected), status


PATH_CASES = {
    "first steps": {"event_types": [CUSTOM], "steps": 4},
    "from signup": {"event_types": [CUSTOM], "start_event": "signup", "steps": 3},
    "to purchase": {"event_types": [CUSTOM], "end_event": "purchase", "steps": 3},
}


def _spec(body: dict) -> PathSpec:
    return PathSpec(
        event_types=tuple(body["event_types"]),
        steps=body["steps"],
        start=body.get("start_event"),
        end=body.get("end_event"),
    )


@pytest.mark.parametrize("name", list(PATH_CASES))
@pytest.mark.parametrize("filtered", [False, True])
def test_paths_of_companies(groups: GroupTenant, name, filtered):
    """A company's path: the events of all its users, in time order."""
    tenant = groups.tenant
    body = {**PATH_CASES[name], "from": FIRST.isoformat(), "to": LAST.isoformat(), "aggregation_group_type": "company"}
    if filtered:
        body["filters"] = PRO
    keep = _pro if filtered else lambda e: True
    expected = paths_oracle.paths(groups.by_company(), tenant.tz, FIRST, LAST, _spec(body), str, keep)
    assert _paths(tenant, body) == expected
    assert 0 < sum(node["users"] for node in expected["nodes"] if node["step"] == 1) <= 7


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("get", "stickiness", {"event": "pageview"}),
        ("get", "lifecycle", {"event": "pageview"}),
        ("post", "paths", {"event_types": [CUSTOM]}),
    ],
)
@pytest.mark.parametrize("group_type", ["planet", "x" * 201])
def test_unknown_group_type_is_400_naming_aggregation_group_type(groups: GroupTenant, method, path, params,
                                                                 group_type):  # fmt: skip
    tenant = groups.tenant
    client = tenant.client()
    payload = {**params, "aggregation_group_type": group_type}
    if method == "get":
        response = client.get(tenant.url(path), payload)
    else:
        response = client.post(tenant.url(path), payload, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["aggregation_group_type"]


# Group-property filters (a property of the event's group, test_group_reports' cases): a gold
# company's events, a negation (keeps events of no company and of co-6, never identified), and a
# filter on teams, another type than the counted one.
ENGAGEMENT_FILTER_CASES = [GROUP_FILTER_CASES[i] for i in (0, 1, 4)]


def _kept(groups: GroupTenant, keeps, counted: str | None) -> tuple[list, object]:
    """The oracle's events (the companies' view when they are counted) and the filter's predicate."""
    events = groups.by_company() if counted else groups.tenant.events
    return events, lambda e: keeps(groups, e)


@pytest.mark.parametrize(("leaf", "keeps"), ENGAGEMENT_FILTER_CASES)
@pytest.mark.parametrize("counted", [None, "company"])
def test_group_filters_in_stickiness(groups: GroupTenant, leaf, keeps, counted):
    tenant = groups.tenant
    params = {"event": "pageview", "from": FIRST, "to": LAST, "interval": "day", "filters": json.dumps([leaf])}
    if counted:
        params["aggregation_group_type"] = counted
    events, keep = _kept(groups, keeps, counted)
    expected = engagement_oracle.stickiness(events, tenant.tz, "pageview", FIRST, LAST, "day", str, keep)
    assert _get(tenant, "stickiness", **params) == expected
    assert sum(row["persons"] for row in expected) > 0


@pytest.mark.parametrize(("leaf", "keeps"), ENGAGEMENT_FILTER_CASES)
@pytest.mark.parametrize("counted", [None, "company"])
def test_group_filters_in_lifecycle(groups: GroupTenant, leaf, keeps, counted):
    """Never from the rollups (their bitmaps know no groups): new is still by the first event of
    any name, unfiltered, and a range starting later has persons seen before it."""
    tenant = groups.tenant
    events, keep = _kept(groups, keeps, counted)
    for first in (FIRST, FIRST.replace(day=4)):
        params = {"event": "pageview", "from": first, "to": LAST, "interval": "day", "filters": json.dumps([leaf])}
        if counted:
            params["aggregation_group_type"] = counted
        expected = engagement_oracle.lifecycle(events, tenant.tz, "pageview", first, LAST, "day", str, keep)
        assert _get(tenant, "lifecycle", **params) == expected
        assert sum(row["returning"] + row["resurrecting"] for row in expected) > 0


@pytest.mark.parametrize(("leaf", "keeps"), ENGAGEMENT_FILTER_CASES)
@pytest.mark.parametrize("counted", [None, "company"])
def test_group_filters_in_paths(groups: GroupTenant, leaf, keeps, counted):
    tenant = groups.tenant
    body = {**PATH_CASES["first steps"], "from": FIRST.isoformat(), "to": LAST.isoformat(), "filters": [leaf]}
    if counted:
        body["aggregation_group_type"] = counted
    events, keep = _kept(groups, keeps, counted)
    expected = paths_oracle.paths(events, tenant.tz, FIRST, LAST, _spec(body), str, keep)
    assert _paths(tenant, body) == expected
    assert sum(node["users"] for node in expected["nodes"] if node["step"] == 1) > 0


def test_group_filters_change_the_answer(groups: GroupTenant):
    """The filter is applied, not ignored: a gold company's stickiness differs from everyone's."""
    tenant = groups.tenant
    params = {"event": "pageview", "from": FIRST, "to": LAST, "aggregation_group_type": "company"}
    leaf = ENGAGEMENT_FILTER_CASES[0][0]
    assert _get(tenant, "stickiness", **params, filters=json.dumps([leaf])) != _get(tenant, "stickiness", **params)


# Last in the module: the merges stay until it ends.
def _answers(tenant, **extra) -> tuple:
    """Stickiness, lifecycle and paths of pageview over the range, through the API."""
    params = {"event": "pageview", "from": FIRST, "to": LAST, **extra}
    body = {"event_types": [CUSTOM], "from": FIRST.isoformat(), "to": LAST.isoformat(), **extra}
    return _get(tenant, "stickiness", **params), _get(tenant, "lifecycle", **params), _paths(tenant, body)


@pytest.fixture(scope="module")
def merged(groups: GroupTenant, django_db_blocker):
    """Users of different companies merged into persons (committed: DuckDB reads the links);
    yields the answers from before the merge, of persons and of companies."""
    tenant = groups.tenant
    with django_db_blocker.unblock():
        before = (_answers(tenant), _answers(tenant, aggregation_group_type="company"))
        with test_group_reports.users_of_companies_merged(tenant):
            yield before


def test_merging_persons_changes_persons_not_companies(groups: GroupTenant, merged):
    tenant = groups.tenant
    persons_before, companies_before = merged
    persons_after = _answers(tenant)
    assert all(after != before for after, before in zip(persons_after, persons_before, strict=True))
    assert _answers(tenant, aggregation_group_type="company") == companies_before
    by_company = groups.by_company()
    stickiness, lifecycle, paths = companies_before
    assert stickiness == engagement_oracle.stickiness(by_company, tenant.tz, "pageview", FIRST, LAST, "day", str)
    assert lifecycle == engagement_oracle.lifecycle(by_company, tenant.tz, "pageview", FIRST, LAST, "day", str)
    assert paths == paths_oracle.paths(by_company, tenant.tz, FIRST, LAST, _spec({"event_types": [CUSTOM], "steps": 5}))

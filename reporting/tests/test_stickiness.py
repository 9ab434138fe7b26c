"""Stickiness against the plain-Python oracle: two time zones (one over a DST change), late events,
duplicates, ids merged into persons, filters; and the 400s of bad input."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reporting.tests import engagement_oracle
from reporting.tests.test_filtered_reports import FILTERS, _kept

pytestmark = pytest.mark.django_db

RANGES = [(dt.date(2024, 2, 22), dt.date(2024, 3, 21)), (dt.date(2024, 3, 1), dt.date(2024, 3, 24))]


@pytest.fixture(params=["ny", "kolkata"])
def tenant(request, merged_dataset):
    return getattr(merged_dataset, request.param)


def _get(tenant, **params):
    response = tenant.client().get(tenant.url("stickiness"), params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["complete_until"]
    return body


@pytest.mark.parametrize("interval", ["day", "week"])
@pytest.mark.parametrize("event", ["pageview", "purchase"])
@pytest.mark.parametrize("first,last", RANGES)
def test_stickiness(tenant, interval, event, first, last, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        body = _get(tenant, event=event, interval=interval, **{"from": first, "to": last})
    expected = engagement_oracle.stickiness(tenant.events, tenant.tz, event, first, last, interval, tenant.person_of)
    assert body["results"] == expected
    assert sum(row["persons"] for row in expected) > 0


@pytest.mark.parametrize("name", ["plan is a", "ios, path set", "docs or n>1", "no such key"])
@pytest.mark.parametrize("interval", ["day", "week"])
def test_stickiness_filtered(tenant, name, interval):
    first, last = RANGES[0]
    event = "signup" if name == "plan is a" else "pageview"
    raw = FILTERS[name]
    body = _get(tenant, event=event, interval=interval, filters=json.dumps(raw), **{"from": first, "to": last})
    kept = {id(e) for e in _kept(tenant, raw)}
    assert body["results"] == engagement_oracle.stickiness(
        tenant.events, tenant.tz, event, first, last, interval, tenant.person_of, keep=lambda e: id(e) in kept
    )


def test_a_merged_person_counts_once(merged_dataset):
    """Two ids of one person active on different days are one person with two days, not two with one."""
    tenant = merged_dataset.ny
    first, last = RANGES[0]
    by_id = engagement_oracle.stickiness(tenant.events, tenant.tz, "pageview", first, last, "day", str)
    by_person = engagement_oracle.stickiness(tenant.events, tenant.tz, "pageview", first, last, "day", tenant.person_of)
    assert by_id != by_person  # the merges matter to this question
    assert _get(tenant, event="pageview", **{"from": first, "to": last})["results"] == by_person


def test_rows_for_every_interval_count_and_the_week_rule(merged_dataset):
    """A Thursday-to-Thursday range is five Monday weeks (the first read from its Monday): k = 1..5."""
    tenant = merged_dataset.kolkata
    body = _get(tenant, event="pageview", interval="week", **{"from": "2024-02-22", "to": "2024-03-21"})
    assert [row["intervals"] for row in body["results"]] == [1, 2, 3, 4, 5]
    body = _get(tenant, event="pageview", interval="day", **{"from": "2024-03-01", "to": "2024-03-01"})
    assert [row["intervals"] for row in body["results"]] == [1]


@pytest.mark.parametrize("interval", ["day", "week"])
def test_stickiness_of_a_cohort(tenant, interval):
    """A cohort filter keeps its members' events, under every id of a merged member."""
    cohort_id, members = tenant.cohort
    first, last = RANGES[1]
    raw = [{"type": "cohort", "value": cohort_id}]
    body = _get(tenant, event="pageview", interval=interval, filters=json.dumps(raw), **{"from": first, "to": last})
    expected = engagement_oracle.stickiness(
        tenant.events, tenant.tz, "pageview", first, last, interval, tenant.person_of,
        keep=lambda e: tenant.person_of(e.user_id) in members,
    )  # fmt: skip
    assert body["results"] == expected
    assert (
        body["results"] != _get(tenant, event="pageview", interval=interval, **{"from": first, "to": last})["results"]
    )


def test_no_data_is_an_empty_answer(merged_dataset):
    tenant = merged_dataset.ny
    body = _get(tenant, event="pageview", interval="week", **{"from": "2023-01-02", "to": "2023-01-15"})
    assert body["results"] == [{"intervals": 1, "persons": 0}, {"intervals": 2, "persons": 0}]


@pytest.mark.parametrize(
    "params,field",
    [
        ({"from": "2024-02-22", "to": "2024-03-01"}, "event"),
        ({"event": "nope", "from": "2024-02-22", "to": "2024-03-01"}, "event"),
        ({"event": "pageview", "interval": "month"}, "interval"),
        ({"event": "pageview", "interval": "hour"}, "interval"),
        ({"event": "pageview", "from": "2024-03-02", "to": "2024-03-01"}, "from"),
        ({"event": "pageview", "from": "22/02/2024"}, "from"),
        ({"event": "pageview", "to": "2024-13-01"}, "to"),
        ({"event": "pageview", "from": "2024-01-01", "to": "2024-06-01"}, "to"),
        ({"event": "pageview", "filters": '[{"type": "event", "key": "a", "operator": "equals"}]'}, "filters"),
        ({"event": "pageview", "filters": "not json"}, "filters"),
    ],
)
def test_bad_input_is_400_naming_the_parameter(merged_dataset, params, field):
    tenant = merged_dataset.ny
    response = tenant.client().get(tenant.url("stickiness"), params)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]

"""Lifecycle against the plain-Python oracle: two time zones (one over a DST change), intervals
whose edges are local midnights, history before ``from``, late events, duplicates, ids merged into
persons, filters; and the 400s of bad input."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reporting.tests import engagement_oracle
from reporting.tests.test_filtered_reports import FILTERS, _kept

pytestmark = pytest.mark.django_db

# The second range starts well after the data does: its first interval needs the history before it.
RANGES = [(dt.date(2024, 2, 22), dt.date(2024, 3, 21)), (dt.date(2024, 3, 6), dt.date(2024, 3, 25))]


@pytest.fixture(params=["ny", "kolkata"])
def tenant(request, merged_dataset):
    return getattr(merged_dataset, request.param)


def _get(tenant, **params):
    response = tenant.client().get(tenant.url("lifecycle"), params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["complete_until"]
    return body


@pytest.mark.parametrize("interval", ["day", "week", "month"])
@pytest.mark.parametrize("event", ["pageview", "purchase"])
@pytest.mark.parametrize("first,last", RANGES)
def test_lifecycle(tenant, interval, event, first, last, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        body = _get(tenant, event=event, interval=interval, **{"from": first, "to": last})
    expected = engagement_oracle.lifecycle(tenant.events, tenant.tz, event, first, last, interval, tenant.person_of)
    assert body["results"] == expected
    assert any(row["new"] + row["returning"] + row["resurrecting"] for row in expected)


@pytest.mark.parametrize("first,last", RANGES)
def test_every_status_occurs_in_daily_pageviews(tenant, first, last):
    """So that the comparisons above compare something in each column."""
    rows = _get(tenant, event="pageview", **{"from": first, "to": last})["results"]
    for status in ("new", "returning", "resurrecting", "dormant"):
        assert any(row[status] for row in rows), status


@pytest.mark.parametrize("name", ["plan is a", "ios, path set", "docs or n>1", "no such key"])
@pytest.mark.parametrize("interval", ["day", "week"])
def test_lifecycle_filtered(tenant, name, interval):
    """Filters narrow what makes a person active; "new" stays their first event of all."""
    first, last = RANGES[1]
    event = "signup" if name == "plan is a" else "pageview"
    raw = FILTERS[name]
    body = _get(tenant, event=event, interval=interval, filters=json.dumps(raw), **{"from": first, "to": last})
    kept = {id(e) for e in _kept(tenant, raw)}
    assert body["results"] == engagement_oracle.lifecycle(
        tenant.events, tenant.tz, event, first, last, interval, tenant.person_of, keep=lambda e: id(e) in kept
    )


def test_merged_ids_are_one_person_first_seen_under_any_id(merged_dataset):
    tenant = merged_dataset.kolkata
    first, last = RANGES[0]
    by_id = engagement_oracle.lifecycle(tenant.events, tenant.tz, "pageview", first, last, "day", str)
    by_person = engagement_oracle.lifecycle(tenant.events, tenant.tz, "pageview", first, last, "day", tenant.person_of)
    assert by_id != by_person  # the merges matter to this question
    assert _get(tenant, event="pageview", **{"from": first, "to": last})["results"] == by_person


@pytest.mark.parametrize("interval", ["day", "week"])
def test_lifecycle_of_a_cohort(tenant, interval):
    """A cohort filter keeps its members' events, under every id of a merged member."""
    cohort_id, members = tenant.cohort
    first, last = RANGES[1]
    raw = [{"type": "cohort", "value": cohort_id}]
    body = _get(tenant, event="pageview", interval=interval, filters=json.dumps(raw), **{"from": first, "to": last})
    expected = engagement_oracle.lifecycle(
        tenant.events, tenant.tz, "pageview", first, last, interval, tenant.person_of,
        keep=lambda e: tenant.person_of(e.user_id) in members,
    )  # fmt: skip
    assert body["results"] == expected
    assert (
        body["results"] != _get(tenant, event="pageview", interval=interval, **{"from": first, "to": last})["results"]
    )


def test_no_data_is_an_empty_answer(merged_dataset):
    tenant = merged_dataset.ny
    body = _get(tenant, event="pageview", interval="week", **{"from": "2023-01-04", "to": "2023-01-10"})
    zero = {"new": 0, "returning": 0, "resurrecting": 0, "dormant": 0}
    assert body["results"] == [{"date": "2023-01-02", **zero}, {"date": "2023-01-09", **zero}]


@pytest.mark.parametrize(
    "params,field",
    [
        ({"from": "2024-02-22", "to": "2024-03-01"}, "event"),
        ({"event": "nope"}, "event"),
        ({"event": "pageview", "interval": "year"}, "interval"),
        ({"event": "pageview", "interval": "hour"}, "interval"),
        ({"event": "pageview", "from": "2024-03-02", "to": "2024-03-01"}, "from"),
        ({"event": "pageview", "from": "0001-01-01"}, "from"),
        ({"event": "pageview", "to": "tomorrow"}, "to"),
        ({"event": "pageview", "interval": "week", "from": "2024-01-01", "to": "2024-06-01"}, "to"),
        ({"event": "pageview", "interval": "month", "from": "2023-01-01", "to": "2024-06-01"}, "to"),
        ({"event": "pageview", "filters": '[{"type": "cohort", "value": 999999}]'}, "filters"),
    ],
)
def test_bad_input_is_400_naming_the_parameter(merged_dataset, params, field):
    tenant = merged_dataset.ny
    response = tenant.client().get(tenant.url("lifecycle"), params)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


def test_a_year_of_monthly_lifecycle_is_accepted(merged_dataset):
    tenant = merged_dataset.ny
    body = _get(tenant, event="pageview", interval="month", **{"from": "2023-04-01", "to": "2024-03-31"})
    assert len(body["results"]) == 12
    assert (
        body["results"][-1]
        == engagement_oracle.lifecycle(
            tenant.events, tenant.tz, "pageview", dt.date(2024, 3, 1), dt.date(2024, 3, 31), "month", tenant.person_of
        )[0]
    )

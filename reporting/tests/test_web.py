"""The web overview, live view and goals, each number checked against web_oracle's plain Python."""

from __future__ import annotations

import datetime as dt

import pytest

from reporting.tests import web_oracle
from reporting.tests.conftest import FIRST_DAY

pytestmark = pytest.mark.django_db

FIRST = FIRST_DAY + dt.timedelta(days=12)
LAST = FIRST_DAY + dt.timedelta(days=29)  # 18 days; the period before starts before the data

GOALS = [
    {"name": "Checkout", "kind": "pageview", "path": "/checkout/*"},
    {"name": "Docs home", "kind": "pageview", "path": "/docs"},
    {
        "name": "Pro signup",
        "kind": "event",
        "event": "signup",
        "filters": [{"type": "event", "key": "plan", "operator": "exact", "value": "pro"}],
    },
    {
        "name": "Big mobile signup",
        "kind": "event",
        "event": "signup",
        "filters": [
            {"type": "event", "key": "amount", "operator": "gt", "value": 10},
            {"type": "column", "key": "device_type", "operator": "is_not", "value": "desktop"},
        ],
    },
]
GOAL_MATCH = {
    "Pro signup": lambda e: e.properties.get("plan") == "pro",
    "Big mobile signup": lambda e: (
        isinstance(e.properties.get("amount"), int)
        and e.properties["amount"] > 10
        and e.web.get("device_type") != "desktop"
    ),
}

FILTERS = {
    "none": (None, lambda e: True),
    "country": (
        '[{"type": "column", "key": "country", "operator": "exact", "value": ["US", "DE"]}]',
        lambda e: e.web.get("country") in ("US", "DE"),
    ),
    "property": (
        '[{"type": "event", "key": "path", "operator": "is_set"}]',
        lambda e: e.properties.get("path") is not None,
    ),
}


def _goals(tenant) -> list[dict]:
    out = []
    for spec in GOALS:
        response = tenant.client().post(tenant.url("goals"), spec, format="json")
        assert response.status_code == 201, response.content
        out.append({**spec, "id": response.json()["id"], "match": GOAL_MATCH.get(spec["name"])})
    return out


@pytest.mark.parametrize("which", ["ny", "kolkata"])
@pytest.mark.parametrize("filtered", list(FILTERS))
def test_overview_matches_plain_python(web_dataset, which, filtered):
    tenant = getattr(web_dataset, which)
    goals = _goals(tenant)
    text, keep = FILTERS[filtered]
    params = {"from": FIRST.isoformat(), "to": LAST.isoformat(), "compare": "true", "limit": 5}
    if text:
        params["filters"] = text
    response = tenant.client().get(tenant.url("web"), params)
    assert response.status_code == 200, response.content
    body = response.json()
    want = web_oracle.overview(tenant.events, tenant.tz, FIRST, LAST, keep, goals=goals, limit=5)
    for key, value in want["numbers"].items():
        assert body[key] == value, key
    before = FIRST - (LAST - FIRST) - dt.timedelta(days=1), FIRST - dt.timedelta(days=1)
    assert body["compare"] == web_oracle.numbers(tenant.events, tenant.tz, *before, keep)
    assert body["compare"]["visits"] > 0
    assert body["series"] == want["series"]
    for name in (
        "pages",
        "entry_pages",
        "exit_pages",
        "referrers",
        "channels",
        "utm_sources",
        "utm_campaigns",
        "countries",
        "devices",
        "browsers",
        "os",
        "goals",
    ):
        assert body[name] == want[name], name
    assert body["bounce_rate"] > 0 and body["visit_duration_seconds"] > 0
    assert all(row["value"] != "bot" for row in body["devices"])
    assert any(row["conversions"] for row in body["goals"])
    assert body["complete_until"]


def test_overview_without_compare_and_limit(web_dataset):
    tenant = web_dataset.ny
    body = tenant.client().get(tenant.url("web"), {"from": FIRST.isoformat(), "to": LAST.isoformat()}).json()
    assert body["compare"] is None and body["goals"] == []
    assert len(body["pages"]) == len(web_oracle.PATHS)  # every path fits in the default 20
    want = web_oracle.overview(tenant.events, tenant.tz, FIRST, LAST, lambda e: True, goals=[], limit=20)
    assert body["pages"] == want["pages"] and body["referrers"] == want["referrers"]

"""Filtered reports against the plain-Python oracle: the same events, kept by the contract's reference.

The dataset (conftest.py) has two time zones, late events and duplicates; a filter sends each report
through the query layer (DuckDB over the events), never through the rollups.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analytics.query.filters import filters_parse
from analytics.query.tests.reference import row_matches, text_of
from reporting.tests import oracle
from reporting.tests.test_reports import FROM, TO, _get

pytestmark = pytest.mark.django_db

FILTERS = {
    "plan is a": [{"type": "event", "key": "plan", "operator": "exact", "value": "a"}],
    "ios, path set": [
        {"type": "column", "key": "source", "operator": "exact", "value": "ios"},
        {"type": "event", "key": "path", "operator": "is_set"},
    ],
    "docs or n>1": [
        {
            "any": [
                {"type": "event", "key": "path", "operator": "icontains", "value": "DOC"},
                {"type": "event", "key": "n", "operator": "gt", "value": 1},
            ]
        }
    ],
    "not /a-/e": [{"type": "event", "key": "path", "operator": "not_regex", "value": "^/[a-e]$"}],
    "no such key": [{"type": "event", "key": "nope", "operator": "exact", "value": "x"}],
}


@pytest.fixture(params=["ny", "kolkata"])
def tenant(request, dataset):
    return getattr(dataset, request.param)


def _kept(tenant, raw: list) -> list:
    filters = filters_parse(raw)
    return [e for e in tenant.events if row_matches(filters, _row(e), None, tenant.tz)]


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("interval", ["day", "week"])
def test_active_users_filtered(tenant, name, interval):
    raw = FILTERS[name]
    body = _get(tenant, "active-users", **{"from": FROM, "to": TO, "interval": interval, "filters": json.dumps(raw)})
    assert body["results"] == oracle.active_users(_kept(tenant, raw), tenant.tz, FROM, TO, interval)


@pytest.mark.parametrize("name", list(FILTERS))
def test_top_events_filtered(tenant, name):
    raw = FILTERS[name]
    body = _get(tenant, "top-events", **{"from": FROM, "to": TO, "limit": 5, "filters": json.dumps(raw)})
    assert body["results"] == oracle.top_events(_kept(tenant, raw), tenant.tz, FROM, TO, 5)


@pytest.mark.parametrize(
    ("name", "event", "interval", "math", "breakdown"),
    [
        ("ios, path set", "pageview", "day", "total", None),
        ("docs or n>1", "pageview", "week", "users", None),
        ("plan is a", "signup", "hour", "users", None),
        ("ios, path set", "pageview", "day", "total", "path"),
        ("not /a-/e", "pageview", "month", "users", "path"),
        ("plan is a", "purchase", "day", "total", "plan"),
        ("no such key", "pageview", "day", "total", None),
    ],
)
def test_trends_filtered(tenant, name, event, interval, math, breakdown):
    raw = FILTERS[name]
    to = FROM + dt.timedelta(days=20) if interval == "hour" else TO
    params = {"event": event, "from": FROM, "to": to, "interval": interval, "math": math, "filters": json.dumps(raw)}
    if breakdown:
        params["breakdown"] = breakdown
    body = _get(tenant, "trends", **params)
    expected = oracle.trends(_kept(tenant, raw), tenant.tz, event, FROM, to, interval, math, breakdown)
    assert body["series"] == expected


def _row(e) -> dict:
    return {"event_name": e.event_name, "source": e.source, "user_id": e.user_id, "session_id": e.session_id,
            "properties": e.properties}  # fmt: skip


@pytest.mark.parametrize("name", ["ios, path set", "no such key", None])
def test_funnel_with_global_and_step_filters(tenant, name):
    raw = FILTERS[name] if name else []
    plan_a = [{"type": "event", "key": "plan", "operator": "is_not", "value": ["b", "c"]}]
    steps = ["pageview", {"event": "signup", "filters": plan_a}, "purchase"]
    response = tenant.client().post(
        tenant.url("funnels"),
        {"steps": steps, "from": FROM.isoformat(), "to": TO.isoformat(), "window_hours": 48, "filters": raw},
        format="json",
    )
    assert response.status_code == 200, response.content
    step_filters = filters_parse(plan_a)
    matchers = [
        "pageview",
        lambda e: e.event_name == "signup" and row_matches(step_filters, _row(e), None, tenant.tz),
        "purchase",
    ]
    expected = oracle.funnel(_kept(tenant, raw), tenant.tz, matchers, FROM, TO, 48)
    assert [r["users"] for r in response.json()["results"]] == expected
    assert [r["event"] for r in response.json()["results"]] == ["pageview", "signup", "purchase"]


def _step_matcher(tenant, step: dict):
    step_filters = filters_parse(step["filters"])
    return lambda e: e.event_name == step["event"] and row_matches(step_filters, _row(e), None, tenant.tz)


@pytest.mark.parametrize(
    "steps",
    [
        ["pageview", "pageview"],
        ["pageview", "pageview", "pageview", "purchase"],
        ["pageview", "signup", "pageview"],
        ["pageview", {"event": "pageview", "filters": FILTERS["docs or n>1"]}],
    ],
)
def test_funnel_steps_naming_the_same_event_need_distinct_events(tenant, steps):
    """Two steps naming the same event are two events (a later one each time), not one counted twice."""
    response = tenant.client().post(
        tenant.url("funnels"),
        {"steps": steps, "from": FROM.isoformat(), "to": TO.isoformat(), "window_hours": 24},
        format="json",
    )
    assert response.status_code == 200, response.content
    matchers = [step if isinstance(step, str) else _step_matcher(tenant, step) for step in steps]
    expected = oracle.funnel(tenant.events, tenant.tz, matchers, FROM, TO, 24, distinct_events=True)
    got = [r["users"] for r in response.json()["results"]]
    assert got == expected
    assert got[1] < got[0]  # not everyone who viewed a page viewed a second one


@pytest.mark.parametrize("name", ["ios, path set", None])
@pytest.mark.parametrize("events", ["signup then purchase", "any then plan a"])
def test_retention_cohorts_with_start_and_return_events(tenant, name, events):
    raw = FILTERS[name] if name else []
    plan_a = [{"type": "event", "key": "plan", "operator": "exact", "value": "a"}]
    params = {"from": FROM, "to": TO, "period": "week", "filters": json.dumps(raw)}
    if events == "signup then purchase":
        params |= {"start_event": "signup", "return_event": "purchase"}
        start, returns = (lambda e: e.event_name == "signup"), (lambda e: e.event_name == "purchase")
    else:
        params |= {"return_filters": json.dumps(plan_a)}
        kept = filters_parse(plan_a)
        start, returns = None, (lambda e: row_matches(kept, _row(e), None, tenant.tz))
    body = _get(tenant, "retention/cohorts", **params)
    starts = [FROM + dt.timedelta(days=7 * i) for i in range(((TO - FROM).days // 7) + 1)]
    expected = oracle.cohort_table(_kept(tenant, raw), tenant.tz, starts, len(starts), "week", TO, start, returns)
    assert body["results"] == expected


def test_retention_with_a_filter(tenant):
    raw = FILTERS["docs or n>1"]
    start = dt.date(2024, 2, 26)
    body = _get(tenant, "retention", start_date=start, windows=3, period="week", filters=json.dumps(raw))
    last = start + dt.timedelta(days=7 * 4 - 1)
    expected = oracle.cohort_table(_kept(tenant, raw), tenant.tz, [start], 3, "week", last)[0]
    assert {k: body[k] for k in expected} == expected


@pytest.mark.parametrize("name", ["ios, path set", "plan is a"])
def test_sessions_filtered(tenant, name):
    raw = FILTERS[name]
    body = _get(tenant, "sessions", **{"from": FROM, "to": TO, "filters": json.dumps(raw)})
    assert body["results"] == oracle.sessions(_kept(tenant, raw), tenant.tz, FROM, TO)


def test_export_pages_and_streams_filtered(tenant):
    raw = FILTERS["docs or n>1"]
    expected = sorted(
        oracle.in_range(_kept(tenant, raw), tenant.tz, FROM, TO), key=lambda e: (e.timestamp, str(e.event_id))
    )
    got, cursor = [], None
    while True:
        params = {"from": FROM, "to": TO, "limit": 70, "filters": json.dumps(raw)} | (
            {"cursor": cursor} if cursor else {}
        )
        body = _get(tenant, "events", **params)
        got += body["results"]
        cursor = body["next"]
        if not cursor:
            break
    assert [r["event_id"] for r in got] == [str(e.event_id) for e in expected]
    assert [r["properties"] for r in got] == [e.properties for e in expected]
    assert [dt.datetime.fromisoformat(r["timestamp"]) for r in got] == [e.timestamp for e in expected]
    response = tenant.client().get(
        tenant.url("events"), {"from": FROM, "to": TO, "format": "ndjson", "filters": json.dumps(raw)}
    )
    assert response.status_code == 200
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [r["event_id"] for r in lines] == [str(e.event_id) for e in expected]


def test_users_filtered(tenant):
    raw = FILTERS["plan is a"]
    got, cursor = [], None
    while True:
        body = _get(tenant, "users", limit=7, filters=json.dumps(raw), **({"cursor": cursor} if cursor else {}))
        got += [row["user_id"] for row in body["results"]]
        cursor = body["next"]
        if not cursor:
            break
    assert sorted(got) == sorted({e.user_id for e in _kept(tenant, raw)})
    assert len(got) == len(set(got))


def test_unfiltered_and_empty_filters_agree(tenant):
    params = {"event": "pageview", "from": FROM, "to": TO, "math": "users", "breakdown": "path"}
    assert _get(tenant, "trends", **params)["series"] == _get(tenant, "trends", **params, filters="[]")["series"]


@pytest.mark.parametrize(
    ("path", "params", "says"),
    [
        ("active-users", {"filters": "[{"}, "filters: is not valid JSON"),
        ("top-events", {"filters": json.dumps([{"type": "event", "key": "x", "operator": "eq"}])},
         "filters[0]: unknown operator 'eq'"),
        ("trends", {"event": "pageview", "filters": json.dumps([{"type": "cohort", "value": 1}])},
         "filters[0]: unknown cohort 1"),
        ("trends", {"event": "pageview", "breakdown": "browsers", "breakdown_type": "column"},
         "unknown column 'browsers'"),
        ("funnels", {"steps": ["pageview", {"event": "signup", "filters": [{"type": "x"}]}]},
         "filters[0]: unknown type 'x'"),
    ],
)  # fmt: skip
def test_bad_filters_are_400_naming_the_filter(dataset, path, params, says):
    tenant = dataset.ny
    if path == "funnels":
        response = tenant.client().post(tenant.url(path), params, format="json")
    else:
        response = tenant.client().get(tenant.url(path), params)
    assert response.status_code == 400, response.content
    assert says in json.dumps(response.json())


def _funnel_paths(events, tz, steps, first, last, window_hours) -> dict[str, list[dt.datetime]]:
    """Per person: the step times of their deepest path, the earliest start among equals."""
    window = dt.timedelta(hours=window_hours)
    by_user: dict[str, list] = {}
    for e in oracle.in_range(events, tz, first, last):
        if e.event_name in steps:
            by_user.setdefault(e.user_id, []).append(e)
    out = {}
    for user, evs in by_user.items():
        evs.sort(key=lambda e: e.timestamp)
        best: list[dt.datetime] = []
        for start in (e for e in evs if e.event_name == steps[0]):
            path = [start.timestamp]
            for step in steps[1:]:
                nxt = [e.timestamp for e in evs if e.event_name == step and e.timestamp >= path[-1]]
                if not nxt or min(nxt) > start.timestamp + window:
                    break
                path.append(min(nxt))
            if len(path) > len(best):
                best = path
        if best:
            out[user] = best
    return out


def test_funnel_conversion_times_and_histogram(tenant):
    steps = ["pageview", "signup", "purchase"]
    response = tenant.client().post(
        tenant.url("funnels"),
        {"steps": steps, "from": FROM.isoformat(), "to": TO.isoformat(), "window_hours": 72},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    paths = _funnel_paths(tenant.events, tenant.tz, steps, FROM, TO, 72)
    for k, row in enumerate(body["results"]):
        if k == 0:
            assert row["average_conversion_seconds"] is None and row["median_conversion_seconds"] is None
            continue
        gaps = sorted((p[k] - p[k - 1]).total_seconds() for p in paths.values() if len(p) > k)
        assert row["users"] == len(gaps)
        assert row["average_conversion_seconds"] == pytest.approx(round(sum(gaps) / len(gaps), 3), abs=1e-3)
        lo, hi = (len(gaps) - 1) // 2, len(gaps) // 2
        median = (gaps[lo] + gaps[hi]) / 2
        assert row["median_conversion_seconds"] == pytest.approx(round(median, 3), abs=1e-3)
    done = [(p[-1] - p[0]).total_seconds() for p in paths.values() if len(p) == len(steps)]
    width = max(done) / 10
    bins = [0] * 10
    for seconds in done:
        bins[min(int(seconds // width), 9)] += 1
    assert [b["persons"] for b in body["time_to_convert"]] == bins
    assert body["time_to_convert"][-1]["to_seconds"] == pytest.approx(max(done), abs=1e-3)


def _funnel_by_start_value(tenant, steps, window_hours, value_of, limit):
    """Expected breakdown: each value's funnel counts only paths whose step-1 event has that value."""
    starts = [e for e in oracle.in_range(tenant.events, tenant.tz, FROM, TO) if e.event_name == steps[0]]
    persons: dict = {}
    for e in starts:
        persons.setdefault(value_of(e), set()).add(e.user_id)
    ranked = sorted(persons, key=lambda v: (-len(persons[v]), v is None, v or ""))[:limit]
    label = lambda v: ("(none)" if v is None else v) if v in ranked else "other"  # noqa: E731
    out: dict = {}
    for name in {label(v) for v in persons}:
        matchers = [lambda e, name=name: e.event_name == steps[0] and label(value_of(e)) == name, *steps[1:]]
        out[name] = oracle.funnel(tenant.events, tenant.tz, matchers, FROM, TO, window_hours)
    return sorted(out.items(), key=lambda item: (item[0] == "other", -item[1][0], item[0]))


@pytest.mark.parametrize(
    ("steps", "breakdown", "limit"),
    [
        (["signup", "purchase"], {"type": "event", "key": "plan"}, 2),
        (["pageview", "signup", "purchase"], {"type": "column", "key": "source"}, 10),
        (["pageview", "signup"], {"type": "event", "key": "n"}, 10),
    ],
)
def test_funnel_breakdown(tenant, steps, breakdown, limit):
    body = {"steps": steps, "from": FROM.isoformat(), "to": TO.isoformat(), "window_hours": 24,
            "breakdown": breakdown, "breakdown_limit": limit}  # fmt: skip
    response = tenant.client().post(tenant.url("funnels"), body, format="json")
    assert response.status_code == 200, response.content
    if breakdown["type"] == "column":
        value_of = lambda e: e.source  # noqa: E731
    else:
        value_of = lambda e: text_of(e.properties.get(breakdown["key"]))  # noqa: E731
    expected = _funnel_by_start_value(tenant, steps, 24, value_of, limit)
    got = [(part["value"], [row["users"] for row in part["results"]]) for part in response.json()["breakdown"]]
    assert got == expected
    overall = [row["users"] for row in response.json()["results"]]
    assert overall == oracle.funnel(tenant.events, tenant.tz, steps, FROM, TO, 24)


@pytest.mark.parametrize(("key", "kind", "limit"), [("source", "column", 10), ("path", "event", 3)])
def test_retention_breakdown(tenant, key, kind, limit):
    start = dt.date(2024, 2, 26)
    params = {"start_date": start, "windows": 3, "period": "week", "breakdown": key, "breakdown_type": kind,
              "breakdown_limit": limit}  # fmt: skip
    body = _get(tenant, "retention", **params)
    last = start + dt.timedelta(days=7 * 4 - 1)
    value_of = (lambda e: e.source) if kind == "column" else (lambda e: text_of(e.properties.get(key)))
    first: dict = {}
    for e in sorted(tenant.events, key=lambda e: e.timestamp):
        first.setdefault(e.user_id, e)
    cohort = {
        u: value_of(e)
        for u, e in first.items()
        if start <= oracle.local_day(e, tenant.tz) < start + dt.timedelta(days=7)
    }
    sizes: dict = {}
    for v in cohort.values():
        sizes[v] = sizes.get(v, 0) + 1
    ranked = sorted(sizes, key=lambda v: (-sizes[v], v is None, v or ""))[:limit]
    label = lambda v: ("(none)" if v is None else v) if v in ranked else "other"  # noqa: E731
    expected = []
    for name in {label(v) for v in cohort.values()}:
        members = {u for u, v in cohort.items() if label(v) == name}
        events = [e for e in tenant.events if e.user_id in members]
        row = oracle.cohort_table(events, tenant.tz, [start], 3, "week", last)[0]
        expected.append({**row, "breakdown_value": name})
    expected.sort(key=lambda r: (r["breakdown_value"] == "other", -r["cohort_size"], r["breakdown_value"]))
    got = [(r["breakdown_value"], r["cohort_size"]) for r in body["breakdown"]]
    assert got == [(r["breakdown_value"], r["cohort_size"]) for r in expected], sizes
    assert body["breakdown"] == expected

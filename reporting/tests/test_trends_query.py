"""``POST trends`` against a plain-Python computation: several series, every math, a formula, a
breakdown and the previous period, over the same committed dataset as the other reports."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pytest

from analytics.query.filters import filters_parse
from analytics.query.tests.reference import row_matches, text_of
from reporting.tests import oracle
from reporting.tests.test_filtered_reports import _row

pytestmark = pytest.mark.django_db

FROM, TO = dt.date(2024, 3, 8), dt.date(2024, 3, 21)  # the previous period is inside the data too
PREVIOUS = (dt.date(2024, 2, 23), dt.date(2024, 3, 7))


@pytest.fixture(params=["ny", "kolkata"])
def tenant(request, dataset):
    return getattr(dataset, request.param)


def _number(value) -> float | None:
    text = text_of(value)
    try:
        number = float(text.strip()) if text is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _measure(events, how: str, prop: str | None) -> float:
    if how == "total":
        return len(events)
    if how == "users":
        return len({e.user_id for e in events})
    if how == "sessions":
        return len({e.session_id for e in events if e.session_id is not None})
    if how == "per_user_avg":
        return len(events) / len({e.user_id for e in events}) if events else 0
    xs = [x for x in (_number(e.properties.get(prop)) for e in events) if x is not None]
    if not xs:
        return 0
    q = {"median": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
    return (
        {"sum": sum, "avg": lambda v: sum(v) / len(v), "min": min, "max": max}[how](xs)
        if how not in q
        else _quantile(xs, q[how])
    )


def _expected(tenant, body: dict, first: dt.date, last: dt.date) -> list[dict]:
    """Series entries as the API shapes them, computed from the events."""
    tz, interval = tenant.tz, body.get("interval", "day")
    keys = [b.isoformat() for b in oracle.buckets(first, last, interval)]
    key_of = lambda e: oracle.bucket(oracle.local_day(e, tz), interval).isoformat()  # noqa: E731
    glob = filters_parse(body.get("filters", []))
    out = []
    for i, spec in enumerate(body["series"]):
        own = filters_parse(spec.get("filters", []))
        rows = [
            e for e in oracle.in_range(tenant.events, tz, first, last)
            if e.event_name == spec["event"]
            and row_matches(glob, _row(e), None, tz) and row_matches(own, _row(e), None, tz)
        ]  # fmt: skip
        how, prop = spec.get("math", "total"), spec.get("math_property")
        groups: dict = defaultdict(list)
        split = body.get("breakdown")
        for e in rows:
            groups[text_of(e.properties.get(split["key"])) if split else None].append(e)
        if split:
            rank = {v: _measure(es, how, prop) for v, es in groups.items()}
            top = sorted(rank, key=lambda v: (-rank[v], v is None, v or ""))[: body.get("breakdown_limit", 10)]
            labelled = defaultdict(list)
            for v, es in groups.items():
                labelled[("(none)" if v is None else v) if v in top else "other"].extend(es)
        else:
            labelled = {None: rows}
        series = []
        for label, es in labelled.items():
            by_key = defaultdict(list)
            for e in es:
                by_key[key_of(e)].append(e)
            data = {k: _measure(by_key[k], how, prop) for k in keys if by_key.get(k)}
            series.append((label, data))
        series.sort(key=lambda item: (item[0] == "other", -sum(item[1].values()), item[0] or ""))
        name = spec.get("name") or chr(ord("A") + i)
        out += [
            {"label": spec["event"], "series": name, "breakdown_value": label,
             "data": [{"date": k, "value": data.get(k, 0)} for k in keys]}
            for label, data in series
        ]  # fmt: skip
    return out


def _post(tenant, body: dict) -> dict:
    response = tenant.client().post(
        tenant.url("trends"), {"from": FROM.isoformat(), "to": TO.isoformat(), **body}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def _close(got: list[dict], expected: list[dict]) -> None:
    assert [(g["label"], g["series"], g["breakdown_value"]) for g in got] == [
        (e["label"], e["series"], e["breakdown_value"]) for e in expected
    ]
    for g, e in zip(got, expected, strict=True):
        assert [p["date"] for p in g["data"]] == [p["date"] for p in e["data"]]
        assert [p["value"] for p in g["data"]] == pytest.approx([p["value"] for p in e["data"]], rel=1e-9, abs=1e-9)


def test_series_formula_and_compare(tenant):
    body = {
        "series": [{"event": "pageview"}, {"event": "pageview", "math": "users"}],
        "formula": "A / B",
        "compare": True,
        "filters": [{"type": "column", "key": "source", "operator": "exact", "value": "web"}],
    }
    answer = _post(tenant, body)
    expected = _expected(tenant, body, FROM, TO)
    _close(answer["series"], expected)
    a, b = expected[0]["data"], expected[1]["data"]
    ratio = [
        {"date": x["date"], "value": x["value"] / y["value"] if y["value"] else 0} for x, y in zip(a, b, strict=True)
    ]
    _close(answer["formula"], [{"label": "A / B", "series": "formula", "breakdown_value": None, "data": ratio}])
    previous = _expected(tenant, body, *PREVIOUS)
    _close([e for e in answer["compare"] if e["series"] != "formula"], previous)
    assert answer["compare"][-1]["series"] == "formula"


@pytest.mark.parametrize("how", ["sessions", "per_user_avg", "sum", "avg", "min", "max", "median", "p90", "p95", "p99"])
def test_every_math_with_a_breakdown(tenant, how):
    spec = {"event": "pageview", "math": how}
    if how not in ("sessions", "per_user_avg"):
        spec["math_property"] = "n"  # 1, 2 or true: true is not a number and is left out
    body = {"series": [spec], "interval": "week", "breakdown": {"type": "event", "key": "path"}, "breakdown_limit": 4}
    _close(_post(tenant, body)["series"], _expected(tenant, body, FROM, TO))


def test_refusals(dataset):
    tenant = dataset.ny
    cases = [
        ({"series": []}, "series"),
        ({"series": [{"event": "pageview", "math": "sum"}]}, "math_property"),
        ({"series": [{"event": "nope"}]}, "unknown event"),
        ({"series": [{"event": "pageview"}], "formula": "A / C"}, "unknown series 'C'"),
        ({"series": [{"event": "pageview"}], "formula": "__import__('os')"}, "formula"),
        ({"series": [{"event": "pageview", "name": "A"}, {"event": "signup", "name": "A"}]}, "distinct"),
        ({"series": [{"event": "pageview"}], "breakdown": {"type": "column", "key": "browsers"}}, "unknown column"),
    ]
    for body, says in cases:
        response = tenant.client().post(tenant.url("trends"), body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert says in response.content.decode(), (body, response.content)

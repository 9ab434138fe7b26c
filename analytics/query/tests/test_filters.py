"""Every way a client can get a filter wrong is refused with the element's path and what to fix."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.query.filters import AnyOf, FilterError, PropertyFilter, filters_parse, filters_parse_json

PLAN = {"type": "event", "key": "plan", "operator": "exact", "value": "pro"}


@pytest.mark.parametrize(
    ("raw", "path", "says"),
    [
        ({"type": "event"}, "filters", "JSON list"),
        ([5], "filters[0]", "must be an object"),
        ([PLAN, {"type": "events", "key": "x"}], "filters[1]", "unknown type 'events'"),
        ([{"type": "event", "operator": "exact", "value": 1}], "filters[0]", "needs a 'key'"),
        ([{"type": "column", "key": "browsers", "value": "x"}], "filters[0]", "unknown column 'browsers'"),
        ([{**PLAN, "operator": "equals"}], "filters[0]", "unknown operator 'equals'"),
        ([{**PLAN, "value": None}], "filters[0]", "use 'is_not_set'"),
        ([{**PLAN, "value": []}], "filters[0]", "at least one value"),
        ([{**PLAN, "value": {"a": 1}}], "filters[0]", "compares scalars"),
        ([{**PLAN, "operator": "gt", "value": "many"}], "filters[0]", "needs a number"),
        ([{**PLAN, "operator": "lte", "value": True}], "filters[0]", "got a boolean"),
        ([{**PLAN, "operator": "icontains", "value": ["a"]}], "filters[0]", "needs a string"),
        ([{**PLAN, "operator": "regex", "value": "(?<=x)y"}], "filters[0]", "invalid regular expression"),
        ([{**PLAN, "operator": "is_date_after", "value": "yesterday"}], "filters[0]", "ISO 8601"),
        ([{"type": "cohort", "value": 7}], "filters[0]", "unknown cohort 7"),
        ([{"type": "cohort", "value": "7"}], "filters[0]", "cohort's id"),
        ([{"any": []}], "filters[0].any", "non-empty list"),
        ([{"any": [PLAN], "all": []}], "filters[0]", "only the key 'any'"),
        ([PLAN, {"any": [PLAN, {"any": [PLAN]}]}], "filters[1].any[1]", "cannot be nested"),
        (
            [{"any": [PLAN, {"type": "person", "key": "x", "operator": "nope"}]}],
            "filters[0].any[1]",
            "unknown operator",
        ),
        ([PLAN] * 51, "filters", "at most 50"),
        ([{**PLAN, "value": ["a", "b\x00"]}], "filters[0]", "NUL"),
        ([{**PLAN, "key": "pl\x00an"}], "filters[0]", "NUL"),
    ],
)
def test_refusals_name_the_filter_and_the_fix(raw: object, path: str, says: str) -> None:
    with pytest.raises(FilterError) as refused:
        filters_parse(raw)
    assert refused.value.path == path
    assert says in refused.value.message


def test_values_become_texts_and_typed_bounds() -> None:
    parsed = filters_parse(
        [
            {"type": "event", "key": "plan", "operator": "is_not", "value": ["pro", 5, True, "5"]},
            {"any": [{"type": "person", "key": "n", "operator": "gte", "value": " 2.5 "},
                     {"type": "column", "key": "event", "operator": "icontains", "value": "PAGE"}]},
            {"type": "event", "key": "at", "operator": "is_date_before", "value": "2026-02-01"},
        ]
    )  # fmt: skip
    assert parsed[0] == PropertyFilter("event", "plan", "is_not", texts=("pro", "5", "true"))
    assert isinstance(parsed[1], AnyOf)
    assert parsed[1].filters[0].number == 2.5
    assert parsed[1].filters[1].texts == ("page",)
    assert parsed[2].moment == dt.date(2026, 2, 1)


def test_operator_defaults_to_exact_and_empty_means_no_filter() -> None:
    assert filters_parse([{"type": "event", "key": "plan", "value": "pro"}])[0].operator == "exact"
    assert filters_parse_json(None) == ()
    assert filters_parse_json(" ") == ()


def test_get_form_refuses_bad_json() -> None:
    with pytest.raises(FilterError, match="not valid JSON"):
        filters_parse_json("[{type: event}]")

"""The filter contract of every report: parsed and checked once, into values the compiler trusts.

A request's ``filters`` is a JSON list, AND-ed; an element ``{"any": [f, ...]}`` is an OR group
(one level). A filter is ``{"type", "key", "operator", "value"}`` with PostHog's operator names.
Everything a client can get wrong is a :class:`FilterError` naming the element (``filters[2]``,
``filters[0].any[1]``) and what to send instead, which the API answers as a 400.

How values compare (the same rule in the SQL compiler and in the tests' plain-Python reference):
- a property's *text* is the string itself, or the JSON text of anything else (``5``, ``true``,
  ``{"a":1}``); a missing key and JSON ``null`` are *unset*;
- ``exact``/``is_not`` compare texts with the values' texts (``5`` and ``"5"`` are the same value);
- ``icontains`` compares case-insensitively; ``regex`` is a RE2 search (any match in the text);
- ``gt``…``lte`` compare numbers: a text that does not parse as a number does not match;
- ``is_date_before``/``is_date_after`` compare instants: a date alone is midnight and a date-time
  without an offset is local time, both in the project's time zone (for the filter's value and for
  the property's); a text that does not parse as an ISO 8601 date or date-time does not match;
- the negations (``is_not``, ``not_icontains``, ``not_regex``) match unset values, as in PostHog.

A ``group`` filter (``{"type": "group", "group_type": "company", "key", "operator", "value"}``)
tests a property of the event's group of that type (persons.groups); an event without a group of
the type has every such property unset. Only where the caller resolves group types (``group_types``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from analytics.query.regex import regex_problem
from events.models import WEB_COLUMNS

FILTER_TYPES = ("event", "person", "column", "cohort", "group")
COLUMN_KEYS = {
    "event": "event_name",
    "source": "source",
    "user_id": "user_id",
    "session_id": "session_id",
    **{name: name for name in WEB_COLUMNS},  # derived at capture (ingestion.enrichment)
}
VALUE_OPERATORS = ("exact", "is_not")
TEXT_OPERATORS = ("icontains", "not_icontains")
REGEX_OPERATORS = ("regex", "not_regex")
NUMBER_OPERATORS = ("gt", "gte", "lt", "lte")
PRESENCE_OPERATORS = ("is_set", "is_not_set")
DATE_OPERATORS = ("is_date_before", "is_date_after")
OPERATORS = (
    *VALUE_OPERATORS,
    *TEXT_OPERATORS,
    *REGEX_OPERATORS,
    *NUMBER_OPERATORS,
    *PRESENCE_OPERATORS,
    *DATE_OPERATORS,
)
NEGATIONS = ("is_not", "not_icontains", "not_regex")
MAX_FILTERS = 50  # leaves and groups together: a report is a question, not a program
MAX_VALUES = 1000  # values of one exact/is_not


class FilterError(ValueError):
    """A filter the API refuses: ``path`` names it, ``message`` says what to fix."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class PropertyFilter:
    """One comparison. ``type`` is event, person or column; ``key`` a property or column name."""

    type: str
    key: str
    operator: str
    texts: tuple[str, ...] = ()  # exact / is_not: the values' texts; icontains: the lowered needle
    pattern: str | None = None  # regex / not_regex
    number: float | None = None  # gt / gte / lt / lte
    moment: dt.datetime | dt.date | None = None  # is_date_*: a date is resolved in the project's zone
    group_index: int | None = None  # group: the index of its group type (persons.groups)

    @property
    def negated(self) -> bool:
        return self.operator in NEGATIONS


@dataclass(frozen=True)
class CohortFilter:
    cohort_id: int


@dataclass(frozen=True)
class AnyOf:
    """An OR group of leaves."""

    filters: tuple[PropertyFilter | CohortFilter, ...]


Leaf = PropertyFilter | CohortFilter
Filters = tuple[Leaf | AnyOf, ...]
NO_FILTERS: Filters = ()


def filter_leaves(filters: Filters) -> list[Leaf]:
    """Every leaf, the OR groups' included, in order."""
    return [leaf for element in filters for leaf in (element.filters if isinstance(element, AnyOf) else (element,))]


def value_text(value: Any) -> str:
    """A property value's text: strings as they are, anything else as its compact JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def filters_parse(
    raw: Any,
    *,
    path: str = "filters",
    cohort_exists: Callable[[int], bool] | None = None,
    group_types: Callable[[str], int | None] | None = None,
) -> Filters:
    """Check a decoded ``filters`` value and return it as typed filters, or raise FilterError.

    ``cohort_exists`` answers whether a cohort id belongs to the project; without it every
    cohort is unknown (cohorts are not stored yet), which the contract answers with a 400.
    ``group_types`` gives a group type's index (None: unknown); without it group filters are
    refused (the question does not read groups there).
    """
    if raw is None:
        return NO_FILTERS
    if not isinstance(raw, list):
        raise FilterError(
            path,
            "must be a JSON list of filters, e.g. "
            '[{"type": "event", "key": "plan", "operator": "exact", "value": "pro"}].',
        )
    known = cohort_exists or (lambda _id: False)
    groups = group_types
    out: list[Leaf | AnyOf] = []
    count = 0
    for i, element in enumerate(raw):
        here = f"{path}[{i}]"
        if isinstance(element, dict) and "any" in element:
            extra = set(element) - {"any"}
            if extra:
                raise FilterError(here, f"an OR group has only the key 'any', not {sorted(extra)}.")
            members = element["any"]
            if not isinstance(members, list) or not members:
                raise FilterError(f"{here}.any", "must be a non-empty list of filters.")
            leaves = []
            for j, member in enumerate(members):
                if isinstance(member, dict) and "any" in member:
                    raise FilterError(f"{here}.any[{j}]", "OR groups cannot be nested; put its filters in this group.")
                leaves.append(_leaf(member, f"{here}.any[{j}]", known, groups))
            count += len(leaves)
            out.append(AnyOf(tuple(leaves)))
        else:
            count += 1
            out.append(_leaf(element, here, known, groups))
    if count > MAX_FILTERS:
        raise FilterError(path, f"at most {MAX_FILTERS} filters in one query, got {count}.")
    return tuple(out)


def filters_parse_json(text: str | None, *, path: str = "filters", **kwargs: Any) -> Filters:
    """The GET form: ``filters=<URL-encoded JSON>`` (the query string is already decoded)."""
    if text is None or not text.strip():
        return NO_FILTERS
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FilterError(path, f"is not valid JSON ({exc}); send a URL-encoded JSON list.") from None
    return filters_parse(raw, path=path, **kwargs)


def _leaf(
    raw: Any, path: str, cohort_exists: Callable[[int], bool], group_types: Callable[[str], int | None] | None
) -> Leaf:
    if not isinstance(raw, dict):
        raise FilterError(path, 'must be an object like {"type": "event", "key": ..., "operator": ..., "value": ...}.')
    kind = raw.get("type")
    if kind not in FILTER_TYPES:
        raise FilterError(path, f"unknown type {kind!r}; use one of {', '.join(FILTER_TYPES)}.")
    if kind == "cohort":
        return _cohort(raw, path, cohort_exists)
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        raise FilterError(path, "needs a 'key': the property name (a non-empty string).")
    if "\x00" in key or "\x00" in _all_text(raw.get("value")):
        raise FilterError(path, "keys and values cannot contain the NUL character (no stored text has it).")
    if kind == "column" and key not in COLUMN_KEYS:
        raise FilterError(path, f"unknown column {key!r}; use one of {', '.join(COLUMN_KEYS)}.")
    group_index = _group_index(raw, path, group_types) if kind == "group" else None
    operator = raw.get("operator", "exact")
    if operator not in OPERATORS:
        raise FilterError(path, f"unknown operator {operator!r}; use one of {', '.join(OPERATORS)}.")
    value = raw.get("value")
    g = group_index
    if operator in VALUE_OPERATORS:
        return PropertyFilter(kind, key, operator, texts=_texts(value, path, operator), group_index=g)
    if operator in TEXT_OPERATORS:
        return PropertyFilter(kind, key, operator, texts=(_scalar_text(value, path, operator).lower(),), group_index=g)
    if operator in REGEX_OPERATORS:
        pattern = _scalar_text(value, path, operator)
        problem = regex_problem(pattern)
        if problem:
            raise FilterError(path, f"invalid regular expression {pattern!r}: {problem} (RE2 syntax).")
        return PropertyFilter(kind, key, operator, pattern=pattern, group_index=g)
    if operator in NUMBER_OPERATORS:
        return PropertyFilter(kind, key, operator, number=_number(value, path, operator), group_index=g)
    if operator in DATE_OPERATORS:
        return PropertyFilter(kind, key, operator, moment=_moment(value, path, operator), group_index=g)
    return PropertyFilter(kind, key, operator, group_index=g)  # is_set / is_not_set take no value


def _group_index(raw: dict, path: str, group_types: Callable[[str], int | None] | None) -> int:
    if group_types is None:
        raise FilterError(
            path,
            "group filters are not supported here (trends, funnels, retention, stickiness, lifecycle and paths "
            "take them).",
        )
    name = raw.get("group_type")
    if not isinstance(name, str) or not name or "\x00" in name or len(name) > 200:
        raise FilterError(path, "a group filter names its 'group_type' (company, team…: GET groups/types).")
    index = group_types(name)
    if index is None:
        raise FilterError(path, f"unknown group type {name!r} in this project.")
    return index


def _all_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(item for item in value if isinstance(item, str))
    return ""


def _cohort(raw: dict, path: str, cohort_exists: Callable[[int], bool]) -> CohortFilter:
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, int):
        raise FilterError(path, "a cohort filter's 'value' is the cohort's id (an integer).")
    if not cohort_exists(value):
        raise FilterError(path, f"unknown cohort {value}.")
    return CohortFilter(value)


def _scalar_text(value: Any, path: str, operator: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value_text(value)
    raise FilterError(path, f"operator {operator!r} needs a string 'value', got {_kind(value)}.")


def _texts(value: Any, path: str, operator: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise FilterError(path, f"operator {operator!r} needs at least one value.")
    if len(values) > MAX_VALUES:
        raise FilterError(path, f"at most {MAX_VALUES} values, got {len(values)}.")
    texts = []
    for item in values:
        if item is None:
            hint = "is_not_set" if operator == "exact" else "is_set"
            raise FilterError(path, f"'value' cannot be null; to match a missing property use {hint!r}.")
        if isinstance(item, dict | list):
            raise FilterError(path, f"operator {operator!r} compares scalars (strings, numbers, booleans).")
        if isinstance(item, float) and not math.isfinite(item):
            raise FilterError(path, "'value' must be a finite number.")
        texts.append(value_text(item))
    return tuple(dict.fromkeys(texts))


def _number(value: Any, path: str, operator: str) -> float:
    if isinstance(value, bool):
        raise FilterError(path, f"operator {operator!r} needs a number 'value', got a boolean.")
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise FilterError(path, f"operator {operator!r} needs a number 'value', got {_kind(value)}.")
    return number


def _moment(value: Any, path: str, operator: str) -> dt.datetime | dt.date:
    problem = f"operator {operator!r} needs an ISO 8601 date or date-time 'value' (2026-01-31, 2026-01-31T12:00:00Z)"
    if not isinstance(value, str):
        raise FilterError(path, f"{problem}, got {_kind(value)}.")
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(path, f"{problem}, got {value!r}.") from None
    return moment  # naive: in the project's time zone, resolved by the compiler


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value)
    return {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )

"""The filter contract in plain Python: what every report's numbers are checked against.

Written from the contract (analytics/query/filters.py's docstring and the README), not from the
SQL, so that a compiler bug shows up as a disagreement.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import zoneinfo
from typing import Any

from analytics.query.filters import COLUMN_KEYS, AnyOf, Filters, PropertyFilter


def text_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _number(text: str) -> float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _instant(text: str, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    text = text.strip()
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=tz)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _filter_instant(moment: dt.datetime | dt.date | None, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    if isinstance(moment, dt.datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)
    assert isinstance(moment, dt.date)
    return dt.datetime.combine(moment, dt.time(), tzinfo=tz)


def leaf_matches(leaf: PropertyFilter, row: dict, person: dict | None, tz: zoneinfo.ZoneInfo) -> bool:
    if leaf.type == "column":
        text = row[COLUMN_KEYS[leaf.key]]
    elif leaf.type == "event":
        text = text_of(row["properties"].get(leaf.key))
    else:
        text = text_of((person or {}).get(leaf.key))
    op = leaf.operator
    if op == "is_set":
        return text is not None
    if op == "is_not_set":
        return text is None
    if text is None:
        return leaf.negated
    if op in ("exact", "is_not"):
        hit = text in leaf.texts
    elif op in ("icontains", "not_icontains"):
        hit = leaf.texts[0] in text.lower()
    elif op in ("regex", "not_regex"):
        hit = re.search(leaf.pattern or "", text) is not None
    elif op in ("gt", "gte", "lt", "lte"):
        number = _number(text)
        if number is None:
            return False
        bound = leaf.number
        hit = {"gt": number > bound, "gte": number >= bound, "lt": number < bound, "lte": number <= bound}[op]
    else:
        instant = _instant(text, tz)
        if instant is None:
            return False
        bound_at = _filter_instant(leaf.moment, tz)
        hit = instant < bound_at if op == "is_date_before" else instant > bound_at
    return not hit if leaf.negated else hit


def row_matches(filters: Filters, row: dict, person: dict | None, tz: zoneinfo.ZoneInfo) -> bool:
    for element in filters:
        leaves = element.filters if isinstance(element, AnyOf) else (element,)
        if not any(leaf_matches(leaf, row, person, tz) for leaf in leaves):  # type: ignore[arg-type]
            return False
    return True

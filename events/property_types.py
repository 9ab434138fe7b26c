"""The detected type of a property value: one rule for event properties and person properties.

A value's JSON type decides: a number is ``number``, a boolean ``boolean``, a string with the shape
of an ISO 8601 date or date-time (``2026-01-31``, ``2026-01-31T12:00``, ``…:00.5Z``, ``… +05:30``)
is ``datetime``, any other string (and an object or a list, which filters compare as their compact
JSON text) is ``string``. JSON ``null`` is an unset value and has no type. A key whose values have
several types takes the most common; a tie goes to ``string``, then alphabetical order.

It lives in the event store, below both users of the rule: the rollups (analytics.taxonomy) apply
it in SQL to event properties, the person writer (persons.services) in Python to person
properties. ``DATETIME_PATTERN`` is one regular expression valid in both PostgreSQL (ARE) and
Python, so the two cannot drift; ``events/tests/test_property_types.py`` runs both on the same values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

STRING, NUMBER, BOOLEAN, DATETIME = "string", "number", "boolean", "datetime"
PROPERTY_TYPES = (STRING, NUMBER, BOOLEAN, DATETIME)

# A calendar date, optionally a time (hh:mm, seconds, fraction) and a zone (Z, +hh, +hhmm, +hh:mm).
DATETIME_PATTERN = (
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?"
)
# Anchored for PostgreSQL's ``~`` (its ``$`` is the end of the text, not before a final newline).
DATETIME_REGEX_SQL = f"^({DATETIME_PATTERN})$"
_DATETIME = re.compile(DATETIME_PATTERN)


def property_type_of(value: Any) -> str | None:
    """The type of one JSON value (None for null)."""
    if value is None:
        return None
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        return DATETIME
    return STRING


def property_type_sql(*, json_type: str, text: str, pattern: str = "%(datetime_re)s") -> str:
    """The rule as a SQL expression over a value's ``jsonb_typeof`` and its ``->>`` text.

    ``pattern`` is the placeholder the caller binds to ``DATETIME_REGEX_SQL``."""
    return (
        f"CASE {json_type} WHEN 'null' THEN NULL WHEN 'number' THEN 'number' WHEN 'boolean' THEN 'boolean' "
        f"WHEN 'string' THEN CASE WHEN {text} ~ {pattern} THEN 'datetime' ELSE 'string' END ELSE 'string' END"
    )


def most_common_type(counts: Mapping[str, int]) -> str:
    """The detected type of a key from its values' counts per type (``string`` when there are none)."""
    present = [(n, t) for t, n in counts.items() if n > 0]
    if not present:
        return STRING
    return min(present, key=lambda item: (-item[0], item[1] != STRING, item[1]))[1]

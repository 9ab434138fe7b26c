"""The type rule is one rule: its SQL (rollups) and its Python (person writer) agree value by value."""

from __future__ import annotations

import orjson
import pytest
from django.db import connection

from events.property_types import DATETIME_REGEX_SQL, most_common_type, property_type_of, property_type_sql

pytestmark = pytest.mark.django_db

# A list, not a dict: 0 and False (1 and True) are one key of a dict.
VALUES = [
    ("2026-01-31", "datetime"),
    ("2026-01-31T12:00", "datetime"),
    ("2026-01-31 12:00:59", "datetime"),
    ("2026-01-31T12:00:00.123456Z", "datetime"),
    ("2026-01-31T12:00:00+05:30", "datetime"),
    ("2026-01-31T12:00:00-0800", "datetime"),
    ("2026-01-31T12:00:00+01", "datetime"),
    ("2026-13-01", "string"),
    ("2026-01-32", "string"),
    ("2026-01-31T24:00", "string"),
    ("2026-01-31T12", "string"),
    ("2026-01-31\n", "string"),
    ("31/01/2026", "string"),
    ("20260131", "string"),
    ("", "string"),
    ("pro", "string"),
    ("5", "string"),
    (5, "number"),
    (-2.5, "number"),
    (0, "number"),
    (True, "boolean"),
    (False, "boolean"),
    (None, None),
    ("[1, 2]", "string"),
]


def test_python_and_sql_give_the_same_type():
    values = [v for v, _ in VALUES] + [[1, 2], {"a": "2026-01-31"}]
    expected = [t for _, t in VALUES] + ["string", "string"]
    assert [property_type_of(v) for v in values] == expected
    expression = property_type_sql(json_type="jsonb_typeof(v)", text="v #>> '{}'")
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {expression} FROM unnest(%(vs)s::jsonb[]) WITH ORDINALITY AS t(v, i) ORDER BY i",
            {"vs": [orjson.dumps(v).decode() for v in values], "datetime_re": DATETIME_REGEX_SQL},
        )
        assert [row[0] for row in cur.fetchall()] == expected


def test_most_common_type_and_ties():
    assert most_common_type({}) == "string"
    assert most_common_type({"number": 3, "string": 1}) == "number"
    assert most_common_type({"number": 2, "string": 2}) == "string"
    assert most_common_type({"number": 2, "boolean": 2}) == "boolean"
    assert most_common_type({"number": 0}) == "string"

"""Regular expressions are RE2, because DuckDB evaluates them: checked by that same engine.

An in-memory DuckDB with no tables answers whether RE2 accepts a pattern, so a filter is refused
with RE2's own message (``invalid perl operator: (?<``) rather than failing inside a report.
"""

from __future__ import annotations

import functools
import threading

import duckdb

_lock = threading.Lock()
_state: dict[str, duckdb.DuckDBPyConnection] = {}


@functools.lru_cache(maxsize=1024)
def regex_problem(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern``, or None when it compiles."""
    with _lock:
        conn = _state.get("conn")
        if conn is None:
            conn = _state["conn"] = duckdb.connect(":memory:", config={"threads": 1})
        try:
            conn.execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
        except duckdb.Error as exc:
            return str(exc).split("Error: ", 1)[-1].strip()
    return None

"""Paths: what persons do step by step, as a Sankey's nodes, edges and drop-offs.

One DuckDB query over the query layer's events (analytics.query.source), whose ``person`` column
is the identity-merged key. Per person, the counted events in time order (ties by step name, so
the order is defined) get a step name: the event name, or the ``path_key`` column or property
(events without a value are skipped). Names are cleaned (regex replacements in order), excluded
names dropped, and consecutive repeats collapsed (A A B -> A B) before the path is cut: from the
first ``start`` on, or the last ``steps`` up to the first ``end``, or else the first ``steps``.

With ``scope.group_index`` the relation's ``person`` is the group's key: a group's path is the
events of all its members, in time order.

A step's time is that of the first event of its run of repeats. Per step, names beyond the
``names_per_step`` most frequent fold into ``OTHER`` so the answer stays drawable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from analytics.query.source import EventScope, events_relation, query_rows
from events.columnar import text_column
from events.duck import duckdb_sql_string
from events.models import WEB_COLUMNS

PAGEVIEW, SCREEN, CUSTOM = "$pageview", "$screen", "custom"
EVENT_TYPES = (PAGEVIEW, SCREEN, CUSTOM)
NAMES_PER_STEP = 10
OTHER = "(other)"


@dataclass(frozen=True)
class PathSpec:
    """How events become paths (see the module docstring)."""

    event_types: tuple[str, ...] = (PAGEVIEW,)
    path_key: str | None = None  # a web column (pathname, …) or else an event property key
    steps: int = 5
    start: str | None = None
    end: str | None = None
    exclude: tuple[str, ...] = ()
    cleaning: tuple[tuple[str, str], ...] = ()  # (regex, alias), applied in order
    min_edge_users: int = 1
    names_per_step: int = NAMES_PER_STEP


@dataclass(frozen=True)
class PathCounts:
    nodes: list[tuple[int, str, int]]  # step, name, persons
    # source step, source, target, persons, sum of microseconds (a HUGEINT: 92 days of them
    # times millions of persons can pass a BIGINT)
    edges: list[tuple[int, str, str, int, int]]
    dropoffs: list[tuple[int, str, int]]  # step, name, persons whose path ends there


def path_scope(scope: EventScope, spec: PathSpec) -> EventScope:
    """The scope reading what the paths need: named events pushed down unless custom ones count."""
    if spec.path_key and spec.path_key not in WEB_COLUMNS:
        scope = scope.reading(spec.path_key)
    if CUSTOM not in spec.event_types:
        scope = replace(scope, events=tuple(spec.event_types))
    return scope


def path_counts(scope: EventScope, spec: PathSpec) -> PathCounts:
    relation, params = events_relation(path_scope(scope, spec))
    rows = query_rows(
        f"""
        WITH ev AS ({relation}),
        named AS (SELECT person, ts, {_cleaned(_name(spec), spec)} AS name FROM ev WHERE {_types(spec)}),
        kept AS {"MATERIALIZED " if spec.start is not None or spec.end is not None else ""}(
            SELECT * FROM named WHERE name IS NOT NULL{_excluded(spec)}
        ),
        {_anchored(spec)},
        runs AS (
            SELECT person, ts, name, lag(name) OVER w AS prev, row_number() OVER w AS rn
            FROM anchored WINDOW w AS (PARTITION BY person ORDER BY ts, name)
        ),
        seq AS (
            SELECT person, ts, name, row_number() OVER (PARTITION BY person ORDER BY rn) AS i
            FROM runs WHERE prev IS DISTINCT FROM name
        ),
        {_cut(spec)},
        path AS MATERIALIZED (
            SELECT person, step, name, ts,
                lead(name) OVER (PARTITION BY person ORDER BY step) AS next_name,
                lead(ts) OVER (PARTITION BY person ORDER BY step) AS next_ts
            FROM cut
        ),
        ranked AS (
            SELECT step, name, row_number() OVER (PARTITION BY step ORDER BY count(*) DESC, name) AS r
            FROM path GROUP BY step, name
        ),
        top AS (SELECT step, name FROM ranked WHERE r <= {int(spec.names_per_step)}),
        folded AS (
            SELECT p.step, coalesce(t.name, {duckdb_sql_string(OTHER)}) AS name,
                CASE WHEN p.next_name IS NULL THEN NULL ELSE coalesce(n.name, {duckdb_sql_string(OTHER)}) END
                    AS next_name,
                epoch_us(p.next_ts) - epoch_us(p.ts) AS us
            FROM path p
            LEFT JOIN top t ON t.step = p.step AND t.name = p.name
            LEFT JOIN top n ON n.step = p.step + 1 AND n.name = p.next_name
        )
        SELECT 'node', step, name, NULL, count(*), NULL FROM folded GROUP BY step, name
        UNION ALL
        SELECT 'edge', step, name, next_name, count(*), sum(us) FROM folded
            WHERE next_name IS NOT NULL GROUP BY step, name, next_name
            HAVING count(*) >= {int(spec.min_edge_users)}
        UNION ALL
        SELECT 'drop', step, name, NULL, count(*), NULL FROM folded WHERE next_name IS NULL GROUP BY step, name
        """,
        params,
        tz=scope.tz,
    )
    nodes, edges, drops = [], [], []
    for kind, step, name, target, persons, us in rows:
        if kind == "node":
            nodes.append((int(step), name, int(persons)))
        elif kind == "edge":
            edges.append((int(step), name, target, int(persons), int(us)))
        else:
            drops.append((int(step), name, int(persons)))
    return PathCounts(nodes=nodes, edges=edges, dropoffs=drops)


def _name(spec: PathSpec) -> str:
    if spec.path_key is None:
        return "event_name"
    if spec.path_key in WEB_COLUMNS:
        return spec.path_key
    return text_column(spec.path_key)


def _cleaned(expr: str, spec: PathSpec) -> str:
    # Every match is replaced ('g'), in the order given: a later rule sees the earlier ones' output.
    for regex, alias in spec.cleaning:
        expr = f"regexp_replace({expr}, {duckdb_sql_string(regex)}, {duckdb_sql_string(alias)}, 'g')"
    return expr


def _types(spec: PathSpec) -> str:
    parts = [f"event_name = {duckdb_sql_string(name)}" for name in spec.event_types if name != CUSTOM]
    if CUSTOM in spec.event_types:
        parts.append("NOT starts_with(event_name, '$')")
    return "(" + " OR ".join(parts) + ")"


def _excluded(spec: PathSpec) -> str:
    if not spec.exclude:
        return ""
    return f" AND name NOT IN ({', '.join(duckdb_sql_string(name) for name in spec.exclude)})"


def _anchored(spec: PathSpec) -> str:
    """The CTE ``anchored``: the kept rows that can be on a path. A hash aggregate and a join here
    spare the window sorts the rows before a person's first start (or after their first end);
    the first occurrence of a name is where its first run begins, so the cut below is unchanged."""
    if spec.start is not None:
        anchor, later = duckdb_sql_string(spec.start), ">"
    elif spec.end is not None:
        anchor, later = duckdb_sql_string(spec.end), "<"
    else:
        return "anchored AS (SELECT * FROM kept)"
    return f"""
        anchor AS (SELECT person, min(ts) AS t FROM kept WHERE name = {anchor} GROUP BY person),
        anchored AS (
            SELECT k.* FROM kept k JOIN anchor a USING (person)
            WHERE k.ts {later} a.t OR (k.ts = a.t AND k.name {later}= {anchor})
        )"""


def _cut(spec: PathSpec) -> str:
    """The CTE ``cut`` (person, step, name, ts): each person's path, its steps numbered from 1."""
    n = int(spec.steps)
    if spec.start is not None and spec.end is not None:
        # Persons whose first start is followed, within ``steps`` steps, by an end.
        return f"""
        s AS (SELECT person, min(i) AS s FROM seq WHERE name = {duckdb_sql_string(spec.start)} GROUP BY person),
        e AS (
            SELECT seq.person, s.s, min(seq.i) AS e FROM seq JOIN s USING (person)
            WHERE seq.name = {duckdb_sql_string(spec.end)} AND seq.i > s.s GROUP BY seq.person, s.s
        ),
        cut AS (
            SELECT seq.person, seq.i - e.s + 1 AS step, seq.name, seq.ts FROM seq JOIN e USING (person)
            WHERE e.e - e.s < {n} AND seq.i BETWEEN e.s AND e.e
        )"""
    if spec.start is not None:
        return f"""
        s AS (SELECT person, min(i) AS s FROM seq WHERE name = {duckdb_sql_string(spec.start)} GROUP BY person),
        cut AS (
            SELECT seq.person, seq.i - s.s + 1 AS step, seq.name, seq.ts FROM seq JOIN s USING (person)
            WHERE seq.i >= s.s AND seq.i < s.s + {n}
        )"""
    if spec.end is not None:
        return f"""
        e AS (SELECT person, min(i) AS e FROM seq WHERE name = {duckdb_sql_string(spec.end)} GROUP BY person),
        cut AS (
            SELECT seq.person, seq.i - greatest(e.e - {n} + 1, 1) + 1 AS step, seq.name, seq.ts
            FROM seq JOIN e USING (person) WHERE seq.i <= e.e AND seq.i > e.e - {n}
        )"""
    return f"cut AS (SELECT person, i AS step, name, ts FROM seq WHERE i <= {n})"

"""The web overview: visitors, pageviews, visits, bounces, durations and the top lists, in one
statement over the query layer's events.

Definitions (the README's reporting API says the same):

- a **pageview** is an event named ``$pageview`` (t.js, posthog-js and the Segment adapter's
  ``page`` calls are stored under that name);
- events whose ``device_type`` is ``bot`` (crawlers kept flagged) are left out of everything;
- the report reads the events that match the request's filters: a visit is made of its
  matching events, as ``GET sessions`` makes sessions;
- **visitors** are distinct persons (identity-merged) with a pageview; **pageviews** count them;
- a **visit** is a session (``session_id``) with at least one pageview; an event without a
  session id is a session of its own (so a lone pageview is a visit and a bounce; capture gives
  every event of t.js and the SDKs a session, so these are rare: imports, hand-made API calls);
- a **bounce** is a visit of exactly one pageview and no other event; ``bounce_rate`` is
  bounces / visits in percent with one decimal (0.0 without visits);
- a visit's **duration** is its last event's time minus its first's (every event of the visit,
  not only pageviews); ``visit_duration_seconds`` is their mean, one decimal;
- a visit's **entry/exit page** is the pathname of its first/last pageview (by time, then event
  id); its **source** (referrer host, channel, UTM source and campaign) is its entry pageview's;
- a page's **time on page** is the mean time from a pageview to the next pageview of the same
  visit (a visit's last pageview has no next and is left out); a page's **bounce_rate** is of the
  visits that entered on it (Plausible's rule), null when none did;
- list rows are ``{value, visitors, pageviews}``: pages, countries, devices (``device_type``),
  browsers and os count the pageviews with that value and their persons; entry and exit pages
  count the visits' entry/exit pageviews ("entrances"/"exits") and their persons; referrers,
  channels and UTM lists count the visits from that source: their persons, and all their
  pageviews;
- a missing value is a ``(none)`` row, except referrers (``Direct / None``, as Plausible) and
  the UTM lists, which list only tagged visits;
- a **goal** is reached by a pageview whose pathname matches its glob (``*`` is any run of
  characters, the rest literal, the whole path) or by an event of its name matching its filters;
  ``visitors`` are the visitors (above) with such an event, ``conversions`` their matching
  events, ``conversion_rate`` visitors / all visitors in percent with one decimal.

Where the rows come from: the web rollup (analytics.web_days) holds each local day's pageview
pairs, visit parts and page gaps (analytics.query.web_rows); a day without current files, or
whose visit parts disagree on a dimension the filters test, is computed from its events in the
same statement, and a filter that is not a column filter on a dimension reads every day's
events. Every number and list is then an aggregation over the merged rows, in one ``UNION
ALL``: persons are joined to the ids once, a visit's parts merged once. Distinct persons are
counted as rows of (value, person) pairs, several times faster in DuckDB than
``count(DISTINCT person)`` per group; the pages list, whose pairs are the most (1.5M rows over
30 days of the 10M bench), counts ids of no person and persons apart
(persons.identity.person_count_duckdb) without building a key per row.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any

from analytics.query.filters import COLUMN_KEYS, NO_FILTERS, Filters, PropertyFilter, filter_leaves
from analytics.query.predicates import Relation, event_property_keys, filters_predicate
from analytics.query.source import EventScope, events_relation, query_rows
from analytics.query.web_rows import BOT, DIMENSIONS, RELATIONS, SOURCES, base_sql
from analytics.web_days import web_day_paths, web_days_current
from core import days as daysmod
from events.duck import ATTACHED_AS, duckdb_sql_string
from persons.identity import person_count_duckdb, person_join_duckdb, person_key_duckdb

NONE_LABEL = "(none)"
DIRECT_LABEL = "Direct / None"

# List name -> pageview column; counted over pageviews.
PAGEVIEW_LISTS: dict[str, str] = {
    "pages": "pathname",
    "countries": "country",
    "devices": "device_type",
    "browsers": "browser",
    "os": "os",
}
# List name -> visit column; counted over visits (their entry pageview's value).
VISIT_LISTS: dict[str, str] = {
    "entry_pages": "entry",
    "exit_pages": "exit",
    "referrers": "referrer_host",
    "channels": "channel",
    "utm_sources": "utm_source",
    "utm_campaigns": "utm_campaign",
}
LISTS = (*PAGEVIEW_LISTS, *VISIT_LISTS)
_MISSING = {"referrers": DIRECT_LABEL}
_TAGGED_ONLY = ("utm_sources", "utm_campaigns")


@dataclass(frozen=True)
class GoalSpec:
    """A goal as the query reads it: a pageview path glob, or an event with filters."""

    id: int
    name: str
    kind: str  # "pageview" | "event"
    path: str | None = None
    event: str | None = None
    filters: Filters = NO_FILTERS


def glob_regex(path: str) -> str:
    """A goal's path glob as an RE2/Python pattern for a full match: ``*`` is any run of
    characters (``/`` included), everything else stands for itself."""
    return "(?s)" + ".*".join(re.escape(part) for part in path.split("*"))


@dataclass
class Totals:
    visitors: int = 0
    pageviews: int = 0
    visits: int = 0
    bounces: int = 0
    duration_us: int = 0  # the sum of the visits' spans


@dataclass
class Row:
    value: str
    visitors: int
    pageviews: int
    entries: int = 0  # pages: visits that entered on the page
    bounces: int = 0  # pages: of those, bounces
    gap_us: int = 0  # pages: the sum of the times to the next pageview
    gaps: int = 0  # pages: how many pageviews had a next one


@dataclass
class Overview:
    totals: Totals
    series: dict[dt.date, tuple[int, int]] = field(default_factory=dict)  # day -> (visitors, pageviews)
    lists: dict[str, list[Row]] = field(default_factory=dict)
    goals: dict[int, tuple[int, int]] = field(default_factory=dict)  # goal id -> (visitors, conversions)


@dataclass
class _Statement:
    """A ``WITH … UNION ALL …`` statement built in its text's order, so its parameters follow
    the text: the common table expressions' first, then the branches'."""

    ctes: list[tuple[str, str, list[Any]]] = field(default_factory=list)
    branches: list[tuple[str, list[Any]]] = field(default_factory=list)

    def cte(self, name: str, text: str, params: list[Any] | None = None, *, materialized: bool = False) -> None:
        self.ctes.append((name, f"{'MATERIALIZED ' if materialized else ''}({text})", params or []))

    def branch(self, text: str, params: list[Any] | None = None) -> None:
        self.branches.append((text, params or []))

    def sql(self) -> tuple[str, list[Any]]:
        text = "WITH " + ",\n".join(f"{name} AS {body}" for name, body, _ in self.ctes) + "\n"
        text += "\nUNION ALL\n".join(f"({branch})" for branch, _ in self.branches)
        params = [v for *_, more in self.ctes for v in more] + [v for _, more in self.branches for v in more]
        return text, params


def web_overview_rows(
    scope: EventScope, *, goals: tuple[GoalSpec, ...] = (), limit: int = 20, totals_only: bool = False
) -> Overview:
    """The overview of the scope's events (its filters applied, bots left out)."""
    st = _Statement()
    _day_rows(scope, st)
    person = person_key_duckdb(events="x", link="d")
    # Ids become persons once per row of each relation: the join reads the project's links once.
    join = f"x {person_join_duckdb(catalog=ATTACHED_AS, events='x', link='d')}"
    ids = f"SELECT *, {int(scope.project_id)} AS project_id FROM"
    columns = ", ".join(PERSON_LIST_COLUMNS)
    st.cte("pd", f"SELECT day, {person} AS person, {columns}, sum(n) AS n FROM ({ids} visitors) {join} GROUP BY ALL",
           materialized=True)  # fmt: skip
    st.cte("multi", "SELECT visit FROM parts GROUP BY visit HAVING count(*) > 1", materialized=True)
    st.cte("v", f"SELECT x.*, {person} AS person FROM ({ids} ({_VISITS})) {join}", materialized=True)
    st.branch(
        "SELECT 'total' AS kind, NULL AS value, count(*) AS a, sum(n) AS b, NULL AS c, NULL AS d, NULL AS e, "
        "NULL AS f FROM (SELECT person, sum(n) AS n FROM pd GROUP BY person)"
    )
    st.branch(
        "SELECT 'visits', NULL, count(*), count(*) FILTER (WHERE pageviews = 1 AND events = 1), "
        "sum(span_us), NULL, NULL, NULL FROM v"
    )
    if not totals_only:
        # A page's persons: missing paths are "(none)" here already (a goal's glob starts with "/").
        # Its id and person id, not the key: the pages list counts them apart (person_count_duckdb).
        st.cte("pp", f"SELECT {_label('pages', 'pathname')} AS value, x.user_id, d.person_id, n "
                     f"FROM ({ids} pairs) {join}")  # fmt: skip
        st.branch(
            "SELECT 'day', CAST(day AS VARCHAR), count(*), sum(n), NULL, NULL, NULL, NULL "
            "FROM (SELECT day, person, sum(n) AS n FROM pd GROUP BY 1, 2) GROUP BY day"
        )
        st.branch(_pages_list(limit))
        for name, column in PAGEVIEW_LISTS.items():
            if name != "pages":
                st.branch(
                    _ranked(
                        name, f"SELECT {_label(name, column)} AS value, sum(n) AS n FROM pd GROUP BY 1, person", limit
                    )
                )
        for name, column in VISIT_LISTS.items():
            st.branch(_visit_list(name, column, limit))
        _goal_branches(scope, goals, st)
    sql, params = st.sql()
    return _overview(query_rows(sql, params, tz=scope.tz), goals)


def _day_rows(scope: EventScope, st: _Statement) -> None:
    """The relations of web_rows for the scope's days: from the web rollup's files where a day
    may be read from them (the dimension filters applied to their rows), else from the day's
    events (the filters applied to those)."""
    files, raw_days = _day_sources(scope)
    if raw_days:
        relations, params = [], []
        for first, last in _runs(raw_days):
            relation, more = events_relation(replace(scope, date_from=first, date_to=last))
            relations.append(f"({relation})")
            params += more
        st.cte("raw_ev", "\nUNION ALL\n".join(relations), params)
        lo, hi = scope.bounds
        st.cte("rb", base_sql("SELECT * FROM raw_ev", lo=lo, hi=hi, tz=scope.tz), materialized=True)
    for kind, rows in RELATIONS.items():
        branches, params = [], []
        # A part's dimensions disagreed on by its events are only for deciding which days to read.
        columns = "* EXCLUDE (mixed)" if kind == "parts" else "*"
        if files:
            predicate = filters_predicate(scope.filters, tz=scope.tz, relation=Relation(alias="w"))
            paths = ", ".join(duckdb_sql_string(str(web_day_paths(scope.project_id, d)[kind])) for d in files)
            branches.append(f"SELECT {columns} FROM read_parquet([{paths}]) w WHERE {predicate.sql}")
            params += predicate.params
        if raw_days:
            branches.append(f"SELECT {columns} FROM ({rows('rb')})")
        st.cte(kind, "\nUNION ALL BY NAME\n".join(f"({b})" for b in branches), params)


# Countries, devices, browsers and os are counted from each person's pageviews per day and value.
PERSON_LIST_COLUMNS = ("country", "device_type", "browser", "os")

# A visit from its parts: counts summed, its span from the first to the last instant of any part,
# its entry (person, page, source) from the part with the first pageview and its exit from the
# part with the last. A visit's parts are of different days, so their first (last) pageviews are
# at different instants: the time alone orders them. Most visits have one part, taken as it is:
# only the visits with several (``multi``) are merged.
_ENTRY = ("user_id", "entry", *SOURCES)
_VISITS = (
    "SELECT visit, 1 AS parts, pageviews, events, epoch_us(max_ts) - epoch_us(min_ts) AS span_us, "
    f"{', '.join(_ENTRY)}, exit FROM parts ANTI JOIN multi USING (visit) WHERE pageviews > 0\nUNION ALL\n"
    + ",\n".join(
        [
            "SELECT visit, count(*) AS parts, sum(pageviews) AS pageviews, sum(events) AS events",
            "epoch_us(max(max_ts)) - epoch_us(min(min_ts)) AS span_us",
            *(f"arg_min_null({c}, first_ts) FILTER (WHERE pageviews > 0) AS {c}" for c in _ENTRY),
            "arg_max_null(exit, last_ts) FILTER (WHERE pageviews > 0) AS exit",
        ]
    )
    + " FROM parts SEMI JOIN multi USING (visit) GROUP BY visit HAVING sum(pageviews) > 0"
)


def _pages_list(limit: int) -> str:
    """The top pages by persons, with the visits that entered on each and their bounces, and the
    times from its pageviews to the visit's next pageview: within a part (the gaps rows), and
    from a part's last pageview to the next part's first (a visit over midnight)."""
    none = _label("pages", "pathname")
    return f"""
    SELECT 'pages', l.value, l.visitors, l.n, ent.n, ent.bounces, gap.gap_us, gap.gaps
    FROM (SELECT value, {person_count_duckdb(events="pp", link="pp")} AS visitors, sum(n) AS n FROM pp GROUP BY value
          ORDER BY visitors DESC, value LIMIT {int(limit)}) l
    LEFT JOIN (SELECT {_label("pages", "entry")} AS value, count(*) AS n,
                      count(*) FILTER (WHERE pageviews = 1 AND events = 1) AS bounces
               FROM v GROUP BY 1) ent ON ent.value = l.value
    LEFT JOIN (SELECT {none} AS value, sum(gap_us) AS gap_us, sum(gaps) AS gaps FROM (
                   SELECT pathname, gap_us, gaps FROM gaps
                   UNION ALL
                   SELECT exit, next_us - epoch_us(last_ts), 1 FROM (
                       SELECT exit, last_ts,
                              epoch_us(lead(first_ts) OVER (PARTITION BY visit ORDER BY first_ts)) AS next_us
                       FROM parts SEMI JOIN multi USING (visit) WHERE pageviews > 0)
                   WHERE next_us IS NOT NULL)
               GROUP BY 1) gap ON gap.value = l.value"""


def _day_sources(scope: EventScope) -> tuple[list[dt.date], list[dt.date]]:
    """The local days read from the web rollup's files, and those read from their events: every
    day's events when a filter tests anything but a dimension column; else the days without
    current files, and those with a visit part that disagrees on a dimension the filters test."""
    days = daysmod.days_between(scope.date_from, scope.date_to)
    tested = _dimensions_tested(scope.filters)
    if tested is None:
        return [], days
    current = web_days_current(scope.project_id, scope.tz, scope.date_from, scope.date_to)
    files = [day for day in days if day in current and not current[day] & tested]
    return files, [day for day in days if day not in files]


def _dimensions_tested(filters: Filters) -> frozenset[str] | None:
    """The dimension columns the filters test; None when one tests anything else."""
    columns = set()
    for leaf in filter_leaves(filters):
        if not isinstance(leaf, PropertyFilter) or leaf.type != "column" or COLUMN_KEYS[leaf.key] not in DIMENSIONS:
            return None
        columns.add(COLUMN_KEYS[leaf.key])
    return frozenset(columns)


def _runs(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    runs: list[tuple[dt.date, dt.date]] = []
    for day in days:
        if runs and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _goal_branches(scope: EventScope, goals: tuple[GoalSpec, ...], st: _Statement) -> None:
    """Pageview goals from the persons' pages; event goals from the scope's events of their names
    (filters applied, bots left out), their persons among the visitors."""
    pages = [(i, goal) for i, goal in enumerate(goals) if goal.kind == "pageview"]
    if pages:
        flags = ", ".join(f"CASE WHEN regexp_full_match(value, ?) THEN {i} END" for i, _ in pages)
        st.cte(
            "pg",
            f"SELECT g, person, sum(n) AS n FROM (SELECT {person_key_duckdb(events='pp', link='pp')} AS person, n, "
            f"unnest([{flags}]) AS g FROM pp) "
            "WHERE g IS NOT NULL GROUP BY g, person",
            [glob_regex(goal.path or "") for _, goal in pages],
        )
        st.branch("SELECT 'goal', CAST(g AS VARCHAR), count(*), sum(n), NULL, NULL, NULL, NULL FROM pg GROUP BY g")
    events = [(i, goal) for i, goal in enumerate(goals) if goal.kind == "event"]
    if events:
        keys = (key for _, goal in events for key in event_property_keys(goal.filters))
        names = tuple(dict.fromkeys(goal.event or "" for _, goal in events))
        goal_scope = replace(scope, events=names).reading(*keys)
        st.cte("ev", *events_relation(goal_scope))
        params: list[Any] = []
        flags = ", ".join(f"CASE WHEN {_event_flag(goal, goal_scope, params)} THEN {i} END" for i, goal in events)
        st.cte(
            "eg",
            f"SELECT g, person, count(*) AS n FROM (SELECT person, unnest([{flags}]) AS g FROM ev "
            f"WHERE device_type IS DISTINCT FROM '{BOT}') WHERE g IS NOT NULL AND person IN (SELECT person FROM pd) "
            "GROUP BY g, person",
            params,
        )
        st.branch("SELECT 'goal', CAST(g AS VARCHAR), count(*), sum(n), NULL, NULL, NULL, NULL FROM eg GROUP BY g")


def _label(name: str, column: str) -> str:
    missing = _MISSING.get(name, NONE_LABEL).replace("'", "''")
    return f"coalesce({column}, '{missing}')"


def _ranked(name: str, pairs: str, limit: int) -> str:
    """A list's top rows from ``pairs`` (one row per value and person: ``value``, ``n``): distinct
    persons counted as rows of the pairs, which DuckDB does several times faster than
    ``count(DISTINCT person)`` per group. ``limit`` is written in (an int), so the statement's
    parameters are only the goals' and filters' values, in the order their text appears."""
    return (
        f"SELECT '{name}', l.value, count(*) AS visitors, sum(l.n), NULL, NULL, NULL, NULL FROM ({pairs}) l "
        f"GROUP BY l.value ORDER BY visitors DESC, l.value LIMIT {int(limit)}"
    )


def _visit_list(name: str, column: str, limit: int) -> str:
    # Entry and exit pages count the visits (entrances, exits); sources all their pageviews.
    n = "count(*)" if column in ("entry", "exit") else "sum(pageviews)"
    where = f" WHERE {column} IS NOT NULL" if name in _TAGGED_ONLY else ""
    return _ranked(name, f"SELECT {_label(name, column)} AS value, {n} AS n FROM v{where} GROUP BY 1, person", limit)


def _event_flag(goal: GoalSpec, scope: EventScope, params: list[Any]) -> str:
    """Whether a row of ``ev`` reaches the event goal (params appended in the text's order)."""
    params.append(goal.event)
    predicate = filters_predicate(
        goal.filters,
        tz=scope.tz,
        relation=Relation(alias="ev", typed=frozenset(scope.typed_keys), person="ev.person"),
    )
    params.extend(predicate.params)
    return f"coalesce(event_name = ? AND ({predicate.sql}), FALSE)"


def _overview(rows: list[tuple], goals: tuple[GoalSpec, ...]) -> Overview:
    out = Overview(Totals(), lists={name: [] for name in LISTS})
    for kind, value, a, b, c, d, e, f in rows:
        if kind == "total":
            out.totals.visitors, out.totals.pageviews = a, b
        elif kind == "visits":
            out.totals.visits, out.totals.bounces, out.totals.duration_us = a, b, int(c or 0)
        elif kind == "day":
            out.series[dt.date.fromisoformat(value)] = (a, b)
        elif kind == "goal":
            out.goals[goals[int(value)].id] = (a, b)
        else:
            out.lists[kind].append(Row(value, a, int(b), int(c or 0), int(d or 0), int(e or 0), int(f or 0)))
    for name in LISTS:
        out.lists[name].sort(key=lambda row: (-row.visitors, row.value))
    return out

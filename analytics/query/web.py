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

Why one statement: the events are read once into ``b`` (the columns the lists need, a flag per
goal) and the visits derived from it once (``v``: one group per visit with its entry, exit,
source and span); every number and list is an aggregation over those, in one ``UNION ALL``, so
DuckDB scans the Parquet files and PostgreSQL once. Distinct persons are counted as rows of
(value, person) pairs, several times faster in DuckDB than ``count(DISTINCT person)`` per group;
time on page is one window over the pageviews that sorts only page, visit and time.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from analytics.query.filters import NO_FILTERS, Filters
from analytics.query.local_days import local_date_sql
from analytics.query.predicates import Relation, event_property_keys, filters_predicate
from analytics.query.source import EventScope, events_relation, query_rows

PAGEVIEW = "$pageview"
BOT = "bot"
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
_SOURCES = ("referrer_host", "channel", "utm_source", "utm_campaign")
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


def web_overview_rows(
    scope: EventScope, *, goals: tuple[GoalSpec, ...] = (), limit: int = 20, totals_only: bool = False
) -> Overview:
    """The overview of the scope's events (its filters applied, bots left out)."""
    scope = scope.reading(*(key for goal in goals for key in event_property_keys(goal.filters)))
    relation, params = events_relation(scope)
    lo, hi = scope.bounds
    flags = [_goal_flag(goal, scope, params) for goal in goals]
    flag_columns = "".join(f", {flag} AS g{i}" for i, flag in enumerate(flags))
    branches = [
        "SELECT 'total' AS kind, NULL AS value, count(*) AS a, sum(n) AS b, "
        "NULL AS c, NULL AS d, NULL AS e, NULL AS f FROM (SELECT person, count(*) AS n FROM p GROUP BY person)",
        "SELECT 'visits', NULL, count(*), count(*) FILTER (WHERE pageviews = 1 AND events = 1), "
        "sum(span_us), NULL, NULL, NULL FROM v",
    ]
    if not totals_only:
        day = local_date_sql("ts", lo=lo, hi=hi, tz=scope.tz)
        branches.append(
            "SELECT 'day', CAST(value AS VARCHAR), count(*), sum(n), NULL, NULL, NULL, NULL "
            f"FROM (SELECT {day} AS value, person, count(*) AS n FROM p GROUP BY 1, 2) GROUP BY value"
        )
        branches += [_pageview_list(name, column, limit) for name, column in PAGEVIEW_LISTS.items()]
        branches += [_visit_list(name, column, limit) for name, column in VISIT_LISTS.items()]
        if goals:
            goal_list = ", ".join(f"CASE WHEN g{i} THEN {i} END" for i in range(len(goals)))
            any_goal = " OR ".join(f"g{i}" for i in range(len(goals)))
            branches.append(
                "SELECT 'goal', CAST(g AS VARCHAR), count(DISTINCT person), count(*), NULL, NULL, NULL, NULL "
                f"FROM (SELECT person, unnest([{goal_list}]) AS g FROM b WHERE {any_goal}) "
                "WHERE g IS NOT NULL AND person IN (SELECT person FROM p) GROUP BY g"
            )
    union = "\nUNION ALL\n".join(f"({branch})" for branch in branches)
    # The period before (compare) needs the headline numbers only: no entry, exit or source.
    visit_columns = f",\n{_VISIT_PAGES}" if not totals_only else ""
    sql = f"""
    WITH ev AS ({relation}),
    b AS MATERIALIZED (
        SELECT person, ts, event_id, event_name = '{PAGEVIEW}' AS pv,
               coalesce(session_id, 'event:' || CAST(event_id AS VARCHAR)) AS visit,
               pathname, country, device_type, browser, os, {", ".join(_SOURCES)}{flag_columns}
        FROM ev WHERE device_type IS DISTINCT FROM '{BOT}'
    ),
    p AS (SELECT * FROM b WHERE pv),
    v AS MATERIALIZED (
        SELECT visit, count(*) FILTER (WHERE pv) AS pageviews, count(*) AS events,
               epoch_us(max(ts)) - epoch_us(min(ts)) AS span_us{visit_columns}
        FROM b GROUP BY visit HAVING count(*) FILTER (WHERE pv) > 0
    )
    {union}
    """
    return _overview(query_rows(sql, params, tz=scope.tz), goals)


# A visit's first pageview's person, path and source, and its last pageview's path. (ts, event_id)
# orders pageviews of the same instant as the oracle does.
_VISIT_PAGES = ",\n".join(
    [
        "arg_min_null(person, (ts, event_id)) FILTER (WHERE pv) AS person",
        "arg_min_null(pathname, (ts, event_id)) FILTER (WHERE pv) AS entry",
        "arg_max_null(pathname, (ts, event_id)) FILTER (WHERE pv) AS exit",
        *(f"arg_min_null({c}, (ts, event_id)) FILTER (WHERE pv) AS {c}" for c in _SOURCES),
    ]
)
# Per page: the visits that entered on it and their bounces, and the times from its pageviews to
# the visit's next pageview (a window sorting only what it needs: the page, the visit, the time).
_PAGE_EXTRAS = """
    LEFT JOIN (SELECT entry, count(*) AS n, count(*) FILTER (WHERE pageviews = 1 AND events = 1) AS bounces
               FROM v GROUP BY entry) ent ON ent.entry IS NOT DISTINCT FROM l.raw
    LEFT JOIN (SELECT pathname, sum(gap_us) AS gap_us, count(gap_us) AS gaps
               FROM (SELECT pathname, epoch_us(lead(ts) OVER (PARTITION BY visit ORDER BY ts, event_id))
                                      - epoch_us(ts) AS gap_us FROM p)
               GROUP BY pathname) gap ON gap.pathname IS NOT DISTINCT FROM l.raw"""


def _label(name: str, column: str) -> str:
    missing = _MISSING.get(name, NONE_LABEL).replace("'", "''")
    return f"coalesce({column}, '{missing}')"


def _ranked(name: str, pairs: str, limit: int, extra: str = "NULL, NULL, NULL, NULL", joins: str = "") -> str:
    """A list's top rows from ``pairs`` (one row per value and person: ``value``, ``raw``, ``n``):
    distinct persons counted as rows of the pairs, which DuckDB does several times faster than
    ``count(DISTINCT person)`` per group. ``limit`` is written in (an int), so the statement's
    parameters are only the goals' and filters' values, in the order their text appears."""
    return (
        f"SELECT '{name}', l.value, count(*) AS visitors, sum(l.n), {extra} FROM ({pairs}) l{joins} "
        f"GROUP BY l.value ORDER BY visitors DESC, l.value LIMIT {int(limit)}"
    )


def _pageview_list(name: str, column: str, limit: int) -> str:
    pairs = (
        f"SELECT {_label(name, column)} AS value, any_value({column}) AS raw, count(*) AS n FROM p GROUP BY 1, person"
    )
    if name != "pages":
        return _ranked(name, pairs, limit)
    extra = "any_value(ent.n), any_value(ent.bounces), any_value(gap.gap_us), any_value(gap.gaps)"
    return _ranked(name, pairs, limit, extra, _PAGE_EXTRAS)


def _visit_list(name: str, column: str, limit: int) -> str:
    # Entry and exit pages count the visits (entrances, exits); sources all their pageviews.
    n = "count(*)" if column in ("entry", "exit") else "sum(pageviews)"
    where = f" WHERE {column} IS NOT NULL" if name in _TAGGED_ONLY else ""
    return _ranked(name, f"SELECT {_label(name, column)} AS value, {n} AS n FROM v{where} GROUP BY 1, person", limit)


def _goal_flag(goal: GoalSpec, scope: EventScope, params: list[Any]) -> str:
    """Whether a row of the relation reaches ``goal`` (params appended in the text's order)."""
    if goal.kind == "pageview":
        params.append(glob_regex(goal.path or ""))
        return f"(event_name = '{PAGEVIEW}' AND regexp_full_match(pathname, ?))"
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

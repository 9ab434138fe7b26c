"""The web overview's rows per local day: what the web rollup stores (analytics.web_days) and what
the overview computes on the fly for the days without a current rollup. One definition of both,
so a day reads the same from a file as from its events.

A day's events (bots left out, the request's filters applied) become four relations:

- **pairs**: one row per (pathname, user id, dimensions) of the day's pageviews with their
  count: the pages list and the pageview goals are sums and distinct persons over these.
- **visitors**: the same without the pathname, one row per (user id, dimensions): visitors,
  pageviews, the series and the countries, devices, browsers and os lists.
  Ids, not persons, are stored: a query resolves them to persons (persons.identity) when it runs,
  so an identity merge changes no stored row.
- **parts**: one row per (day, visit) — a visit's part within the day: its events and pageviews,
  first and last instants, its first pageview (time, id, user id, path, source) and last pageview
  (time, id, path), and the dimensions when all its events agree on them. A query merges a
  visit's parts across days, so a visit over midnight is one visit, as when reading events.
- **gaps**: per (pathname, dimensions) the sum and count of the times from a pageview to the
  next pageview of its part; the gap from a part's last pageview to the next part's first is
  added when the parts are merged.

A part whose events do not all agree on a dimension cannot be filtered by it without its events
(a visit is made of its matching events): ``mixed`` lists those dimensions per part, and a day
with such a part is read from its events for a filter on them.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable

from analytics.query.local_days import local_date_sql

PAGEVIEW = "$pageview"
BOT = "bot"
# The web columns a rollup file can be filtered by (column filters on them): per pageview in the
# pairs and gaps, per part when uniform. Sources are not among them: they are a visit's first
# pageview's, not every event's.
DIMENSIONS = ("device_type", "browser", "browser_version", "os", "os_version", "country", "region", "city", "host")
SOURCES = ("referrer_host", "channel", "utm_source", "utm_campaign")
_DIMS = ", ".join(DIMENSIONS)


def base_sql(relation: str, *, lo: dt.datetime, hi: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    """The relation's events as the rows below read them: local day, user id, time, id, whether a
    pageview, visit (the session; an event without one is a visit of its own), page, dimensions
    and source. Bots (crawlers kept flagged) are left out of everything."""
    day = local_date_sql("ts", lo=lo, hi=hi, tz=tz)
    return (
        f"SELECT {day} AS day, user_id, ts, event_id, event_name = '{PAGEVIEW}' AS pv, "
        "coalesce(session_id, 'event:' || CAST(event_id AS VARCHAR)) AS visit, pathname, "
        f"{_DIMS}, {', '.join(SOURCES)} FROM ({relation}) WHERE device_type IS DISTINCT FROM '{BOT}'"
    )


def pairs_sql(base: str) -> str:
    return f"SELECT day, pathname, user_id, {_DIMS}, count(*) AS n FROM {base} WHERE pv GROUP BY ALL"


def visitors_sql(base: str) -> str:
    return f"SELECT day, user_id, {_DIMS}, count(*) AS n FROM {base} WHERE pv GROUP BY ALL"


def parts_sql(base: str) -> str:
    # (ts, event_id) orders the pageviews of one instant as the oracle does.
    first = [f"arg_min_null({c}, (ts, event_id)) FILTER (WHERE pv) AS {c}" for c in ("user_id", *SOURCES)]
    uniform = [f"min({d}) AS {d}" for d in DIMENSIONS]
    mixed = ", ".join(
        f"CASE WHEN count(DISTINCT {d}) > 1 OR (count({d}) > 0 AND count({d}) < count(*)) THEN '{d}' END"
        for d in DIMENSIONS
    )
    columns = ",\n".join(
        [
            "day, visit, count(*) AS events, count(*) FILTER (WHERE pv) AS pageviews",
            "min(ts) AS min_ts, max(ts) AS max_ts",
            "min(ts) FILTER (WHERE pv) AS first_ts, arg_min(event_id, (ts, event_id)) FILTER (WHERE pv) AS first_id",
            "max(ts) FILTER (WHERE pv) AS last_ts, arg_max(event_id, (ts, event_id)) FILTER (WHERE pv) AS last_id",
            "arg_min_null(pathname, (ts, event_id)) FILTER (WHERE pv) AS entry",
            "arg_max_null(pathname, (ts, event_id)) FILTER (WHERE pv) AS exit",
            *first,
            *uniform,
            f"list_filter([{mixed}], d -> d IS NOT NULL) AS mixed",
        ]
    )
    return f"SELECT {columns} FROM {base} GROUP BY day, visit"


def gaps_sql(base: str) -> str:
    return (
        f"SELECT day, pathname, {_DIMS}, sum(gap_us) AS gap_us, count(gap_us) AS gaps FROM ("
        f"SELECT day, pathname, {_DIMS}, "
        "epoch_us(lead(ts) OVER (PARTITION BY day, visit ORDER BY ts, event_id)) - epoch_us(ts) AS gap_us "
        f"FROM {base} WHERE pv) GROUP BY ALL HAVING count(gap_us) > 0"
    )


# The relations of a day, by name: a rollup file each (analytics.web_days).
RELATIONS: dict[str, Callable[[str], str]] = {
    "pairs": pairs_sql,
    "visitors": visitors_sql,
    "parts": parts_sql,
    "gaps": gaps_sql,
}

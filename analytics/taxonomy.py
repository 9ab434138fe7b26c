"""The taxonomy's part of a day's rebuild: types of property values, and samples of keys over the cap.

Run by ``rollups._rebuild_local_day`` after ``rollup_props_typed`` and ``rollup_props`` (the day's
distinct values per event and key, with their JSON type) are staged, and after the day's rows of
every per-day table were deleted. The reporting API's taxonomy (``reporting/queries/definitions.py``)
reads what these write, never the events:

- ``analytics_daily_prop_types``: events per (day, event, key, detected type); the type rule is
  ``events.property_types``, applied here once per distinct value of the day, not once per event;
- ``analytics_property_definition``'s ``*_events``: the same counts summed over every rolled-up
  day, re-summed for the (event, key) pairs of the rebuilt day (an indexed read of that pair's
  days), so reading a key's type is one row whatever the history;
- ``analytics_daily_prop_samples``: for keys over ``PROPERTY_VALUES_CAP`` values that day (a gap in
  ``analytics_daily_props``), the day's most frequent values, so autocomplete has values for
  paths and ids too. Person data keys are left out, as from the property rollup.
"""

from __future__ import annotations

from events.property_types import property_type_sql

# Before the day's rows are deleted: the pairs the day had, so that a pair the rebuild no longer
# finds (its events were erased) is re-summed too, down to zero if it has no other day.
BEFORE_DELETE = """
CREATE TEMPORARY TABLE rollup_prop_pairs ON COMMIT DROP AS
SELECT DISTINCT event_name, key FROM analytics_daily_prop_types WHERE project_id = %(p)s AND day = %(day)s
"""

STATEMENTS: list[str] = [
    f"""
    INSERT INTO analytics_daily_prop_types (project_id, day, event_name, key, type, events)
    SELECT %(p)s, %(day)s, event_name, key, type, sum(n)
    FROM (
        SELECT event_name, key, {property_type_sql(json_type="json_type", text="value")} AS type, n
        FROM rollup_props_typed
    ) t
    WHERE type IS NOT NULL
    GROUP BY event_name, key, type
    """,
    """
    UPDATE analytics_property_definition d
    SET string_events = t.string_events, number_events = t.number_events,
        boolean_events = t.boolean_events, datetime_events = t.datetime_events
    FROM (
        SELECT pair.event_name, pair.key,
               coalesce(sum(events) FILTER (WHERE type = 'string'), 0) AS string_events,
               coalesce(sum(events) FILTER (WHERE type = 'number'), 0) AS number_events,
               coalesce(sum(events) FILTER (WHERE type = 'boolean'), 0) AS boolean_events,
               coalesce(sum(events) FILTER (WHERE type = 'datetime'), 0) AS datetime_events
        FROM (SELECT event_name, key FROM rollup_props UNION SELECT event_name, key FROM rollup_prop_pairs) pair
        LEFT JOIN analytics_daily_prop_types t
          ON t.project_id = %(p)s AND t.event_name = pair.event_name AND t.key = pair.key
        GROUP BY pair.event_name, pair.key
    ) t
    WHERE d.project_id = %(p)s AND d.event_name = t.event_name AND d.key = t.key
    """,
    """
    INSERT INTO analytics_daily_prop_samples (project_id, day, event_name, key, value, events)
    SELECT %(p)s, %(day)s, event_name, key, value, n
    FROM (
        SELECT event_name, key, value, n,
               row_number() OVER (PARTITION BY event_name, key ORDER BY n DESC, value) AS rank
        FROM rollup_props
        WHERE n_values > %(cap)s AND value IS NOT NULL AND key <> ALL(%(person_keys)s)
    ) ranked
    WHERE rank <= %(cap)s
    """,
]

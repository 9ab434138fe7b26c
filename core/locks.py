"""PostgreSQL advisory-lock ids, all in one place so that no two rules ever share one.

Transaction-scoped (``pg_advisory_xact_lock``). A one-argument lock serialises one thing for the
whole database; a (class, project id) pair serialises one project's work of that class.
"""

PARTITIONS = 7_301_001  # creating partitions of ``events`` (events.partitions)
ROLLUPS_PER_PROJECT = 7_301  # rebuilding a project's rollups, and erasing from them (analytics)
PERSONS_PER_PROJECT = 7_302  # person writes of one project (persons.services)
GROUP_TYPES_PER_PROJECT = 7_303  # assigning a project's group type indexes (persons.groups)
COLUMNAR = 7_301_002  # writing the columnar tier's files (events.columnar): one writer at a time
COHORTS = 7_301_003  # computing cohorts' members (analytics.cohorts): one computer at a time
WEB_ROLLUP = 7_301_004  # building the web rollup's files (analytics.web_days): one builder at a time

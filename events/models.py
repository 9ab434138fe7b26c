"""The event store's tables.

``events`` is created by raw SQL (analytics/migrations/0001, from before this app existed)
because it is range-partitioned by day on ``timestamp``; Django only reads it through this
unmanaged model. Its columns are a public contract (README, "The events table"): people query it
with SQL, Grafana and DuckDB. Both models moved here from ``analytics`` by state-only migrations
(events/migrations/0001, analytics/migrations/0007): the tables kept their names.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models

# Derived at capture from the user agent, the IP and the page (ingestion.enrichment); NULL when
# not derivable or stored before enrichment existed. A contract, like the other columns.
WEB_COLUMNS = (
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device_type",
    "country",
    "region",
    "city",
    "host",
    "pathname",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "channel",
)

# The keys of an event's groups (persons.groups): ``group_<i>`` holds its key of the project's
# group type of index i (0..4, assigned on first sight); NULL when the event names none. A contract too.
GROUP_COLUMNS = tuple(f"group_{index}" for index in range(5))


class Event(models.Model):
    pk = models.CompositePrimaryKey("project_id", "event_id", "timestamp")
    project_id = models.IntegerField()
    event_id = models.UUIDField()
    event_name = models.TextField()
    source = models.TextField()
    user_id = models.TextField()
    is_anonymous = models.BooleanField()
    session_id = models.TextField(null=True)  # noqa: DJ001 - mirrors the SQL table: NULL is "no session"
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    properties = models.JSONField()
    ip = models.GenericIPAddressField(null=True)
    user_agent = models.TextField(null=True)  # noqa: DJ001 - mirrors the SQL table
    # WEB_COLUMNS, nullable text like user_agent
    browser = models.TextField(null=True)  # noqa: DJ001
    browser_version = models.TextField(null=True)  # noqa: DJ001
    os = models.TextField(null=True)  # noqa: DJ001
    os_version = models.TextField(null=True)  # noqa: DJ001
    device_type = models.TextField(null=True)  # noqa: DJ001
    country = models.TextField(null=True)  # noqa: DJ001
    region = models.TextField(null=True)  # noqa: DJ001
    city = models.TextField(null=True)  # noqa: DJ001
    host = models.TextField(null=True)  # noqa: DJ001
    pathname = models.TextField(null=True)  # noqa: DJ001
    referrer_host = models.TextField(null=True)  # noqa: DJ001
    utm_source = models.TextField(null=True)  # noqa: DJ001
    utm_medium = models.TextField(null=True)  # noqa: DJ001
    utm_campaign = models.TextField(null=True)  # noqa: DJ001
    utm_content = models.TextField(null=True)  # noqa: DJ001
    utm_term = models.TextField(null=True)  # noqa: DJ001
    channel = models.TextField(null=True)  # noqa: DJ001
    # GROUP_COLUMNS
    group_0 = models.TextField(null=True)  # noqa: DJ001
    group_1 = models.TextField(null=True)  # noqa: DJ001
    group_2 = models.TextField(null=True)  # noqa: DJ001
    group_3 = models.TextField(null=True)  # noqa: DJ001
    group_4 = models.TextField(null=True)  # noqa: DJ001

    class Meta:
        managed = False
        db_table = "events"

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id}"


class RollupDirtyDay(models.Model):
    """A UTC date of a project whose raw events changed since its rollups were built.

    Append-only: the ingestion flush INSERTs a row per (project, date) it touched, with no
    unique key, so marking never waits on a lock — an ``ON CONFLICT`` against a marker that a
    running rebuild had deleted made every flush wait for that rebuild's commit. The rollup job
    locks the rows it consumes (``FOR UPDATE SKIP LOCKED``), rebuilds their days and deletes
    exactly those rows; markers added meanwhile have new ids and are consumed by the next run.
    Written by ``events.dirty``; the table keeps the name it had in ``analytics``.
    """

    project_id = models.IntegerField()
    utc_date = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        db_table = "analytics_dirty_day"
        indexes = [models.Index(fields=["project_id", "utc_date"], name="dirty_day_project_date")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.utc_date}"


# --- The columnar tier --------------------------------------------------------------------------
#
# A Parquet copy of each (project, UTC day) of ``events`` for the query layer (events/columnar.py).
# PostgreSQL stays the source of truth: a day is read from its file only while no marker says it
# changed since; otherwise, and for days never copied, the query reads PostgreSQL.


class ColumnarDay(models.Model):
    """A (project, UTC day) whose events are in a Parquet file, as they were when it was written."""

    pk = models.CompositePrimaryKey("project_id", "utc_date")
    project_id = models.IntegerField()
    utc_date = models.DateField()
    rows = models.BigIntegerField()
    written_at = models.DateTimeField()
    layout = models.SmallIntegerField(default=1)  # events.columnar.LAYOUT when written
    property_keys = ArrayField(models.TextField(), default=list)  # keys with typed columns in the file

    class Meta:
        db_table = "events_columnar_day"

    def __str__(self) -> str:
        return f"{self.project_id} {self.utc_date}"


class ColumnarDirtyDay(models.Model):
    """A (project, UTC day) whose events changed after (or before) its file was written.

    Append-only, written with the rollups' marker in the same statement (events.dirty); the
    columnar job consumes exactly the rows it locked, as the rollup job does its own."""

    project_id = models.IntegerField()
    utc_date = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        db_table = "events_columnar_dirty"
        indexes = [models.Index(fields=["project_id", "utc_date"], name="columnar_dirty_project_date")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.utc_date}"

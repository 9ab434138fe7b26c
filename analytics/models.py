"""The rollups: tables derived from raw ``events`` (events/models.py), each declared in
analytics/registry.py, and the rollup jobs' checkpoints.

Every rollup row belongs to one project and one LOCAL day (the project's timezone decides where
days begin). A day is rebuilt as a unit (delete + insert from raw ``events`` in one transaction,
see analytics/rollups.py), so rebuilding is idempotent and late events correct past days.
``project_id`` is a plain integer, as in ``events``: a foreign key would make Django cascade a
project deletion row by row through millions of rollup rows.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class TrackedUser(models.Model):
    """The per-project user dictionary: ``user_id`` text -> a dense integer ``user_key``.

    Keys are dense per project (1, 2, 3, ...) so a day's active users fit in a small bitmap
    (``DayUsersBitmap``). This is also where identity merges will plug in later: a person mapping
    assigns several user_keys to one person and the bitmaps are rebuilt per person.
    ``first_seen``/``last_seen`` only move outwards (LEAST/GREATEST), which stays correct under
    rebuilds because raw events are never edited, only added.
    """

    pk = models.CompositePrimaryKey("project_id", "user_key")
    project_id = models.IntegerField()
    user_key = models.IntegerField()
    user_id = models.TextField()
    is_anonymous = models.BooleanField(default=False)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        db_table = "analytics_user"
        constraints = [
            models.UniqueConstraint(fields=["project_id", "user_id"], name="analytics_user_uniq_user_id"),
        ]
        indexes = [models.Index(fields=["project_id", "first_seen"], name="analytics_user_first_seen")]


class UserDay(models.Model):
    """The compact active-users table: one row per (project, local day, user) with activity."""

    pk = models.CompositePrimaryKey("project_id", "day", "user_key")
    project_id = models.IntegerField()
    day = models.DateField()
    user_key = models.IntegerField()
    events = models.IntegerField()
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        db_table = "analytics_user_day"
        indexes = [models.Index(fields=["project_id", "user_key", "day"], name="analytics_user_day_by_user")]


class DayUsersBitmap(models.Model):
    """The users active on a local day, as a bitmap over ``TrackedUser.user_key``.

    ``event_name`` is "" for "any event". Distinct users over any range is the popcount of the
    OR of the days' bitmaps: exact, and a few milliseconds where COUNT(DISTINCT) over the
    equivalent rows takes hundreds (measured in docs/ARCHITECTURE.md, "Query engine").
    Bit k is bit (k % 8) of byte k // 8 (little-endian, Python ``int.from_bytes(b, "little")``).
    """

    pk = models.CompositePrimaryKey("project_id", "day", "event_name")
    project_id = models.IntegerField()
    day = models.DateField()
    event_name = models.TextField()
    users = models.BinaryField()
    user_count = models.IntegerField()

    class Meta:
        db_table = "analytics_day_users"
        indexes = [models.Index(fields=["project_id", "event_name", "day"], name="analytics_day_users_by_event")]


class DailyEventCount(models.Model):
    pk = models.CompositePrimaryKey("project_id", "day", "event_name", "source")
    project_id = models.IntegerField()
    day = models.DateField()
    event_name = models.TextField()
    source = models.TextField()
    events = models.BigIntegerField()

    class Meta:
        db_table = "analytics_daily_events"


class HourlyEventCount(models.Model):
    """Events per local hour (``hour`` is the instant the local hour starts) for hourly trends."""

    pk = models.CompositePrimaryKey("project_id", "hour", "event_name")
    project_id = models.IntegerField()
    day = models.DateField(help_text="The local day the hour belongs to (the unit of rebuild).")
    hour = models.DateTimeField()
    event_name = models.TextField()
    events = models.BigIntegerField()

    class Meta:
        db_table = "analytics_hourly_events"
        indexes = [models.Index(fields=["project_id", "day"], name="analytics_hourly_events_day")]


class EventDefinition(models.Model):
    """Event names seen in a project, so "unknown event" is one indexed lookup, not a raw scan."""

    pk = models.CompositePrimaryKey("project_id", "event_name")
    project_id = models.IntegerField()
    event_name = models.TextField()
    first_seen_day = models.DateField()
    last_seen_day = models.DateField()

    class Meta:
        db_table = "analytics_event_definition"


class PropertyDefinition(models.Model):
    """Top-level property keys seen per event name (validates trend breakdowns, the taxonomy).

    The ``*_events`` columns count the key's values per detected type (events.property_types) over
    every rolled-up day; they are summed again from ``DailyPropertyType`` for the keys of each day
    rebuilt (analytics.taxonomy), so a rebuild stays idempotent and reading a type is one row.
    """

    pk = models.CompositePrimaryKey("project_id", "event_name", "key")
    project_id = models.IntegerField()
    event_name = models.TextField()
    key = models.TextField()
    string_events = models.BigIntegerField(default=0, db_default=0)
    number_events = models.BigIntegerField(default=0, db_default=0)
    boolean_events = models.BigIntegerField(default=0, db_default=0)
    datetime_events = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "analytics_property_definition"


class FillState(models.Model):
    """Checkpoint of a rollup process (zulip's FillState): how far it got and whether it finished.

    ``rollups``: ``end_time`` is the watermark, every event received before it is aggregated.
    ``catchup``: ``end_time`` is midnight after the last UTC partition scanned for missing rollups.
    """

    DONE = 1
    STARTED = 2

    name = models.CharField(max_length=40, primary_key=True)
    end_time = models.DateTimeField()
    state = models.PositiveSmallIntegerField()
    last_modified = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "analytics_fill_state"


class DailyPropertyCount(models.Model):
    """Events per (local day, event, top-level property key, value), for breakdowns.

    Only keys with few distinct values that day are kept (``rollups.PROPERTY_VALUES_CAP``); a key
    over the cap gets a ``PropertyRollupGap`` row instead, and breakdowns on a range that contains
    a gap read raw events. Events without the key (or with a JSON null) are not stored: they are
    the day's event count minus the sum over values.
    """

    pk = models.CompositePrimaryKey("project_id", "day", "event_name", "key", "value")
    project_id = models.IntegerField()
    day = models.DateField()
    event_name = models.TextField()
    key = models.TextField()
    value = models.TextField()
    events = models.BigIntegerField()

    class Meta:
        db_table = "analytics_daily_props"
        indexes = [models.Index(fields=["project_id", "event_name", "key", "day"], name="analytics_daily_props_by_key")]


class PropertyRollupGap(models.Model):
    """A (day, event, key) whose values were too many to roll up: breakdowns over it read raw rows."""

    pk = models.CompositePrimaryKey("project_id", "day", "event_name", "key")
    project_id = models.IntegerField()
    day = models.DateField()
    event_name = models.TextField()
    key = models.TextField()

    class Meta:
        db_table = "analytics_property_gap"
        indexes = [
            models.Index(fields=["project_id", "event_name", "key", "day"], name="analytics_property_gap_by_key")
        ]


class DailyPropertyType(models.Model):
    """Events per (local day, event, top-level key, detected type of the value): the taxonomy's types.

    JSON nulls are not counted (an unset value has no type). Summed per key into
    ``PropertyDefinition`` when a day is rebuilt.
    """

    pk = models.CompositePrimaryKey("project_id", "day", "event_name", "key", "type")
    project_id = models.IntegerField()
    day = models.DateField()
    event_name = models.TextField()
    key = models.TextField()
    type = models.TextField()
    events = models.BigIntegerField()

    class Meta:
        db_table = "analytics_daily_prop_types"
        indexes = [models.Index(fields=["project_id", "event_name", "key", "day"], name="analytics_prop_types_by_key")]


class DailyPropertySample(models.Model):
    """For a (day, event, key) over the values cap (a ``PropertyRollupGap``): its most frequent values.

    Keeps the day's ``rollups.PROPERTY_VALUES_CAP`` most frequent values with their counts, so the
    taxonomy's top values and samples cover keys like paths and ids without a scan of events. Not
    person data keys (they are never rolled up). Breakdowns do not read it: it is not every value.
    """

    pk = models.CompositePrimaryKey("project_id", "day", "event_name", "key", "value")
    project_id = models.IntegerField()
    day = models.DateField()
    event_name = models.TextField()
    key = models.TextField()
    value = models.TextField()
    events = models.BigIntegerField()

    class Meta:
        db_table = "analytics_daily_prop_samples"
        indexes = [
            models.Index(fields=["project_id", "event_name", "key", "day"], name="analytics_prop_samples_by_key")
        ]


class WebDay(models.Model):
    """A (project, local day) of the web rollup (analytics.web_days): its files hold the day's
    pageview pairs, visit parts and page gaps (analytics.query.web_rows), built in ``tz`` from
    the events as they were when the UTC days it overlaps had the files named by ``sources``.
    The overview reads a day's files while ``tz``, ``layout`` and ``sources`` still hold."""

    pk = models.CompositePrimaryKey("project_id", "local_date")
    project_id = models.IntegerField()
    local_date = models.DateField()  # not ``day``: a manifest, not rebuilt with the rollups' days
    tz = models.TextField()
    layout = models.SmallIntegerField()
    sources = models.TextField()  # the overlapping UTC days' columnar files, as web_days.sources_stamp
    mixed = ArrayField(models.TextField(), default=list)  # dimensions some visit part disagrees on
    built_at = models.DateTimeField()

    class Meta:
        db_table = "analytics_web_day"

    def __str__(self) -> str:
        return f"{self.project_id} {self.local_date}"


class Goal(models.Model):
    """A web goal of a project (analytics.query.web): a pageview whose path matches ``path`` (a
    glob, ``*`` any run of characters), or an ``event`` matching ``filters`` (event and column
    filters, the filter contract's JSON). Not derived from events: the user's definition, so a
    foreign key, and a project's deletion takes its goals with it."""

    PAGEVIEW, EVENT = "pageview", "event"

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=[(PAGEVIEW, PAGEVIEW), (EVENT, EVENT)])
    path = models.CharField(max_length=500, blank=True, default="", help_text="pageview goals: a glob.")
    event = models.CharField(max_length=200, blank=True, default="", help_text="event goals: the event name.")
    filters = models.JSONField(default=list, blank=True, help_text="event goals: filters on the event.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "analytics_goal"
        indexes = [models.Index(fields=["project", "id"], name="analytics_goal_project")]

    def __str__(self) -> str:
        return f"goal {self.pk} {self.name!r} of project {self.project_id}"


class Annotation(models.Model):
    """A dated note of a project ("v2 released", "campaign starts"), drawn on its time-series charts.

    ``date`` is a local date of the project, not an instant: the charts it marks are bucketed by
    the project's local days, so a note about a day lands on that day's point whatever the zone.
    """

    MAX_TEXT = 400

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    text = models.CharField(max_length=MAX_TEXT)
    # Null when its author's account is deleted (the note stays).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "analytics_annotation"
        indexes = [models.Index(fields=["project", "date"], name="analytics_annotation_date")]

    def __str__(self) -> str:
        return f"annotation {self.pk} {self.date} of project {self.project_id}"

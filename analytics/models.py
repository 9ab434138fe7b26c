"""The event store.

``events`` is created by raw SQL (analytics/migrations/0001) because it is range-partitioned by
day on ``timestamp``; Django only reads it through this unmanaged model. Its columns are a public
contract (README, "The events table"): people query it with SQL, Grafana and DuckDB.
"""

from django.db import models


class Event(models.Model):
    pk = models.CompositePrimaryKey("project_id", "event_id", "timestamp")
    project_id = models.IntegerField()
    event_id = models.UUIDField()
    event_name = models.TextField()
    source = models.TextField()
    user_id = models.TextField()
    is_anonymous = models.BooleanField()
    session_id = models.TextField(null=True)  # noqa: DJ001 - mirrors the SQL table
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    properties = models.JSONField()
    ip = models.GenericIPAddressField(null=True)
    user_agent = models.TextField(null=True)  # noqa: DJ001 - mirrors the SQL table

    class Meta:
        managed = False
        db_table = "events"

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id}"

from django.db import migrations

# A unique index on a partitioned table must contain the partition key. A client that retries
# sends the same event_id *and* timestamp, so (project_id, event_id, timestamp) makes a replayed
# event a no-op; retries whose timestamp the server filled in are caught earlier by the ingest
# dedupe window in Redis (see docs/ARCHITECTURE.md).
CREATE = """
CREATE TABLE events (
    project_id   integer     NOT NULL,
    event_id     uuid        NOT NULL,
    event_name   text        NOT NULL,
    source       text        NOT NULL DEFAULT 'api',
    user_id      text        NOT NULL,
    is_anonymous boolean     NOT NULL DEFAULT false,
    session_id   text,
    "timestamp"  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    properties   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    ip           inet,
    user_agent   text,
    CONSTRAINT events_pkey PRIMARY KEY (project_id, event_id, "timestamp")
) PARTITION BY RANGE ("timestamp");
CREATE INDEX events_project_time_name ON events (project_id, "timestamp", event_name);
COMMENT ON TABLE events IS 'Raw events, one row per accepted event, daily partitions events_pYYYYMMDD (UTC days).';
"""


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunSQL(CREATE, "DROP TABLE events CASCADE;"),
        migrations.CreateModel(
            name="Event",
            fields=[],
            options={"managed": False, "db_table": "events"},
        ),
    ]

from django.db import migrations

# Per-event questions on raw rows (trend breakdowns, funnels, hourly distinct users, export with an
# event filter) read a few percent of a range's rows. With only (project_id, timestamp, event_name)
# PostgreSQL reads the whole time range and filters; with the event name ahead of the time it reads
# just that event (bench: "purchase by plan", 30 days of 10M events, 816 ms -> see BENCHMARKS.md).
# The cost is a second index maintained by the flush. On a large existing table, build it per
# partition with CREATE INDEX CONCURRENTLY and attach, instead of this blocking statement.
CREATE = 'CREATE INDEX IF NOT EXISTS events_project_name_time ON events (project_id, event_name, "timestamp")'


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_rollups")]

    operations = [migrations.RunSQL(CREATE, "DROP INDEX IF EXISTS events_project_name_time")]

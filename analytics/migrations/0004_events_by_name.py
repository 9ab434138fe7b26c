from django.db import migrations

# Per-event questions on raw rows (trend breakdowns, funnels, hourly distinct users, export with an
# event filter) read a few percent of a range's rows. With only (project_id, timestamp, event_name)
# PostgreSQL reads the whole time range and filters; with the event name ahead of the time it reads
# just that event (bench: "purchase by plan", 30 days of 10M events, 816 ms -> see BENCHMARKS.md).
# INCLUDE (user_id) makes the funnel's read (user, time, event of a few events) an index-only scan:
# the DuckDB funnel at 10M events went from ~1.5-2.5 s to ~1 s, most of it copying rows out.
# The cost is a second index maintained by the flush. On a large existing table, build it per
# partition with CREATE INDEX CONCURRENTLY and attach, instead of this blocking statement.
CREATE = (
    'CREATE INDEX IF NOT EXISTS events_project_name_time ON events (project_id, event_name, "timestamp") '
    "INCLUDE (user_id)"
)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0003_append_only_dirty_days")]

    operations = [migrations.RunSQL(CREATE, "DROP INDEX IF EXISTS events_project_name_time")]

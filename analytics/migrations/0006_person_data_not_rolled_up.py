# Values of person-data keys ($set, $set_once, linked ids) are no longer rolled up (see
# analytics.rollups.PERSON_DATA_KEYS): rows built before are turned into gaps, so breakdowns on
# those keys read raw events as new days do, and no email or name stays in the rollups of a day
# whose raw events an erasure cannot rebuild. The list is frozen here, as a migration must be.

from django.db import migrations

KEYS = "ARRAY['$anon_distinct_id', 'alias', '$set', '$set_once', '$anonymous_id']"

FORWARD = f"""
INSERT INTO analytics_property_gap (project_id, day, event_name, key)
SELECT DISTINCT project_id, day, event_name, key FROM analytics_daily_props WHERE key = ANY({KEYS})
ON CONFLICT DO NOTHING;
DELETE FROM analytics_daily_props WHERE key = ANY({KEYS});
"""


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_property_rollups"),
    ]

    # Not reversible in data (the values are gone); going back leaves the gaps, which are correct.
    operations = [migrations.RunSQL(FORWARD, migrations.RunSQL.noop)]

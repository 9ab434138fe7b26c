# ``Event`` and ``RollupDirtyDay`` now belong to the events app (events/migrations/0001, which
# this follows). State only: a DeleteModel run against the database would drop
# ``analytics_dirty_day``, which events.RollupDirtyDay still uses; ``events`` is unmanaged.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_person_data_not_rolled_up"),
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="RollupDirtyDay"),
                migrations.DeleteModel(name="Event"),
            ],
        ),
    ]

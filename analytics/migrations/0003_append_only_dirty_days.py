from django.db import migrations, models


class Migration(migrations.Migration):
    """Dirty-day markers become append-only rows (no unique key), so the flush never waits."""

    dependencies = [("analytics", "0002_rollups")]

    operations = [
        migrations.DeleteModel(name="RollupDirtyDay"),
        migrations.CreateModel(
            name="RollupDirtyDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("project_id", models.IntegerField()),
                ("utc_date", models.DateField()),
                ("marked_at", models.DateTimeField()),
            ],
            options={
                "db_table": "analytics_dirty_day",
                "indexes": [models.Index(fields=["project_id", "utc_date"], name="dirty_day_project_date")],
            },
        ),
        # Markers are a to-do list; the catch-up job re-marks every closed day after a migration.
        migrations.RunSQL(
            "UPDATE analytics_fill_state SET end_time = '1970-01-01' WHERE name = 'catchup'",
            migrations.RunSQL.noop,
        ),
    ]

# The event store's models move here from analytics without touching the database: the tables
# exist already (``events`` from analytics 0001 and 0004, ``analytics_dirty_day`` from analytics
# 0003) and keep their names. This migration only tells Django's state that the models are
# ours; analytics 0007 then drops them from analytics' state. On a fresh database it runs after
# analytics 0006, so later migrations of this app find both tables; on an existing one both
# migrations just record themselves.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("analytics", "0006_person_data_not_rolled_up")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Event",
                    fields=[
                        (
                            "pk",
                            models.CompositePrimaryKey(
                                "project_id",
                                "event_id",
                                "timestamp",
                                blank=True,
                                editable=False,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        ("project_id", models.IntegerField()),
                        ("event_id", models.UUIDField()),
                        ("event_name", models.TextField()),
                        ("source", models.TextField()),
                        ("user_id", models.TextField()),
                        ("is_anonymous", models.BooleanField()),
                        ("session_id", models.TextField(null=True)),
                        ("timestamp", models.DateTimeField()),
                        ("received_at", models.DateTimeField()),
                        ("properties", models.JSONField()),
                        ("ip", models.GenericIPAddressField(null=True)),
                        ("user_agent", models.TextField(null=True)),
                    ],
                    # Its indexes are SQL of the partitioned table (analytics 0001, 0004), not Meta.
                    options={"managed": False, "db_table": "events"},
                ),
                migrations.CreateModel(
                    name="RollupDirtyDay",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("project_id", models.IntegerField()),
                        ("utc_date", models.DateField()),
                        ("marked_at", models.DateTimeField()),
                    ],
                    options={
                        "db_table": "analytics_dirty_day",
                        "indexes": [models.Index(fields=["project_id", "utc_date"], name="dirty_day_project_date")],
                    },
                ),
            ],
        ),
    ]

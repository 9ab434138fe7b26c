"""The columns web enrichment derives at capture (ingestion.enrichment), added to ``events``.

Nullable and without defaults, so adding them to the partitioned table is a catalog change only:
no partition is rewritten, and rows stored before stay as they were (NULL: not derived).
"""

from django.db import migrations

from events.models import WEB_COLUMNS

ADD = "ALTER TABLE events " + ", ".join(f"ADD COLUMN IF NOT EXISTS {name} text" for name in WEB_COLUMNS) + ";"
DROP = "ALTER TABLE events " + ", ".join(f"DROP COLUMN IF EXISTS {name}" for name in WEB_COLUMNS) + ";"


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_columnar_typed_keys"),
    ]

    operations = [migrations.RunSQL(ADD, DROP)]

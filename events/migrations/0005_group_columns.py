"""The key of each of an event's groups (persons.groups), added to ``events``: ``group_0..group_4``.

Nullable and without defaults, like the web columns: a catalog change only, no partition is
rewritten, and rows stored before stay without groups (NULL).
"""

from django.db import migrations

from events.models import GROUP_COLUMNS

ADD = "ALTER TABLE events " + ", ".join(f"ADD COLUMN IF NOT EXISTS {name} text" for name in GROUP_COLUMNS) + ";"
DROP = "ALTER TABLE events " + ", ".join(f"DROP COLUMN IF EXISTS {name}" for name in GROUP_COLUMNS) + ";"


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0004_web_columns"),
    ]

    operations = [migrations.RunSQL(ADD, DROP)]

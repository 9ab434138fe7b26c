"""Primary keys that include project_id, and the distinct-id -> person key joined on it: what Citus
needs to distribute these tables by project (config/citus.py, docs/SCALING.md).

Django still addresses rows by ``id`` (a sequence keeps it unique); only the database's keys change.
"""

import django.db.models.deletion
from django.db import migrations, models

_KEYED = ("persons_person", "persons_group", "persons_group_type")

FORWARD = [
    *(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, ADD PRIMARY KEY (project_id, id)" for table in _KEYED),
    "ALTER TABLE persons_distinct_id ADD CONSTRAINT persons_distinct_id_person "
    "FOREIGN KEY (project_id, person_id) REFERENCES persons_person (project_id, id) DEFERRABLE INITIALLY DEFERRED",
]
BACKWARD = [
    "ALTER TABLE persons_distinct_id DROP CONSTRAINT persons_distinct_id_person",
    *(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, ADD PRIMARY KEY (id)" for table in _KEYED),
]


class Migration(migrations.Migration):
    dependencies = [
        ("persons", "0004_groups"),
    ]

    operations = [
        # First the key on person_id alone goes (it depends on persons_person's primary key).
        migrations.AlterField(
            model_name="persondistinctid",
            name="person",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="distinct_ids",
                to="persons.person",
            ),
        ),
        migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD),
    ]

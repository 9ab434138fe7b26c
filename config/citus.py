"""How eventbase's tables would be laid out on Citus: which are distributed by ``project_id``,
which are reference tables (copied to every worker) and which stay on the coordinator.

Citus is not installable on the machines that test eventbase, so the layout is proven by
inspecting the schema (config/tests/test_citus_layout.py): every unique key and primary key of a
distributed table includes ``project_id``, and a foreign key between distributed tables joins on it.
``python -m config.citus`` prints the statements docs/SCALING.md gives.
"""

from __future__ import annotations

# The event data and everything derived from it, per project: what grows with traffic.
DISTRIBUTED = (
    "events",
    "analytics_user",
    "analytics_user_day",
    "analytics_day_users",
    "analytics_daily_events",
    "analytics_hourly_events",
    "analytics_event_definition",
    "analytics_property_definition",
    "analytics_daily_props",
    "analytics_daily_prop_types",
    "analytics_daily_prop_samples",
    "analytics_web_day",
    "persons_person",
    "persons_distinct_id",
    "persons_property_type",
    "persons_group_type",
    "persons_group",
)

# Small, read on every request, joined to everything: copied to every node.
REFERENCE = (
    "projects_project",
    "projects_apikey",
    "projects_eventsource",
)

DISTRIBUTION_COLUMN = "project_id"


def citus_statements() -> list[str]:
    """The statements that distribute a migrated eventbase database (run once, on the coordinator)."""
    statements = [f"SELECT create_reference_table('{table}');" for table in REFERENCE]
    first, *rest = DISTRIBUTED
    statements.append(f"SELECT create_distributed_table('{first}', '{DISTRIBUTION_COLUMN}');")
    statements += [
        f"SELECT create_distributed_table('{table}', '{DISTRIBUTION_COLUMN}', colocate_with => '{first}');"
        for table in rest
    ]
    return statements


if __name__ == "__main__":
    print("\n".join(citus_statements()))

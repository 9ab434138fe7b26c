"""The schema stays ready for Citus (config/citus.py): this inspection of the migrated schema is
the proof, not a running Citus (it is not installable here; docs/SCALING.md says so).

Citus refuses a distributed table whose primary or unique key leaves out the distribution column,
and a foreign key between distributed tables that does not join on it; a reference table cannot
point at a distributed one. Every table must be placed, so a new table cannot slip through.
"""

from __future__ import annotations

import pytest
from django.db import connection

from config.citus import DISTRIBUTED, DISTRIBUTION_COLUMN, REFERENCE, citus_statements

pytestmark = pytest.mark.django_db

# Tables that stay on the coordinator: accounts, settings, saved things, job state.
LOCAL_PREFIXES = ("django_", "auth_", "axes_", "reporting_", "ingestion_", "projects_", "persons_cohort")
LOCAL = {
    "analytics_goal",
    "analytics_annotation",
    "analytics_fill_state",
    "analytics_property_gap",
    "analytics_dirty_day",
    "events_columnar_day",
    "events_columnar_dirty",
}


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"""
        )
        return {row[0] for row in cursor.fetchall()}


def _keys() -> list[tuple[str, str, str, list[str], str | None, list[str]]]:
    """(table, constraint, type, columns, referenced table, referenced columns) of p/u/f constraints,
    and unique indexes as type 'i'."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.conrelid::regclass::text, c.conname, c.contype,
                      ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
                      NULLIF(c.confrelid, 0)::regclass::text,
                      ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
               FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
               WHERE c.contype IN ('p', 'u', 'f') AND NOT t.relispartition
                 AND t.relnamespace = current_schema()::regnamespace
               UNION ALL
               SELECT i.indrelid::regclass::text, ic.relname, 'i',
                      ARRAY(SELECT a.attname FROM unnest(i.indkey) k(n)
                            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n),
                      NULL, ARRAY[]::name[]
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
               WHERE i.indisunique AND NOT i.indisprimary AND NOT t.relispartition
                 AND t.relnamespace = current_schema()::regnamespace
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"""
        )
        return [(t, name, kind, list(cols), ref, list(ref_cols)) for t, name, kind, cols, ref, ref_cols in cursor]


def _is_local(table: str) -> bool:
    return table in LOCAL or (table.startswith(LOCAL_PREFIXES) and table not in DISTRIBUTED + REFERENCE)


def test_every_table_is_placed():
    unplaced = sorted(t for t in _tables() if t not in DISTRIBUTED and t not in REFERENCE and not _is_local(t))
    assert not unplaced, f"place these tables in config/citus.py (distributed, reference) or LOCAL here: {unplaced}"
    assert set(DISTRIBUTED) <= _tables() and set(REFERENCE) <= _tables()


def test_distributed_tables_have_the_distribution_column():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns"
            " WHERE column_name = %s AND table_schema = current_schema()",
            [DISTRIBUTION_COLUMN],
        )
        having = {row[0] for row in cursor.fetchall()}
    assert not [t for t in DISTRIBUTED if t not in having]


def test_unique_keys_of_distributed_tables_include_project_id():
    wrong = [
        f"{table}.{name} ({', '.join(cols)})"
        for table, name, kind, cols, _ref, _ in _keys()
        if table in DISTRIBUTED and kind in "pui" and DISTRIBUTION_COLUMN not in cols
    ]
    assert not wrong, f"Citus needs project_id in every unique key of a distributed table: {wrong}"


def test_foreign_keys_keep_to_what_citus_allows():
    wrong = []
    for table, name, kind, cols, ref, ref_cols in _keys():
        if kind != "f" or ref is None:
            continue
        if table in DISTRIBUTED and ref in DISTRIBUTED:
            # Colocated: project_id on both sides, in the same place.
            pairs = list(zip(cols, ref_cols, strict=True))
            if (DISTRIBUTION_COLUMN, DISTRIBUTION_COLUMN) not in pairs:
                wrong.append(f"{table}.{name}: joins {ref} without project_id")
        elif table in DISTRIBUTED and ref not in REFERENCE:
            wrong.append(f"{table}.{name}: a distributed table points at {ref}, which is not a reference table")
        elif table in REFERENCE and ref in DISTRIBUTED:
            wrong.append(f"{table}.{name}: a reference table points at the distributed {ref}")
    assert not wrong, wrong


def test_the_statements_cover_every_placed_table_once():
    statements = citus_statements()
    assert len(statements) == len(set(statements)) == len(DISTRIBUTED) + len(REFERENCE)
    # Reference tables first (distributed tables point at them), then events, then the rest beside it.
    assert statements[: len(REFERENCE)] == [f"SELECT create_reference_table('{t}');" for t in REFERENCE]
    assert statements[len(REFERENCE)] == "SELECT create_distributed_table('events', 'project_id');"
    assert all(s.endswith("colocate_with => 'events');") for s in statements[len(REFERENCE) + 1 :])

"""The registry of derived tables: complete, true to the models, and what rebuild and retention use."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from analytics import rollups
from analytics.models import DailyPropertyCount, PropertyRollupGap
from analytics.registry import DEFINITION_TABLES, DERIVED_TABLES, PER_DAY_TABLES, UserData
from analytics.rollups import rollup_rebuild_days
from analytics.tests.factories import RawEventFactory, events_insert
from events.models import Event
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _columns(model) -> set[str]:
    return {f.column for f in model._meta.concrete_fields}


def test_every_project_table_of_the_app_is_declared():
    declared = {t.model for t in DERIVED_TABLES}
    # Event is the raw store the registry's tables are derived from; it has its own partitions.
    # The dirty-day markers live with it in the event store, and are declared here like the rest.
    models = [*apps.get_app_config("analytics").get_models(), *apps.get_app_config("events").get_models()]
    project_tables = {m for m in models if "project_id" in _columns(m)} - {Event} - set(DEFINITION_TABLES)
    missing = sorted(m.__name__ for m in project_tables - declared)
    assert not missing, f"declare these in analytics/registry.py (rebuild, retention and erasure iterate it): {missing}"
    assert len(declared) == len(DERIVED_TABLES), "a model is declared twice"


@pytest.mark.parametrize("table", DERIVED_TABLES, ids=lambda t: t.name)
def test_declared_shape_matches_the_model(table):
    columns = _columns(table.model)
    assert table.per_day == ("day" in columns), "per_day is the `day` column rebuild and retention use"
    if "user_key" in columns:
        assert table.user_data in (UserData.ROWS, UserData.DICTIONARY), "rows keyed by user must be erased"
    else:
        assert table.user_data not in (UserData.ROWS, UserData.DICTIONARY)
    if table.user_data is UserData.BITMAP:
        assert "users" in columns


def _day_at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _load_days(project, days: list[dt.date], monkeypatch) -> None:
    """Events that fill every per-day table: a rolled-up property, and one over the cap (a gap)."""
    monkeypatch.setattr(rollups, "PROPERTY_VALUES_CAP", 2)
    events = []
    for day in days:
        for n in range(3):
            events.append(
                RawEventFactory.build(
                    project_id=project.pk,
                    user_id=f"u{n}",
                    timestamp=_day_at(day, 9 + n),
                    properties={"plan": "pro", "path": f"/page/{n}"},
                )
            )
    events_insert(events)
    rollup_rebuild_days(project_id=project.pk, tz_name=project.timezone, days=days)


def _rows(table, project_id: int, *, before: dt.date | None = None, on: dt.date | None = None) -> int:
    where, params = sql.SQL("project_id = %s"), [project_id]
    if before is not None:
        where, params = sql.SQL("{} AND day < %s").format(where), [*params, before]
    if on is not None:
        where, params = sql.SQL("{} AND day = %s").format(where), [*params, on]
    with connection.cursor() as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE {}").format(table.identifier, where), params)
        return cur.fetchone()[0]


def test_rebuilding_a_day_empties_every_per_day_table_first(monkeypatch, today):
    project = ProjectFactory()
    day = today - dt.timedelta(days=3)
    _load_days(project, [day], monkeypatch)
    unfilled = [t.name for t in PER_DAY_TABLES if not _rows(t, project.pk, on=day)]
    assert not unfilled, f"the test data does not reach {unfilled}: extend _load_days"
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events WHERE project_id = %s", [project.pk])
    rollup_rebuild_days(project_id=project.pk, tz_name=project.timezone, days=[day])
    assert {t.name: _rows(t, project.pk, on=day) for t in PER_DAY_TABLES} == {t.name: 0 for t in PER_DAY_TABLES}


def test_retention_expires_every_per_day_table_property_values_included(monkeypatch, today):
    project = ProjectFactory(raw_retention_days=400, aggregate_retention_days=30)
    other = ProjectFactory(raw_retention_days=400, aggregate_retention_days=365)
    old, young = today - dt.timedelta(days=40), today - dt.timedelta(days=5)
    _load_days(project, [old, young], monkeypatch)
    _load_days(other, [old], monkeypatch)
    cutoff = today - dt.timedelta(days=30)
    old_rows = {t.name: _rows(t, project.pk, before=cutoff) for t in PER_DAY_TABLES}
    young_rows = {t.name: _rows(t, project.pk) - old_rows[t.name] for t in PER_DAY_TABLES}
    assert all(old_rows.values()) and all(young_rows.values())
    # The two tables the old hand-written list missed: values of "plan", the gap of "path".
    assert DailyPropertyCount.objects.filter(project_id=project.pk, day=old, key="plan", value="pro").exists()
    assert PropertyRollupGap.objects.filter(project_id=project.pk, day=old, key="path").exists()

    out = StringIO()
    call_command("enforce_retention", "--dry-run", stdout=out)
    assert f"would delete {sum(old_rows.values())} rollup rows of {project.slug}" in out.getvalue()
    assert {t.name: _rows(t, project.pk, before=cutoff) for t in PER_DAY_TABLES} == old_rows

    call_command("enforce_retention", stdout=StringIO())
    assert {t.name: _rows(t, project.pk, before=cutoff) for t in PER_DAY_TABLES} == {t.name: 0 for t in PER_DAY_TABLES}
    assert {t.name: _rows(t, project.pk) for t in PER_DAY_TABLES} == young_rows
    assert not DailyPropertyCount.objects.filter(project_id=project.pk, day=old).exists()
    assert not PropertyRollupGap.objects.filter(project_id=project.pk, day=old).exists()
    assert DailyPropertyCount.objects.filter(project_id=project.pk, day=young, key="plan").exists()
    assert PropertyRollupGap.objects.filter(project_id=project.pk, day=young, key="path").exists()
    # Another project keeps its aggregates longer: its old day is untouched.
    assert PropertyRollupGap.objects.filter(project_id=other.pk, day=old, key="path").exists()
